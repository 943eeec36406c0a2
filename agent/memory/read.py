"""The attention read of a key-value memory (KV-MemNN), with MemN2N hops.

Pure tensor functions; n = memories of the active profile, d = embedding size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch


def attention_weights(
    query: torch.Tensor, keys: torch.Tensor, tau: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scores and weights of one read.

        s_i     = (q . k_i) / tau          (cosine: q and k_i are unit vectors)
        alpha_i = exp(s_i) / sum_j exp(s_j)

    The weights sum to 1 over every memory given (the active profile's, never another's).
    """
    # query: (d,)   keys: (n, d)
    scores = (keys @ query.to(keys.dtype)).float() / tau  # (n,)
    weights = torch.softmax(scores, dim=0)  # (n,)
    return scores, weights


def read_vector(weights: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """The read vector r = sum_i alpha_i v_i.

    With half-precision values the weights are scaled by 1 / max(alpha) first, so that small
    weights do not underflow, and the product runs as V^T alpha (a fast matrix-vector kernel).
    """
    # weights: (n,)   values: (n, d)  ->  (d,)
    scale = weights.max().clamp_min(1e-30)
    scaled = (weights / scale).to(values.dtype)  # (n,), in [0, 1]
    return torch.mv(values.t(), scaled).float() * scale


def next_query(query: torch.Tensor, read: torch.Tensor, hop_lambda: float) -> torch.Tensor:
    """The query of the next hop (MemN2N with H = lambda * I): q' = normalize(q + lambda * o)."""
    # query, read: (d,)
    mixed = query.float() + hop_lambda * read.float()
    return mixed / mixed.norm().clamp_min(1e-12)


@dataclass(frozen=True)
class Hop:
    """One hop's read: scores and weights over all n memories, the read vector (None after the
    last hop: nothing uses it), the query used."""

    query: torch.Tensor  # (d,)
    scores: torch.Tensor  # (n,)
    weights: torch.Tensor  # (n,)
    read: torch.Tensor | None  # (d,)


# The keys of a read: a (n, d) tensor, or a function q -> K q (the key cache's int8 pass)
Keys = torch.Tensor | Callable[[torch.Tensor], torch.Tensor]


def cosines(keys: Keys, query: torch.Tensor) -> torch.Tensor:
    """K q as float32 (n,), for keys given either way."""
    # keys: (n, d) or a function   query: (d,)  ->  (n,)
    if isinstance(keys, torch.Tensor):
        return (keys @ query.to(keys.dtype)).float()
    return keys(query)


def multi_hop_read(
    query: torch.Tensor,
    keys: Keys,
    values: torch.Tensor,
    tau: float,
    hops: int = 1,
    hop_lambda: float = 1.0,
    score: Callable[[torch.Tensor, Hop | None], torch.Tensor] | None = None,
) -> list[Hop]:
    """`hops` reads; after each, q <- normalize(q + lambda * o) (DESIGN section 3).

    Each hop scores s = score(K q, previous hop) (plain cosine when `score` is None; the
    previous hop is None on the first) and reads with alpha = softmax(s / tau); `Hop.scores`
    holds s.
    """
    result: list[Hop] = []
    q = query.float()
    previous: Hop | None = None
    for hop in range(max(1, hops)):
        cosine = cosines(keys, q)  # (n,)
        final = cosine if score is None else score(cosine, previous)  # (n,)
        weights = torch.softmax(final / tau, dim=0)  # (n,)
        if hop == max(1, hops) - 1:  # the read vector only feeds the next hop's query
            result.append(Hop(query=q, scores=final, weights=weights, read=None))
            break
        o = read_vector(weights, values).float()  # (d,): a pass over all values
        previous = Hop(query=q, scores=final, weights=weights, read=o)
        result.append(previous)
        q = next_query(q, o, hop_lambda)
    return result


def top_k(weights: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The k largest weights and their row indices, largest first.

    Past CHUNK rows, the k largest of each chunk of CHUNK rows are found first (the chunks run
    on both cores), then the k largest of those: 0.8 ms against 1.7 ms for one torch.topk over
    a million rows. The k largest overall are among the k largest of their chunks.
    """
    # weights: (n,)
    n = weights.shape[0]
    k = min(k, n)
    if n <= 2 * CHUNK:
        return torch.topk(weights, k)  # (k,), (k,)
    chunks = n // CHUNK
    heads = weights[: chunks * CHUNK].view(chunks, CHUNK)  # (chunks, CHUNK): no copy
    values, at = torch.topk(heads, k, dim=1)  # (chunks, k) each
    rows = at + torch.arange(chunks).unsqueeze(1) * CHUNK  # (chunks, k) rows in weights
    tail = torch.arange(chunks * CHUNK, n)  # the rows after the last whole chunk
    values = torch.cat([values.flatten(), weights[tail]])
    rows = torch.cat([rows.flatten(), tail])
    best, picked = torch.topk(values, k)  # (k,), (k,)
    return best, rows[picked]


CHUNK = 16_384  # rows per chunk of top_k's first pass
