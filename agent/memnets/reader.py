"""A learned reader for the chat memory: KV-MemNN query and key maps over frozen embeddings.

The product's read (agent/memory/hybrid.py) scores memory i for question q with a dense cosine
q . k_i mixed with BM25, temporal-neighbour lift, speaker and length terms. Here the dense term
becomes the KV-MemNN's (Miller et al. 2016), with maps A_Q, A_K (d, d) initialised to I:

    s_i      = (A_Q q) . (A_K k_i) = (M q) . k_i,     M = A_K^T A_Q
    dense_i  = s_i, or (M q / |M q|) . k_i with `normalise`
    score_i  = hybrid(dense, bm25, links, speaker, length)_i       (HybridParams, unchanged)
    p_i      = softmax_i(score_i / tau)
    loss     = mean_q [ -1/|E_q| sum_{i in E_q} ln p_i ]  +  wd * (|A_Q - I|^2 + |A_K - I|^2)

q, k_i: the frozen, unit encoder embeddings of the question and of memory i's key; E_q: the
question's evidence turns (LoCoMo categories 1-4). The loss is the whole read's, so the maps
learn what helps on top of BM25, the links, the speaker and the length; the penalty pulls them
back to the identity (the untrained read). Full-batch Adam over the training conversations,
early stopping on the validation conversations' loss (the best step's maps are kept). The
objective "dense" trains on the dense term alone, score_i = (dense_i - mean(dense)) / s_d (a
diagnostic: does the map transfer at all, before the other terms have their say).

Only M is used at read time (agent/memory/query_map.py): the cached keys stay as they are.

Measured on LoCoMo dev (bench/learned_reader.py, bench/results/learned_reader.json): the maps
fit the training conversations (recall@5 0.74 -> 0.79) but not others. Held out, trained on
three conversations: recall@5 0.720 -> 0.713; leave one conversation out, pooled: 0.730 ->
0.734 (95% interval of the difference -0.004 to +0.012). Trained on the dense term alone, the
map does transfer (dense recall@5 0.39 -> 0.47 held out), but on questions that BM25 and the
other terms already answer. So the read does not use it unless `reader_weights` is set.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from agent.memory.hybrid import HybridParams, content_scores, hybrid_scores
from agent.memory.query_map import QueryMap, save_query_map

KS = (1, 5, 10, 20)


@dataclass(frozen=True)
class ReadingTask:
    """One conversation's memories and questions, everything the hybrid score needs."""

    sample_id: str
    questions: torch.Tensor  # (q, d) unit question embeddings
    keys: torch.Tensor  # (n, d) unit key embeddings
    lexical: torch.Tensor  # (q, n) BM25, 0 where no term is shared
    speaker: torch.Tensor  # (q, n) bool: memory i's speaker is named in question q
    lengths: torch.Tensor  # (n,) key lengths in content tokens
    prev_row: torch.Tensor  # (n,) long, -1 for none
    next_row: torch.Tensor  # (n,) long, -1 for none
    evidence: torch.Tensor  # (q, n) bool
    categories: torch.Tensor  # (q,) long


