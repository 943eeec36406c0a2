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
    speakers: list[str]


class TextIndex:
    def __init__(self) -> None:
        self.lexical = LexicalIndex()
        self.length: dict[int, int] = {}
        self.speaker: dict[int, str] = {}
        self.value_terms: dict[int, list[str]] = {}  # BM25 tokens of each value (multi-hop)
        self.prev: dict[int, int | None] = {}
        self.next: dict[int, int | None] = {}
        self._rows: tuple[int, RowFeatures] | None = None  # (version, features)
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
        self.lexical.put(memory_id, key_text)
        key_terms = tokens(key_text)
        self.length[memory_id] = len(key_terms)
        same = value_text is None or value_text == key_text  # turns: value = key
        self.value_terms[memory_id] = key_terms if same else tokens(value_text or "")
        self.speaker[memory_id] = speaker
        self.prev[memory_id], self.next[memory_id] = prev_id, next_id
        if prev_id is not None and prev_id in self.next:
            self.next[prev_id] = memory_id
        self.version += 1

    def remove(self, memory_id: int) -> None:
        """Drop a memory; the temporal chain closes over it (as storage does)."""
        if memory_id not in self.length:
            return
        self.lexical.remove(memory_id)
        before, after = self.prev.pop(memory_id), self.next.pop(memory_id)
        if before is not None and before in self.next:
            self.next[before] = after
        if after is not None and after in self.prev:
            self.prev[after] = before
        del self.length[memory_id], self.speaker[memory_id], self.value_terms[memory_id]
        self.version += 1

    def rows(self, cache: KeyCache) -> RowFeatures:
        """Features in the cache's row order; rebuilt only after a change."""
        if self._rows is not None and self._rows[0] == self.version:
            return self._rows[1]
        ids = cache.ids

        def row(memory_id: int | None) -> int:
            found = cache.row(memory_id) if memory_id is not None else None
            return -1 if found is None else found

        features = RowFeatures(
            lengths=torch.tensor([float(self.length[i]) for i in ids]),
            prev_row=torch.tensor([row(self.prev[i]) for i in ids], dtype=torch.long),
            next_row=torch.tensor([row(self.next[i]) for i in ids], dtype=torch.long),
            speakers=[self.speaker[i] for i in ids],
        )
        self._rows = (self.version, features)
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
        scores = torch.zeros(len(cache))
        for memory_id, score in self.lexical.weighted_scores(terms).items():
            row = cache.row(memory_id)
            if row is not None:
                scores[row] = score
        return scores

    def speaker_match(self, cache: KeyCache, query: str) -> torch.Tensor:
        return speaker_match(query, self.rows(cache).speakers)
