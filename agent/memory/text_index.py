"""What the hybrid read needs beside the key vectors, per profile and updated on every write:
the keys' BM25 index and lengths, each memory's speaker and when it was said, and the temporal
links."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

import numpy as np
import torch

from agent.memory.cache import KeyCache
from agent.memory.hybrid import SparseScores, assistant_discount, speaker_match
from agent.memory.lexical import (
    LexicalIndex,
    TermKey,
    decode_terms,
    encode_terms,
    term_keys,
    tokens,
)
from agent.memory.row_features import IdColumns, RowFeatureBuffers, RowFeatures
from agent.memory.time_prior import day_number, time_match, when_asked


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
        self.said_on = IdTable(math.nan, torch.float64)  # day numbers (time_prior.day_number)
        self._speaker_code: dict[str, int] = {"": 0}
        # values that are not their key (multi-hop reads their terms; turns' are the key's), and
        # their BM25 term keys, tokenised when first read (a load tokenises nothing)
        self.value_texts: dict[int, str] = {}
        self.value_terms: dict[int, list[TermKey]] = {}
        # the row features, and the ids whose features changed since they were last gathered
        # (None after a removal: every row is gathered again)
        self._row_features = RowFeatureBuffers()
        self._written: set[int] | None = None

    def put(
        self,
        memory_id: int,
        key_text: str,
        speaker: str,
        prev_id: int | None,
        next_id: int | None,
        value_text: str | None = None,
        said_at: datetime | None = None,
    ) -> None:
        """Index a memory (or re-index it after an edit); a new turn links after its prev."""
        key_terms = self.lexical.put_tokens(memory_id, tokens(key_text))
        self._keep_value_terms(memory_id, key_text, value_text)
        self.known.add(memory_id)
        self.length[memory_id] = float(len(key_terms))
        self.speaker[memory_id] = self._speaker_codes([speaker])[0]
        self.said_on[memory_id] = day_number(said_at)
        self.prev[memory_id] = -1 if prev_id is None else prev_id
        self.next[memory_id] = -1 if next_id is None else next_id
        if prev_id is not None and prev_id in self.known:
            self.next[prev_id] = memory_id
        if self._written is not None:  # its links' rows may be new too: gathered again
            self._written.update(i for i in (memory_id, prev_id, next_id) if i is not None)

    def _keep_value_terms(self, memory_id: int, key_text: str, value_text: str | None) -> None:
        """Keep the value when it differs from the key (turns: value = key, whose terms the
        lexical index already holds); its terms are computed when first read."""
        self.value_terms.pop(memory_id, None)
        if value_text is None or value_text == key_text:
            self.value_texts.pop(memory_id, None)
        else:
            self.value_texts[memory_id] = value_text

    def _speaker_codes(self, speakers: Sequence[str]) -> list[int]:
        """The code of each speaker, new names numbered in order of first appearance."""
        for name in dict.fromkeys(speakers):
            if name not in self._speaker_code:
                self._speaker_code[name] = len(self.speaker_names)
                self.speaker_names.append(name)
        return list(map(self._speaker_code.__getitem__, speakers))

    @classmethod
    def load(cls, rows: list[tuple[int, str, str, int | None, int | None, str]]) -> TextIndex:
        """Build from (id, key_text, speaker, prev_id, next_id, value_text) rows whose links are
        already consistent (as stored), tokenising every key (`from_terms` takes stored terms).
        """
        keys, lengths = decode_terms([encode_terms(tokens(r[1])) for r in rows])
        values = {r[0]: r[5] for r in rows if r[5] is not None and r[5] != r[1]}
        return cls.from_terms(
            [r[0] for r in rows],
            keys,
            lengths,
            [r[2] for r in rows],
            [r[3] for r in rows],
            [r[4] for r in rows],
            values,
        )

    @classmethod
    def from_terms(
        cls,
        ids: Sequence[int],
        keys: np.ndarray,
        lengths: np.ndarray,
        speakers: Sequence[str],
        prev_ids: Sequence[int | None],
        next_ids: Sequence[int | None],
        value_texts: dict[int, str],
        said_at: Sequence[datetime | None] | None = None,
    ) -> TextIndex:
        """Build from aligned columns: the memories' key terms (`decode_terms` of the stored
        ones: all term keys (T,) and the count of each (n,)), speakers and links (consistent,
        as stored), and the value texts that are not their key. One array build for the BM25
        index, one tensor write per table: no loop per term."""
        text = cls()
        if not ids:
            return text
        text.lexical = LexicalIndex.load(ids, keys, lengths)
        text.value_texts = dict(value_texts)
        id_tensor = torch.tensor(ids, dtype=torch.long)  # (n,)
        size = int(id_tensor.max()) + 1
        for table, column in (
            (text.length, torch.from_numpy(lengths)),
            (text.speaker, torch.tensor(text._speaker_codes(speakers), dtype=torch.long)),
            (text.prev, _links(prev_ids)),
            (text.next, _links(next_ids)),
            (text.said_on, torch.tensor([day_number(t) for t in said_at or [None] * len(ids)])),
        ):
            table.ensure(size)
            table.data[id_tensor] = column.to(table.dtype)
        text.known = set(ids)
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
        self.value_texts.pop(memory_id, None)
        self.value_terms.pop(memory_id, None)
        self._written = None

    def rows(self, cache: KeyCache) -> RowFeatures:
        """Features in the cache's row order: the rows written since the last call gathered
        again, the others kept (see row_features)."""
        columns = IdColumns(self.length, self.prev, self.next, self.speaker, self.said_on)
        features = self._row_features.update(columns, cache, self._written)
        self._written = set()
        return features

    def query_terms(self, query: str) -> dict[TermKey, float]:
        """The lexical query: weight 1 for each content token of `query` (by term key)."""
        return dict.fromkeys(term_keys(tokens(query)), 1.0)

    def read_terms(
        self, cache: KeyCache, rows: list[int], weights: list[float]
    ) -> dict[TermKey, float]:
        """The lexical read vector: o_t = sum_i alpha_i [t in value_i] over the rows given."""
        read: dict[TermKey, float] = {}
        for row, weight in zip(rows, weights, strict=True):
            for term in set(self.terms_of_value(cache.ids[row])):
                read[term] = read.get(term, 0.0) + weight
        return read

    def terms_of_value(self, memory_id: int) -> list[TermKey]:
        """The BM25 term keys of a memory's value (its key's when they are the same)."""
        value = self.value_texts.get(memory_id)
        if value is None:
            return self.lexical.terms_of(memory_id)
        if memory_id not in self.value_terms:
            self.value_terms[memory_id] = term_keys(tokens(value))
        return self.value_terms[memory_id]

    def lexical_scores(self, cache: KeyCache, query: str | dict[TermKey, float]) -> torch.Tensor:
        """(n,) BM25 of each row's key against `query` (text, or weighted terms; 0 where no
        term is shared)."""
        return self.lexical_rows(cache, query).dense()

    def lexical_rows(self, cache: KeyCache, query: str | dict[TermKey, float]) -> SparseScores:
        """`lexical_scores` as the rows that share a term with `query` and their BM25."""
        terms = self.query_terms(query) if isinstance(query, str) else query
        doc_ids, values = self.lexical.score_arrays(terms)  # (m,), (m,) float64
        rows = cache.rows_of(torch.from_numpy(doc_ids))  # (m,)
        cached = rows >= 0
        return SparseScores(rows[cached], torch.from_numpy(values).float()[cached], len(cache))

    def speaker_match(self, cache: KeyCache, query: str) -> torch.Tensor | None:
        """(n,) bool: the memory's speaker is named in the query (see hybrid.speaker_match);
        None when the query names no speaker (a pass over n rows saved)."""
        named = speaker_match(query, self.speaker_names)  # (speakers,)
        return named[self.rows(cache).speaker_code] if bool(named.any()) else None

    def time_match(self, cache: KeyCache, query: str, now: datetime) -> torch.Tensor | None:
        """(n,) how near each memory was said to the time `query` points at ("two weeks ago",
        from `now`); None when it points at none (see time_prior)."""
        asked = when_asked(query)
        if asked is None:
            return None
        return time_match(self.rows(cache).said_on, day_number(now), asked)

    def assistant_discount(self, cache: KeyCache, query: str) -> torch.Tensor | None:
        """(n,) bool: the memory holds the assistant's words, which `query` does not ask about
        (see hybrid.assistant_discount); None when no memory is discounted."""
        discounted = assistant_discount(query, self.speaker_names)  # (speakers,)
        return discounted[self.rows(cache).speaker_code] if bool(discounted.any()) else None


def _links(ids: Sequence[int | None]) -> torch.Tensor:
    """(n,) long: the linked memory ids, -1 for none."""
    return torch.tensor([-1 if i is None else i for i in ids], dtype=torch.long)
