"""What the hybrid read needs beside the key vectors, per profile and updated on every write:
the keys' BM25 index and lengths, each memory's speaker, and the temporal links."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from agent.memory.cache import KeyCache
from agent.memory.hybrid import speaker_match
from agent.memory.lexical import LexicalIndex, tokens


@dataclass(frozen=True)
class RowFeatures:
    """Per-row tensors aligned with the key cache's rows."""

    lengths: torch.Tensor  # (n,) content tokens of each key
    prev_row: torch.Tensor  # (n,) long, -1 for none
    next_row: torch.Tensor  # (n,) long, -1 for none
    speaker_code: torch.Tensor  # (n,) long: index into TextIndex.speaker_names


class IdTable:
    """Per-memory numbers in tensors indexed by memory id, grown by doubling: a read gathers
    them for all rows at once instead of looping over Python dicts."""

    def __init__(self, fill: float, dtype: torch.dtype) -> None:
        self.fill, self.dtype = fill, dtype
        self.data = torch.full((1024,), fill, dtype=dtype)

    def ensure(self, size: int) -> None:
        """Room for ids below `size`."""
        if size > self.data.shape[0]:
            grown = torch.full((max(2 * self.data.shape[0], size),), self.fill, dtype=self.dtype)
            grown[: self.data.shape[0]] = self.data
            self.data = grown

    def __setitem__(self, memory_id: int, value: float) -> None:
        self.ensure(memory_id + 1)
        self.data[memory_id] = value

    def __getitem__(self, memory_id: int) -> float:
        return self.data[memory_id].item() if memory_id < self.data.shape[0] else self.fill

    def gather(self, memory_ids: torch.Tensor) -> torch.Tensor:
        # memory_ids: (n,) long, all < len  ->  (n,)
        return self.data[memory_ids]


