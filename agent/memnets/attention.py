"""The attention read over memory slots that MemN2N and the KV-MemNN share."""

from __future__ import annotations

import torch


def memory_attention(
    scores: torch.Tensor, present: torch.Tensor, empty: torch.Tensor | None = None
) -> torch.Tensor:
    """p_i = exp(s_i) / (sum_j exp(s_j) + n_empty) over the present memories i and j.

    With `empty`, the count of empty slots of each story, every empty slot is read the way the
    MemN2N authors' code reads it: a zero embedding (the nil word's), so score 0 and value 0.
    The empties then take their share of the attention and add nothing, which lets a hop read
    (almost) nothing when no memory matches. Without `empty` the softmax runs over the present
    memories only. A story with neither reads nothing.

    scores (..., M), present (..., M) bool, empty (...) -> p (..., M)
    """
    logits = scores.masked_fill(~present, float("-inf"))  # (..., M)
    if empty is not None:
        sink = empty.to(scores.dtype).clamp(min=0).log()[..., None]  # (..., 1): log n_empty
        logits = torch.cat([logits, sink], dim=-1)  # (..., M + 1)
    return torch.nan_to_num(logits.softmax(-1))[..., : scores.shape[-1]]
