"""The per-row features of the hybrid read, aligned with the key cache's rows and patched in
place after a write: only the rows a write touched are gathered again.

Rebuilding them for all n rows after every turn cost 12 ms at a million memories (five gathers
and two id -> row lookups over n); a turn touches a handful of rows. The rows two links away
are kept too: following the links twice in every read cost about 4 ms at a million.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch

from agent.memory.cache import KeyCache
from agent.memory.hybrid import follow

GATHERED = 5  # the first RowFeatures fields are gathered from the TextIndex; the rest follow


@dataclass(frozen=True)
class RowFeatures:
    """Per-row tensors aligned with the key cache's rows."""

    lengths: torch.Tensor  # (n,) content tokens of each key
    prev_row: torch.Tensor  # (n,) long, -1 for none
    next_row: torch.Tensor  # (n,) long, -1 for none
    speaker_code: torch.Tensor  # (n,) long: index into TextIndex.speaker_names
    said_on: torch.Tensor  # (n,) float64 day number of when it was said, NaN when unknown
    prev2_row: torch.Tensor  # (n,) long: the row two links back, -1 for none
    next2_row: torch.Tensor  # (n,) long: two links forward
    log_length: torch.Tensor  # (n,) ln(max(length, 1)): the length prior without a log per read


class IdColumn(Protocol):
    """A per-memory number, indexed by memory id (text_index.IdTable)."""

    dtype: torch.dtype

    def ensure(self, size: int) -> None: ...

    def gather(self, memory_ids: torch.Tensor) -> torch.Tensor: ...


@dataclass(frozen=True)
class IdColumns:
    """The TextIndex's per-id tables that the row features are gathered from."""

    length: IdColumn
    prev: IdColumn
    next: IdColumn
    speaker: IdColumn
    said_on: IdColumn

    def gather(self, cache: KeyCache, ids: torch.Tensor) -> list[torch.Tensor]:
        """The five features of the memories `ids` (m,), in RowFeatures' field order."""
        size = int(ids.max()) + 1 if len(ids) else 0
        for column in (self.length, self.prev, self.next, self.speaker, self.said_on):
            column.ensure(size)  # every cached memory is indexed; this only guards the gather
        return [
            self.length.gather(ids),
            cache.rows_of(self.prev.gather(ids)),
            cache.rows_of(self.next.gather(ids)),
            self.speaker.gather(ids),
            self.said_on.gather(ids),
        ]


class RowFeatureBuffers:
    """RowFeatures in buffers grown by doubling, kept for one cache.

    `update` patches the rows of the memories written since the last call and the rows
    appended to the cache; a removal from the cache moves rows, so after one (or for another
    cache) every row is gathered again.
    """

    def __init__(self) -> None:
        self._cache: KeyCache | None = None
        self._removals = -1  # the cache's removal count when last updated
        self._n = 0
        self._buffers: list[torch.Tensor] = []

    def update(self, columns: IdColumns, cache: KeyCache, written: set[int] | None) -> RowFeatures:
        """The features of every row of `cache`; `written`: the ids whose features (or links)
        changed since the last update, None when unknown (a removal: gather all)."""
        n = len(cache)
        follows = cache is self._cache and cache.removals == self._removals and n >= self._n
        if written is None or not follows:
            rows = torch.arange(n)  # (n,)
            self._allocate(columns, max(1024, 2 * n))
        else:
            old = cache.rows_of(torch.tensor(sorted(written), dtype=torch.long))  # (w,)
            appended = torch.arange(self._n, n)  # (n - n_old,)
            rows = torch.cat([old[(old >= 0) & (old < self._n)], appended])
            if n > self._buffers[0].shape[0]:
                self._grow(2 * n)
        features = RowFeatures(*(buffer[:n] for buffer in self._buffers))  # views: writes land
        if len(rows):
            gathered = columns.gather(cache, cache.id_tensor[rows])
            for buffer, values in zip(self._buffers[:GATHERED], gathered, strict=True):
                buffer[rows] = values
            two_links_away(features, rows)
            features.log_length[rows] = torch.log(features.lengths[rows].float().clamp_min(1.0))
        self._cache, self._removals, self._n = cache, cache.removals, n
        return features

    def _allocate(self, columns: IdColumns, capacity: int) -> None:
        tables = (columns.length, columns.prev, columns.next, columns.speaker, columns.said_on)
        dtypes = [table.dtype for table in tables] + [columns.prev.dtype, columns.next.dtype]
        dtypes.append(torch.float32)  # log_length
        self._buffers = [torch.empty(capacity, dtype=dtype) for dtype in dtypes]

    def _grow(self, capacity: int) -> None:
        grown = []
        for buffer in self._buffers:
            bigger = torch.empty(capacity, dtype=buffer.dtype)
            bigger[: self._n] = buffer[: self._n]
            grown.append(bigger)
        self._buffers = grown


def two_links_away(features: RowFeatures, rows: torch.Tensor) -> None:
    """Patch prev2 / next2 where they may have changed: at the patched `rows` and at the rows
    one link from them (prev2_i = prev_{prev_i} changes when prev_i's own link does; links are
    stored consistently both ways, so i is then next of prev_i)."""
    prev, nxt = features.prev_row, features.next_row
    near = torch.cat([rows, prev[rows], nxt[rows]])  # (3r,)
    near = torch.unique(near[near >= 0])  # (m,)
    features.prev2_row[near] = follow(prev[near], prev)
    features.next2_row[near] = follow(nxt[near], nxt)
