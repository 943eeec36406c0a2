"""Encoding many texts at once: in batches of similar length, so little of each batch is
padding (a batch costs as much as its longest text)."""

from __future__ import annotations

from collections.abc import Callable

import torch


def encode_batched(
    encode: Callable[[list[str]], torch.Tensor],
    texts: list[str],
    batch: int = 32,
    done: Callable[[int], None] | None = None,
    sizes: Callable[[list[str]], list[int]] | None = None,
) -> torch.Tensor:
    """encode(texts), in batches of texts of similar length; rows in the order given.
    `done(n)` is told after each batch how many texts it held (for a progress bar). `sizes`
    gives each text's length as the model sees it (`Encoder.sizes`: tokens); characters
    without it. Sorted by tokens, LoCoMo's turns pad 7% instead of 18% in batches of 32."""
    length = sizes(texts) if sizes is not None else [len(t) for t in texts]
    order = sorted(range(len(texts)), key=length.__getitem__)
    parts = []
    for start in range(0, len(texts), batch):
        parts.append(encode([texts[i] for i in order[start : start + batch]]))
        if done is not None:
            done(len(parts[-1]))
    if not parts:
        return torch.zeros(0, 0)
    vectors = torch.empty(len(texts), parts[0].shape[1], dtype=parts[0].dtype)  # (n, d)
    vectors[torch.tensor(order)] = torch.cat(parts)
    return vectors