class TextIndex:
    def __init__(self) -> None:
        self.lexical = LexicalIndex()
        self.known: set[int] = set()
        self.length = IdTable(0.0, torch.float32)
        self.prev = IdTable(-1, torch.long)  # -1: no previous turn memory
        self.next = IdTable(-1, torch.long)
        self.speaker = IdTable(0, torch.long)  # code; 0 is "" (no speaker)
        self.speaker_names: list[str] = [""]
        self._speaker_code: dict[str, int] = {"": 0}
        self.value_terms: dict[int, list[str]] = {}  # BM25 tokens of each value (multi-hop)
        self._rows: tuple[int, int, RowFeatures] | None = None  # (version, cache version, rows)
        self.version = 0

    def put(
        self,
        memory_id: int,
        key_text: str,
        speaker: str,
        prev_id: int | None,
        next_id: int | None,
        value_text: str | None = None,
    ) -> None:
        """Index a memory (or re-index it after an edit); a new turn links after its prev."""
        length, code = self._index_texts(memory_id, key_text, speaker, value_text)
        self.known.add(memory_id)
        self.length[memory_id] = length
        self.speaker[memory_id] = code
        self.prev[memory_id] = -1 if prev_id is None else prev_id
        self.next[memory_id] = -1 if next_id is None else next_id
        if prev_id is not None and prev_id in self.known:
            self.next[prev_id] = memory_id
        self.version += 1

    def _index_texts(
        self, memory_id: int, key_text: str, speaker: str, value_text: str | None
    ) -> tuple[float, int]:
        """BM25-index the key, keep the value's tokens; returns (key length, speaker code)."""
        key_terms = self.lexical.put_tokens(memory_id, tokens(key_text))
        same = value_text is None or value_text == key_text  # turns: value = key
        self.value_terms[memory_id] = key_terms if same else tokens(value_text or "")
        code = self._speaker_code.setdefault(speaker, len(self.speaker_names))
        if code == len(self.speaker_names):
            self.speaker_names.append(speaker)
        return float(len(key_terms)), code

    @classmethod
    def load(cls, rows: list[tuple[int, str, str, int | None, int | None, str]]) -> TextIndex:
        """Build from (id, key_text, speaker, prev_id, next_id, value_text) rows whose links are
        already consistent (as stored): one tensor write per table, not one per memory."""
        text = cls()
        if not rows:
            return text
        indexed = [text._index_texts(r[0], r[1], r[2], r[5]) for r in rows]  # (length, code)
        lengths, codes = [length for length, _ in indexed], [code for _, code in indexed]
        ids = torch.tensor([r[0] for r in rows], dtype=torch.long)  # (n,)
        size = int(ids.max()) + 1
        for table, values in (
            (text.length, torch.tensor(lengths)),
            (text.speaker, torch.tensor(codes, dtype=torch.long)),
            (text.prev, torch.tensor([-1 if r[3] is None else r[3] for r in rows])),
            (text.next, torch.tensor([-1 if r[4] is None else r[4] for r in rows])),
        ):
            table.ensure(size)
            table.data[ids] = values.to(table.dtype)
        text.known = {r[0] for r in rows}
        text.version = 1
        return text

    def remove(self, memory_id: int) -> None:
        """Drop a memory; the temporal chain closes over it (as storage does)."""
        if memory_id not in self.known:
            return
        self.known.discard(memory_id)
        self.lexical.remove(memory_id)
        before, after = int(self.prev[memory_id]), int(self.next[memory_id])
        if before >= 0 and before in self.known:
            self.next[before] = after
        if after >= 0 and after in self.known:
            self.prev[after] = before
        self.prev[memory_id] = self.next[memory_id] = -1
        del self.value_terms[memory_id]
        self.version += 1

    def rows(self, cache: KeyCache) -> RowFeatures:
        """Features in the cache's row order, gathered in a few tensor operations; rebuilt
        only after a change."""
        if self._rows is not None and self._rows[:2] == (self.version, len(cache)):
            return self._rows[2]
        ids = cache.id_tensor  # (n,)
        size = int(ids.max()) + 1 if len(ids) else 0
        for table in (self.length, self.prev, self.next, self.speaker):
            table.ensure(size)  # every cached memory is indexed; this only guards the gather
        features = RowFeatures(
            lengths=self.length.gather(ids),
            prev_row=cache.rows_of(self.prev.gather(ids)),
            next_row=cache.rows_of(self.next.gather(ids)),
            speaker_code=self.speaker.gather(ids),
        )
        self._rows = (self.version, len(cache), features)
        return features

    def query_terms(self, query: str) -> dict[str, float]:
        """The lexical query: weight 1 for each content token of `query`."""
        return dict.fromkeys(tokens(query), 1.0)

    def read_terms(
        self, cache: KeyCache, rows: list[int], weights: list[float]
    ) -> dict[str, float]:
        """The lexical read vector: o_t = sum_i alpha_i [t in value_i] over the rows given."""
        read: dict[str, float] = {}
        for row, weight in zip(rows, weights, strict=True):
            for term in set(self.value_terms.get(cache.ids[row], ())):
                read[term] = read.get(term, 0.0) + weight
        return read

    def lexical_scores(self, cache: KeyCache, query: str | dict[str, float]) -> torch.Tensor:
        """(n,) BM25 of each row's key against `query` (text, or weighted terms; 0 where no
        term is shared)."""
        terms = self.query_terms(query) if isinstance(query, str) else query
        found = self.lexical.weighted_scores(terms)
        scores = torch.zeros(len(cache))
        if found:
            rows = cache.rows_of(torch.tensor(list(found), dtype=torch.long))  # (m,)
            values = torch.tensor(list(found.values()))  # (m,)
            cached = rows >= 0
            scores[rows[cached]] = values[cached]
        return scores

    def speaker_match(self, cache: KeyCache, query: str) -> torch.Tensor:
        """(n,) bool: the memory's speaker is named in the query (see hybrid.speaker_match)."""
        named = speaker_match(query, self.speaker_names)  # (speakers,)
        return named[self.rows(cache).speaker_code]
