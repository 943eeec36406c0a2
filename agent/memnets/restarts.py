"""R independent MemN2N trainings run in lockstep, the MemN2N paper's restarts (section 4.2:
"we repeated each training 10 times with different random initializations, and picked the
one with the lowest training error").

Each restart has its own weights (drawn like MemN2N's) and its own random-noise draws; all
see the same batches in the same order. A step runs every restart at once: on this project's
2-core CPU a step of 10 restarts took 23.5 ms against 5.5 ms for one, the per-step work being
small and mostly overhead. With `hop_maps` each restart is the KV-MemNN in its adjacent,
sentence-value, tied-output form (MemN2N plus the maps R_h).

The sentence embeddings are dense matrix products instead of lookups. With the position
encoding l_kj = 1 + a_k b_j, where a_k = 4 (k - (d+1)/2) / d and b_j = (j - (J+1)/2) / J,

    sum_j l_j * E x_j = n @ E + (w @ E) * a,     n_v = #{j: x_j = v},  w_v = sum_{j: x_j = v} b_j

so a batch of sentences is two bag matrices (n and w, V columns each) and one product with
every restart's and every hop's embeddings side by side. `restart(r)` gives restart r as a
plain MemN2N (or KeyValueMemoryNetwork), the same function (tests/test_memnet_restarts.py
checks it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from agent.memnets.attention import memory_attention
from agent.memnets.babi import Batch
from agent.memnets.kvmemnn import KeyValueMemoryNetwork
from agent.memnets.memn2n import MemN2N
from agent.memnets.train import epoch_batches, phases, trimmed

NO_NOISE = torch.Generator()  # never drawn from: noisy_times with rate 0 draws nothing


def position_bags(ids: torch.Tensor, vocab: int) -> torch.Tensor:
    """[n | w] (N, 2V) for sentences ids (N, J): n counts each word, w sums its positions'
    b_j = (j - (J+1)/2) / J (j from 1). Padding (id 0) counts nowhere."""
    n, j = ids.shape
    b = (torch.arange(1, j + 1, dtype=torch.float32) - (j + 1) / 2) / j  # (J,)
    bags = torch.zeros(n, 2 * vocab)
    bags.scatter_add_(1, ids, torch.ones(n, j))
    bags.scatter_add_(1, ids + vocab, b.expand(n, j).contiguous())
    bags[:, 0] = 0.0  # padding: the nil word embeds to zero
    bags[:, vocab] = 0.0
    return bags


def dimension_weights(dim: int) -> torch.Tensor:
    """a_k = 4 (k - (d+1)/2) / d for k = 1..d: (d,)."""
    return 4 * (torch.arange(1, dim + 1, dtype=torch.float32) - (dim + 1) / 2) / dim


def noisy_times(
    present: torch.Tensor, restarts: int, rate: float, depth: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random noise (RN) as memory ages: for each restart, every memory slot is followed by an
    empty one with probability `rate`, so memory m moves to slot m + (empties before it); a
    memory moved to slot `depth` or beyond falls out. The same draw as train.add_noise.

    present (B, M) bool -> ages (R, B, M) long, kept (R, B, M) bool
    """
    b, m = present.shape
    ages = torch.arange(m).expand(restarts, b, m)  # (R, B, M)
    if rate <= 0:
        return ages.clone(), present.expand(restarts, b, m).clone()
    gaps = (torch.rand(restarts, b, m, generator=generator) < rate).long()  # (R, B, M)
    ages = ages + torch.cumsum(gaps, dim=-1) - gaps
    return ages.clamp(max=depth - 1), present & (ages < depth)