class QueryKeyMaps(nn.Module):
    """A_Q and A_K (d, d), both the identity at the start."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.a_q = nn.Parameter(torch.eye(dim))
        self.a_k = nn.Parameter(torch.eye(dim))

    def matrix(self) -> torch.Tensor:
        """M = A_K^T A_Q (d, d): (A_Q q) . (A_K k) = (M q) . k."""
        return self.a_k.T @ self.a_q

    def dense(self, questions: torch.Tensor, keys: torch.Tensor, normalise: bool) -> torch.Tensor:
        """(q, n): (M q) . k_i for each question, M q normalised first when `normalise`."""
        mapped = questions @ self.matrix().T  # (q, d)
        if normalise:
            mapped = mapped / mapped.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        return mapped @ keys.T  # (q, n)

    def penalty(self) -> torch.Tensor:
        """|A_Q - I|^2 + |A_K - I|^2 (squared Frobenius norms)."""
        eye = torch.eye(self.a_q.shape[0])
        return (self.a_q - eye).pow(2).sum() + (self.a_k - eye).pow(2).sum()


@dataclass(frozen=True)
class TrainConfig:
    """Chosen on the 3/2 split of LoCoMo dev (bench/learned_reader.py): larger steps overfit
    the training conversations within ten steps, before validation can stop them."""

    objective: str = "hybrid"  # hybrid | dense: the score the loss is taken over
    normalise: bool = True  # M q / |M q| before the cosine: the hybrid's dense scale s_d holds
    weight_decay: float = 1e-2  # wd: pull towards the identity, on the summed squared entries
    lr: float = 1e-4
    max_steps: int = 300
    eval_every: int = 10
    patience: int = 5  # evaluations without a better validation loss before stopping
    params: HybridParams = field(default_factory=HybridParams)


def task_scores(
    maps: QueryKeyMaps | None, task: ReadingTask, config: TrainConfig, objective: str = ""
) -> torch.Tensor:
    """(q, n) scores of `objective` (default: the config's) with the learned dense term (the
    plain cosine when `maps` is None): the hybrid score, or the scaled dense term alone."""
    if maps is None:
        dense = task.questions @ task.keys.T  # (q, n)
    else:
        dense = maps.dense(task.questions, task.keys, config.normalise)
    p = config.params
    if (objective or config.objective) == "dense":
        return content_scores(dense, torch.zeros_like(dense), 0.0, p.dense_scale)
    return hybrid_scores(
        dense, task.lexical, task.prev_row, task.next_row, task.speaker, p, task.lengths
    )


def evidence_loss(scores: torch.Tensor, evidence: torch.Tensor, tau: float) -> torch.Tensor:
    """(q,): -1/|E_q| sum_{i in E_q} ln softmax(score_q / tau)_i (cross-entropy, uniform target
    over the evidence turns: every evidence turn counts, as in recall)."""
    logp = torch.log_softmax(scores / tau, dim=-1)  # (q, n)
    target = evidence.float() / evidence.sum(-1, keepdim=True).clamp_min(1)  # (q, n)
    return -(target * logp).sum(-1)


def recall_at(scores: torch.Tensor, evidence: torch.Tensor, ks: Sequence[int] = KS) -> torch.Tensor:
    """(q, len(ks)): |evidence in the top k| / |evidence| for each question."""
    # scores: (q, n)   evidence: (q, n) bool
    top = torch.topk(scores, min(max(ks), scores.shape[-1]), dim=-1).indices  # (q, K)
    hits = evidence.gather(-1, top).float().cumsum(-1)  # (q, K)
    found = hits[:, [min(k, top.shape[-1]) - 1 for k in ks]]  # (q, len(ks))
    return found / evidence.sum(-1, keepdim=True).clamp_min(1)


@dataclass
class TrainResult:
    maps: QueryKeyMaps  # the maps of the best validation step
    best_step: int
    steps: int
    seconds: float
    history: list[dict[str, float]]  # step, train loss, validation loss


def mean_loss(
    maps: QueryKeyMaps | None, tasks: Sequence[ReadingTask], config: TrainConfig
) -> torch.Tensor:
    """Evidence loss averaged over every question of `tasks` (the penalty not included)."""
    tau = config.params.tau
    losses = [evidence_loss(task_scores(maps, t, config), t.evidence, tau) for t in tasks]
    return torch.cat(losses).mean()


def train_reader(
    train: Sequence[ReadingTask], valid: Sequence[ReadingTask], config: TrainConfig
) -> TrainResult:
    """Fit A_Q, A_K on `train`, keeping the maps of the step with the lowest `valid` loss
    (step 0 is the identity: a map that never helps validation stays the untrained read)."""
    maps = QueryKeyMaps(train[0].keys.shape[1])
    optimiser = torch.optim.Adam(maps.parameters(), lr=config.lr)
    best_state = {k: v.clone() for k, v in maps.state_dict().items()}
    best, best_step, waited, history = float("inf"), 0, 0, []
    started = time.perf_counter()
    step = 0
    for step in range(config.max_steps + 1):
        if step % config.eval_every == 0:
            with torch.no_grad():
                valid_loss = float(mean_loss(maps, valid, config))
                train_loss = float(mean_loss(maps, train, config))
            history.append({"step": step, "train_loss": train_loss, "valid_loss": valid_loss})
            if valid_loss < best - 1e-6:
                best, best_step, waited = valid_loss, step, 0
                best_state = {k: v.clone() for k, v in maps.state_dict().items()}
            else:
                waited += 1
                if waited >= config.patience:
                    break
        if step == config.max_steps:
            break
        optimiser.zero_grad()
        loss = mean_loss(maps, train, config) + config.weight_decay * maps.penalty()
        loss.backward()
        optimiser.step()
    maps.load_state_dict(best_state)
    return TrainResult(maps, best_step, step, time.perf_counter() - started, history)


def evaluate(
    maps: QueryKeyMaps | None,
    tasks: Sequence[ReadingTask],
    config: TrainConfig,
    objective: str = "hybrid",
) -> torch.Tensor:
    """(questions of all tasks, len(KS)) recall@k of the `objective` score (the product's read:
    "hybrid") with `maps` (None: untrained)."""
    with torch.no_grad():
        return torch.cat(
            [recall_at(task_scores(maps, t, config, objective), t.evidence) for t in tasks]
        )


def to_query_map(maps: QueryKeyMaps, config: TrainConfig, trained_on: Sequence[str]) -> QueryMap:
    """The product's form of the trained maps: M alone."""
    return QueryMap(maps.matrix().detach().clone(), config.normalise, tuple(trained_on))


def save_reader(
    path: Path,
    maps: QueryKeyMaps,
    config: TrainConfig,
    trained_on: Sequence[str],
    encoder: str = "packaged",
    extra: dict[str, str] | None = None,
) -> None:
    """Write M = A_K^T A_Q and its metadata for the `reader_weights` setting."""
    meta = {
        "objective": config.objective,
        "weight_decay": str(config.weight_decay),
        "lr": str(config.lr),
        **(extra or {}),
    }
    save_query_map(path, maps.matrix(), config.normalise, trained_on, encoder, meta)
