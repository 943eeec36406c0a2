"""DNC usage: how much a memory has been used, the quantity that decides what is freed first.

Pure functions; n = memories considered.

    after a read or write with weight w:   u <- u + w - u * w          (stays in [0, 1])
    with time (half-life h):               u(t) = u(t0) * 2^(-(t - t0) / h)
    at capacity:                           free the unpinned memories with the lowest u(now)
"""

from __future__ import annotations

import torch


def usage_update(usage: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """DNC usage after a read or a write with weight w: u <- u + w - u * w (stays in [0, 1])."""
    return usage + weights - usage * weights


def decayed_usage(usage: torch.Tensor, age_s: torch.Tensor, half_life_s: float) -> torch.Tensor:
    """u * 2^(-age / h): usage halves every `half_life_s` seconds without a read or a write
    (h <= 0: no decay). Plays the part of the DNC's free gates for a memory that lives for
    months: what was used long ago counts less than what was used today."""
    # usage, age_s: (n,)
    if half_life_s <= 0:
        return usage.float()
    return usage.float() * torch.exp2(-age_s.float().clamp_min(0.0) / half_life_s)


def lowest_usage(usage: torch.Tensor, freeable: torch.Tensor, count: int) -> torch.Tensor:
    """Rows of the `count` freeable memories with the lowest usage, lowest first; ties go to
    the earlier row (rows are in write order, so the older memory goes first)."""
    # usage: (n,) float   freeable: (n,) bool   ->  (min(count, freeable.sum()),) long
    rows = torch.nonzero(freeable).flatten()  # (m,)
    order = torch.argsort(usage[rows], stable=True)  # (m,)
    return rows[order[: max(0, count)]]