class MemN2NRestarts(nn.Module):
    """R MemN2N models (adjacent tying, PE, TE, linear start) with their weights stacked:
    embeddings (R, K+1, V, d), temporal vectors (R, K+1, S, d) for S memory slots."""

    def __init__(
        self,
        restarts: int,
        vocab: int,
        dim: int = 20,
        hops: int = 3,
        memories: int = 50,
        read_empty_slots: bool = True,
        hop_maps: bool = False,
        map_lr: float = 0.1,
    ) -> None:
        super().__init__()
        self.restarts, self.vocab, self.dim, self.hops = restarts, vocab, dim, hops
        self.slots, self.read_empty_slots = memories, read_empty_slots
        self.embeddings = nn.Parameter(torch.randn(restarts, hops + 1, vocab, dim) * 0.1)
        self.times = nn.Parameter(torch.randn(restarts, hops + 1, memories, dim) * 0.1)
        # the KV-MemNN's maps R_h, starting as the identity (None: MemN2N)
        eye = torch.eye(dim).expand(restarts, hops, dim, dim)
        self.maps = nn.Parameter(eye.clone()) if hop_maps else None
        self.map_lr = map_lr
        self.zero_nil()
        self.register_buffer("a", dimension_weights(dim), persistent=False)
        self.linear_start = False

    @torch.no_grad()
    def zero_nil(self) -> None:
        """The nil word (padding) embeds to zero in every matrix, as in the authors' code."""
        self.embeddings[:, :, 0] = 0.0

    def embed(self, bags: torch.Tensor) -> torch.Tensor:
        """Each restart's and hop's embedding of bagged sentences: (N, 2V) -> (N, R, K+1, d)."""
        e = self.embeddings  # (R, K+1, V, d)
        both = torch.cat([e, e * self.a], dim=2)  # (R, K+1, 2V, d): [E ; E * a]
        weights = both.permute(2, 0, 1, 3).reshape(2 * self.vocab, -1)  # (2V, R*(K+1)*d)
        return (bags @ weights).view(len(bags), self.restarts, self.hops + 1, self.dim)

    def forward(
        self, story: torch.Tensor, question: torch.Tensor, ages: torch.Tensor, kept: torch.Tensor
    ) -> torch.Tensor:
        """Answer logits (R, B, V) for stories (B, M, J), questions (B, J), each restart's
        memory ages (R, B, M) (the temporal index) and the memories it keeps (R, B, M)."""
        b, m, j = story.shape
        r, k1 = self.restarts, self.hops + 1
        bags = position_bags(torch.cat([story.reshape(b * m, j), question]), self.vocab)
        content = self.embed(bags)  # (B*M + B, R, K+1, d)
        u = content[b * m :, :, 0].transpose(0, 1)  # (R, B, d): the question through E_0
        words = content[: b * m].view(b, m, r, k1, self.dim).permute(2, 3, 0, 1, 4)
        memories = words + self.temporal(ages).permute(0, 3, 1, 2, 4)  # (R, K+1, B, M, d)
        empty = self.slots - kept.sum(-1) if self.read_empty_slots else None  # (R, B)
        for hop in range(self.hops):
            keys, values = memories[:, hop], memories[:, hop + 1]  # (R, B, M, d)
            scores = torch.einsum("rbmd,rbd->rbm", keys, u)  # (R, B, M)
            if self.linear_start:
                p = scores.masked_fill(~kept, 0.0)
            else:
                p = memory_attention(scores, kept, empty)
            u = u + torch.einsum("rbm,rbmd->rbd", p, values)  # (R, B, d)
            if self.maps is not None:
                u = torch.einsum("rbd,red->rbe", u, self.maps[:, hop])  # R_h u
        return torch.einsum("rbd,rvd->rbv", u, self.embeddings[:, self.hops])  # (R, B, V)

    def temporal(self, ages: torch.Tensor) -> torch.Tensor:
        """T[r, k, ages[r, b, m]]: (R, B, M) -> (R, B, M, K+1, d). A lookup (not advanced
        indexing) because its backward is several times faster."""
        r, k1, s, d = self.times.shape
        table = self.times.transpose(1, 2).reshape(r * s, k1 * d)  # (R*S, (K+1)*d)
        rows = ages + (torch.arange(r) * s)[:, None, None]  # (R, B, M) rows of the table
        return nn.functional.embedding(rows, table).view(*ages.shape, k1, d)

    @torch.no_grad()
    def clip_gradients(self, max_norm: float) -> None:
        """Each restart's gradient for each matrix scaled down to norm `max_norm` when above
        it: the authors' per-weight clipping, one weight at a time."""
        for p in self.parameters():
            if p.grad is None:
                continue
            norms = p.grad.flatten(2).norm(dim=-1)  # (R, K+1)
            p.grad *= (max_norm / norms.clamp(min=1e-12)).clamp(max=1.0)[:, :, None, None]

    def param_groups(self, lr: float) -> list[dict[str, Any]]:
        """SGD groups: the maps R_h learn at `map_lr` times the rate of the embeddings. Every
        question sends them a gradient (an embedding row gets one only from the questions
        using its word); at the full rate they diverged (bAbI task 16 not even fitted)."""
        groups: list[dict[str, Any]] = [{"params": [self.embeddings, self.times], "lr": lr}]
        if self.maps is not None:
            groups.append({"params": [self.maps], "lr": lr * self.map_lr})
        return groups

    @torch.no_grad()
    def restart(self, r: int) -> MemN2N | KeyValueMemoryNetwork:
        """Restart r as a plain MemN2N (or, with hop maps, KeyValueMemoryNetwork) with the
        same weights."""
        if self.maps is None:
            model: MemN2N | KeyValueMemoryNetwork = MemN2N(
                self.vocab, dim=self.dim, hops=self.hops, memories=self.slots,
                read_empty_slots=self.read_empty_slots,
            )  # fmt: skip
        else:
            model = KeyValueMemoryNetwork(
                self.vocab, answers=self.vocab, dim=self.dim, hops=self.hops,
                memories=self.slots, embeddings="adjacent", read_empty_slots=self.read_empty_slots,
                output="tied", map_lr=self.map_lr,
            )  # fmt: skip
            for h, hop_map in enumerate(model.hop_maps):
                hop_map.weight.copy_(self.maps[r, h])
        for k in range(self.hops + 1):
            model.embeddings[k].embedding.weight.copy_(self.embeddings[r, k])
            model.times[k].copy_(self.times[r, k])
        return model.eval()


