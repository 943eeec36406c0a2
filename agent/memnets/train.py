"""Training a memory network on vectorised bAbI data, as in the MemN2N paper (section 4.2)
and the authors' released code.

SGD on the loss summed over a batch of 32, each parameter's gradient clipped to norm 40, the
learning rate halved every `anneal_every` epochs. Linear start (LS): the first epochs run
without the softmax over memories (the paper ends it when the validation loss stops falling;
the released code, followed here, runs a fixed 20 epochs per task and 30 joint). Random noise
(RN): empty memories inserted at random (10%), so the temporal encoding cannot overfit to exact
positions. Batches group stories of similar length so that padding can be trimmed (4x faster on
the joint set); the result is the same as padded batches of the same stories. With `keep_best`,
the weights of the epoch with the lowest validation error (after linear start) are restored at
the end: early stopping on the held-out questions, never on the test set.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from agent.memnets.babi import Batch
from agent.memnets.embedding import BagEmbedding


@dataclass
class History:
    valid_loss: list[float] = field(default_factory=list)
    valid_error: list[float] = field(default_factory=list)  # share of questions wrong
    linear_start_ended: int | None = None  # the epoch the softmax went back in
    best_epoch: int | None = None  # the epoch whose weights were kept (with keep_best)


def trimmed(story: torch.Tensor) -> torch.Tensor:
    """The story without the trailing memory slots that are empty in every example:
    (B, M, J) -> (B, M', J). Exact: empty memories are masked out of every read."""
    present = story.ne(0).any(-1).any(0)  # (M,)
    depth = int(present.nonzero().max()) + 1 if bool(present.any()) else 1
    return story[:, :depth]


def logits_of(model: nn.Module, batch: Batch, chunk: int = 1000) -> torch.Tensor:
    """Answer logits (N, V) in chunks, each trimmed of empty memory slots."""
    model.eval()
    with torch.no_grad():
        return torch.cat(
            [
                model(trimmed(batch.story[i : i + chunk]), batch.question[i : i + chunk])
                for i in range(0, len(batch.answer), chunk)
            ]
        )


def accuracy(model: nn.Module, batch: Batch) -> float:
    """Share of questions whose argmax answer is right."""
    return float((logits_of(model, batch).argmax(-1) == batch.answer).float().mean())


def loss_of(model: nn.Module, batch: Batch) -> float:
    return float(nn.functional.cross_entropy(logits_of(model, batch), batch.answer))


def loss_and_error(model: nn.Module, batch: Batch) -> tuple[float, float]:
    """Mean cross-entropy and share of wrong argmax answers, from one pass."""
    logits = logits_of(model, batch)  # (N, V)
    wrong = (logits.argmax(-1) != batch.answer).float().mean()
    return float(nn.functional.cross_entropy(logits, batch.answer)), float(wrong)


def epoch_batches(
    lengths: torch.Tensor, batch_size: int, generator: torch.Generator, bucket: bool
) -> list[torch.Tensor]:
    """Index batches covering every example once, in random order. With `bucket`, a random
    run of 50 batches' worth of examples is sorted by story length before it is cut into
    batches, so a batch's stories have similar lengths and trimming drops most padding."""
    order = torch.randperm(len(lengths), generator=generator)  # (N,)
    if not bucket:
        return list(order.split(batch_size))
    batches: list[torch.Tensor] = []
    for run in order.split(batch_size * 50):
        batches += list(run[lengths[run].argsort(stable=True)].split(batch_size))
    return [batches[i] for i in torch.randperm(len(batches), generator=generator)]


def add_noise(story: torch.Tensor, rate: float, generator: torch.Generator) -> torch.Tensor:
    """Insert empty memories at random: each memory slot is followed by an empty one with
    probability `rate`; stories keep their memory count (the oldest fall off)."""
    if rate <= 0:
        return story
    b, m, j = story.shape
    gaps = torch.rand(b, m, generator=generator) < rate  # (B, M)
    shift = torch.cumsum(gaps.long(), dim=1) - gaps.long()  # empties inserted before each slot
    target = torch.arange(m)[None, :] + shift  # (B, M): where each memory moves
    noisy = torch.zeros_like(story)
    keep = target < m
    rows = torch.arange(b)[:, None].expand(b, m)
    noisy[rows[keep], target[keep]] = story[keep]
    return noisy


def make_optimiser(model: nn.Module, kind: str, lr: float) -> torch.optim.Optimizer:
    """SGD or Adam at `lr`, or at the rates of the model's own `param_groups(lr)`."""
    groups = model.param_groups(lr) if hasattr(model, "param_groups") else model.parameters()
    if kind == "sgd":
        return torch.optim.SGD(groups, lr=lr)
    if kind == "adam":
        return torch.optim.Adam(groups, lr=lr)
    raise ValueError(f"unknown optimiser {kind!r}: sgd or adam")


def zero_nil(model: nn.Module) -> None:
    """Every bag embedding's nil word (padding) back to zero, as the authors' code does after
    each update."""
    for module in model.modules():
        if isinstance(module, BagEmbedding):
            module.zero_nil()


def phases(linear_start_epochs: int, epochs: int, anneal_every: int) -> list[tuple[bool, int, int]]:
    """(linear start?, epochs, halve the rate every) for each phase of training: the linear
    start at a constant rate, when there is one, then the rest with the softmax."""
    rest = (False, epochs, anneal_every)
    if linear_start_epochs <= 0:
        return [rest]
    return [(True, linear_start_epochs, linear_start_epochs + 1), rest]


def train(
    model: nn.Module,
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
    bucket: bool = True,
    optimiser: str = "sgd",
    keep_best: bool = False,
    on_epoch: Callable[[int, float], None] | None = None,
) -> History:
    """Train `model` in place; returns the validation loss and error after every epoch.

    With linear start (a model with a `linear_start` flag and `linear_start_epochs` > 0), the
    first `linear_start_epochs` epochs run without the memory softmax at a constant `lr`; then
    `epochs` epochs with it, from `lr` halved every `anneal_every` epochs. SGD steps on the
    loss summed over the batch, each parameter's gradient clipped to norm `clip`: the
    authors' released MemN2N code, whose schedule this is (20 linear-start epochs per task,
    30 joint). With `keep_best`, the model ends with the weights of the epoch after linear
    start with the lowest validation error (the earlier epoch on a tie).
    """
    generator = torch.Generator().manual_seed(seed)
    history = History()
    lengths = data.story.ne(0).any(-1).sum(-1)  # (N,): memories in each story
    linear_start = linear_start_epochs if hasattr(model, "linear_start") else 0
    best: tuple[int, dict[str, torch.Tensor]] | None = None  # (epoch, weights)
    for linear, count, anneal in phases(linear_start, epochs, anneal_every):
        if hasattr(model, "linear_start"):  # only models that have the flag get it
            model.linear_start = linear  # type: ignore[assignment]
        steps = make_optimiser(model, optimiser, lr)
        schedule = torch.optim.lr_scheduler.StepLR(steps, anneal, gamma=0.5)
        for _ in range(count):
            model.train()
            for part in epoch_batches(lengths, batch_size, generator, bucket):
                story = trimmed(add_noise(data.story[part], noise, generator))
                logits = model(story, data.question[part])
                loss = nn.functional.cross_entropy(logits, data.answer[part], reduction="sum")
                steps.zero_grad()
                loss.backward()
                for parameter in model.parameters():
                    nn.utils.clip_grad_norm_(parameter, clip)
                steps.step()
                zero_nil(model)
            schedule.step()
            valid_loss, error = loss_and_error(model, valid)
            history.valid_loss.append(valid_loss)
            history.valid_error.append(error)
            epoch = len(history.valid_loss) - 1
            if keep_best and not linear and (best is None or error < history.valid_error[best[0]]):
                best = (epoch, copy.deepcopy(model.state_dict()))
            if on_epoch is not None:
                on_epoch(epoch, valid_loss)
        if linear:
            history.linear_start_ended = len(history.valid_loss)
    if best is not None:
        history.best_epoch = best[0]
        model.load_state_dict(best[1])
    return history