def restart_logits(model: MemN2NRestarts, batch: Batch, chunk: int = 500) -> torch.Tensor:
    """Every restart's answer logits (R, N, V), without noise, in chunks trimmed of empty
    memory slots."""
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(batch.answer), chunk):
            story = trimmed(batch.story[i : i + chunk])
            ages, kept = noisy_times(story.ne(0).any(-1), model.restarts, 0.0, 1, NO_NOISE)
            out.append(model(story, batch.question[i : i + chunk], ages, kept))
    return torch.cat(out, dim=1)


def restart_errors(model: MemN2NRestarts, batch: Batch) -> torch.Tensor:
    """Each restart's share of wrong argmax answers: (R,)."""
    return (restart_logits(model, batch).argmax(-1) != batch.answer).float().mean(-1)


@dataclass
class RestartHistory:
    valid_loss: list[list[float]] = field(default_factory=list)  # per epoch, per restart
    valid_error: list[list[float]] = field(default_factory=list)
    linear_start_ended: int | None = None


def train_restarts(
    model: MemN2NRestarts,
    data: Batch,
    valid: Batch,
    epochs: int = 100,
    lr: float = 0.005,
    batch_size: int = 32,
    anneal_every: int = 25,
    clip: float = 40.0,
    linear_start_epochs: int = 20,
    noise: float = 0.1,
    seed: int = 0,
    on_epoch: Callable[[int, list[float]], None] | None = None,
) -> RestartHistory:
    """train.train's procedure for every restart at once: `linear_start_epochs` epochs
    without the memory softmax at `lr`, then `epochs` with it from `lr` halved every
    `anneal_every`; SGD on each restart's loss summed over the batch, each restart's gradient
    of each matrix clipped to norm `clip`. Returns every restart's validation loss and error
    after every epoch."""
    generator = torch.Generator().manual_seed(seed)
    history = RestartHistory()
    lengths = data.story.ne(0).any(-1).sum(-1)  # (N,)
    depth = data.story.shape[1]
    for linear, count, anneal in phases(linear_start_epochs, epochs, anneal_every):
        model.linear_start = linear
        steps = torch.optim.SGD(model.param_groups(lr))
        schedule = torch.optim.lr_scheduler.StepLR(steps, anneal, gamma=0.5)
        for _ in range(count):
            model.train()
            for part in epoch_batches(lengths, batch_size, generator, bucket=True):
                story = trimmed(data.story[part])
                ages, kept = noisy_times(
                    story.ne(0).any(-1), model.restarts, noise, depth, generator
                )
                logits = model(story, data.question[part], ages, kept)  # (R, B, V)
                answers = data.answer[part].repeat(model.restarts)  # (R*B,)
                loss = nn.functional.cross_entropy(logits.flatten(0, 1), answers, reduction="sum")
                steps.zero_grad()
                loss.backward()
                model.clip_gradients(clip)
                steps.step()
                model.zero_nil()
            schedule.step()
            logits = restart_logits(model, valid)  # (R, N, V)
            losses = [float(nn.functional.cross_entropy(x, valid.answer)) for x in logits]
            history.valid_loss.append(losses)
            history.valid_error.append(
                (logits.argmax(-1) != valid.answer).float().mean(-1).tolist()
            )
            if on_epoch is not None:
                on_epoch(len(history.valid_loss) - 1, losses)
        if linear:
            history.linear_start_ended = len(history.valid_loss)
    return history
