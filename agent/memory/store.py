"""The memory of one database: the write path (update or allocate), the read, and the key caches.

Writes happen inside a `Unit` (one transaction). The per-profile key caches change only after
the transaction commits, so a rollback never leaves the cache ahead of the database.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import torch
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from agent.memory.cache import KeyCache, blob_to_vector
from agent.memory.encoder_check import check_encoder, claim_encoder
from agent.memory.hybrid import HybridParams, hybrid_scores
from agent.memory.lexical import decode_terms, encode_terms, stale_rows, tokens
from agent.memory.query_map import QueryMap
from agent.memory.read import Hop, multi_hop_read, top_k
from agent.memory.text_index import TextIndex
from agent.memory.unit import Unit
from storage import cache_rows, repo
from storage.models import utcnow


class Encoder(Protocol):
    dim: int
    identity: str  # recorded with the profile's vectors (agent/memory/encoder_check.py)

    def encode(self, texts: list[str]) -> torch.Tensor: ...

    def sizes(self, texts: list[str]) -> list[int]: ...  # each text's length for the model


@dataclass(frozen=True)
class ReadItem:
    """One memory in a read, with its attention weight (softmax over all) and its score."""

    id: int
    kind: str
    key: str
    value: str
    weight: float
    score: float
    hop_weights: tuple[float, ...] = ()  # this memory's weight in each hop of the read

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "key": self.key,
            "value": self.value,
            "weight": round(self.weight, 6),
            "score": round(self.score, 6),
            "hop_weights": [round(w, 6) for w in self.hop_weights],
        }


@dataclass(frozen=True)
class ReadResult:
    results: list[ReadItem]  # the final hop's read, by weight
    hops: list[list[ReadItem]]  # each hop's own read
    elapsed_ms: float


@dataclass(frozen=True)
class Written:
    id: int
    kind: str
    key: str
    value: str
    action: str  # add | update

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "key": self.key,
            "value": self.value,
            "action": self.action,
        }


class MemoryStore:
    def __init__(self, sessions: sessionmaker[Session], encoder: Callable[[], Encoder]) -> None:
        self.sessions = sessions
        self._encoder = encoder  # loaded on first use: listing memories needs no model
        self._caches: dict[int, KeyCache] = {}
        self._texts: dict[int, TextIndex] = {}
        self._signatures: dict[int, int] = {}  # memory version each cache reflects
        self.hybrid = HybridParams()
        self.capacity = 0  # memories per profile; 0: no limit
        self.half_life_s = 0.0  # usage half-life; 0: usage does not decay
        self.query_map: QueryMap | None = None  # the learned reader: q -> M q before K q

    @property
    def encoder(self) -> Encoder:
        return self._encoder()

    # ------------------------------------------------------------ cache

    def cache(self, profile_id: int) -> KeyCache:
        """The profile's key cache: loaded on first use, and again only when another process
        changed the profile's memories (its memory version moved)."""
        with self.sessions() as s:
            signature = repo.memory_version(s, profile_id)
            cache = self._caches.get(profile_id)
            if cache is not None and self._signatures.get(profile_id) == signature:
                return cache
            encoder = self.encoder
            check_encoder(s, profile_id, encoder.identity, encoder.dim)
            cache, text, computed = load_profile(s, profile_id, encoder.dim)
            self._caches[profile_id], self._texts[profile_id] = cache, text
            self._signatures[profile_id] = signature
        self._store_terms(computed)
        return cache

    def _store_terms(self, computed: list[tuple[int, str, bytes]]) -> None:
        """Store key terms the load had to compute (a database from before they were stored),
        so the next load finds them; skipped when the database is busy: only speed is lost."""
        if not computed:
            return
        try:
            with self.sessions() as s, s.begin():
                cache_rows.store_key_terms(s, computed)
        except OperationalError:
            pass

    def idf(self, profile_id: int) -> Callable[[str], float]:
        """The BM25 idf of a term over the profile's memory keys (rare words weigh more)."""
        self.cache(profile_id)
        return self._texts[profile_id].lexical.idf

    def forget_cache(self, profile_id: int) -> None:
        self._caches.pop(profile_id, None)
        self._texts.pop(profile_id, None)
        self._signatures.pop(profile_id, None)

    def forget_all_caches(self) -> None:
        self._caches.clear()
        self._texts.clear()
        self._signatures.clear()

    @contextmanager
    def unit(self, profile_id: int) -> Iterator[Unit]:
        """A transaction; on commit, the profile's cache takes the changes."""
        with self.sessions() as s, s.begin():
            unit = Unit(s, profile_id, self.half_life_s, before_write=self._claimer(profile_id))
            yield unit
            if unit.puts and self.capacity:
                unit.free_to_capacity(self.capacity)
            unit.finish()
            if not (unit.puts or unit.removed):
                return
            version = repo.bump_memory_version(s, profile_id)
            origins = cache_rows.memory_origins(s, [m.id for m in unit.puts])
        cache, text = self._caches.get(profile_id), self._texts.get(profile_id)
        if cache is None or text is None:
            return
        if self._signatures.get(profile_id) != version - 1:
            self.forget_cache(profile_id)  # another process wrote too: reload on the next read
            return
        for memory_id in unit.removed:
            cache.remove(memory_id)
            text.remove(memory_id)
        kept = list({m.id: m for m in unit.puts if m.id not in unit.removed}.values())
        if kept:
            keys = torch.stack([blob_to_vector(m.key_emb) for m in kept])  # (m, d)
            values = torch.stack([blob_to_vector(m.value_emb) for m in kept])  # (m, d)
            cache.put_many([m.id for m in kept], [m.kind for m in kept], keys, values)
        for m in kept:
            speaker, said_at = origins.get(m.id, ("", m.created_at))
            text.put(m.id, m.key_text, speaker, m.prev_id, m.next_id, m.value_text, said_at)
        self._signatures[profile_id] = version

    def _claimer(self, profile_id: int) -> Callable[[Session], None]:
        """What a unit runs before writing vectors: they must be the profile's encoder's."""

        def claim(s: Session) -> None:
            encoder = self.encoder
            claim_encoder(s, profile_id, encoder.identity, encoder.dim)

        return claim

    # ------------------------------------------------------------ read

    def read(
        self,
        profile_id: int,
        query: torch.Tensor,
        k: int,
        hops: int = 1,
        tau: float = 2.0,
        hop_lambda: float = 1.0,
        query_text: str = "",
        params: HybridParams | None = None,
        learned: bool = True,
        now: datetime | None = None,
    ) -> ReadResult:
        """Attention read over the profile's memories (query vector given, already encoded);
        `query_text` feeds the lexical, speaker and time parts of the hybrid score (a time it
        names, "a week ago", is before `now`, default the clock's), `params` (default
        `self.hybrid`) its weights; `learned` False reads without the learned query map."""
        started = time.perf_counter()
        cache = self.cache(profile_id)
        if len(cache) == 0:
            return ReadResult([], [[] for _ in range(max(1, hops))], 0.0)
        if learned and self.query_map is not None:
            query = self.query_map.apply(query)  # a new vector: the caller's (a key too) stays
        params = params or self.hybrid
        terms_k = params.hop_terms or k
        score = self._hybrid_score(
            profile_id, cache, query_text, terms_k, hop_lambda, params, now or utcnow()
        )
        hop_reads = multi_hop_read(query, cache.cosines, cache.values, tau, hops, hop_lambda, score)
        picked = [self._top(cache, h, k) for h in hop_reads]
        texts = self._key_values(profile_id, {row for rows in picked for row, _, _ in rows}, cache)
        if len(texts) < len({r for rows in picked for r, _, _ in rows}):
            self.forget_cache(profile_id)  # forgotten meanwhile by another process: reload next
        hop_items = [
            [
                ReadItem(
                    cache.ids[r],
                    cache.kind(r),
                    *texts[cache.ids[r]],
                    w,
                    s,
                    tuple(float(h.weights[r]) for h in hop_reads),  # its weight at every hop
                )
                for r, w, s in rows
                if cache.ids[r] in texts
            ]
            for rows in picked
        ]
        elapsed = (time.perf_counter() - started) * 1000
        return ReadResult(hop_items[-1], hop_items, elapsed)

    def _hybrid_score(
        self,
        profile_id: int,
        cache: KeyCache,
        query_text: str,
        k: int,
        hop_lambda: float,
        params: HybridParams,
        now: datetime,
    ) -> Callable[[torch.Tensor, Hop | None], torch.Tensor]:
        """(cosine (n,), previous hop) -> the hybrid score (n,) of agent/memory/hybrid.py.

        After a hop, the lexical query gains the terms of what that hop read, weighted by the
        read weights of its top k memories: b <- b + lambda * sum_i alpha_i [t in value_i], the
        lexical side of q <- q + lambda * o (the rest of the weight is spread too thin to use).
        """
        text = self._texts[profile_id]
        rows = text.rows(cache)
        speakers = text.speaker_match(cache, query_text)  # (n,) bool or None
        discounted = text.assistant_discount(cache, query_text)  # (n,) bool or None
        timed = text.time_match(cache, query_text, now)  # (n,) or None
        terms = text.query_terms(query_text)

        def score(cosine: torch.Tensor, previous: Hop | None) -> torch.Tensor:
            nonlocal terms
            if previous is not None:
                weights, top = top_k(previous.weights, k)
                read = text.read_terms(cache, top.tolist(), weights.tolist())
                terms = {t: terms.get(t, 0.0) + hop_lambda * read.get(t, 0.0) for t in terms | read}
            lexical = text.lexical_rows(cache, terms)  # (n,) as its nonzero rows
            return hybrid_scores(
                cosine,
                lexical,
                (rows.prev_row, rows.prev2_row),
                (rows.next_row, rows.next2_row),
                speakers,
                params,
                None,  # the lengths' logs instead: kept per row, no log over n per read
                discounted,
                timed,
                rows.log_length,
            )

        return score

    @staticmethod
    def _top(cache: KeyCache, hop: Hop, k: int) -> list[tuple[int, float, float]]:
        weights, rows = top_k(hop.weights, k)
        return [
            (int(r), float(w), float(hop.scores[r])) for w, r in zip(weights, rows, strict=True)
        ]

    def _key_values(
        self, profile_id: int, rows: set[int], cache: KeyCache
    ) -> dict[int, tuple[str, str]]:
        ids = [cache.ids[r] for r in rows]
        with self.sessions() as s:
            return cache_rows.key_values(s, profile_id, ids)

    def search(
        self,
        profile_id: int,
        text: str,
        k: int,
        hops: int = 1,
        tau: float = 2.0,
        hop_lambda: float = 1.0,
        params: HybridParams | None = None,
        learned: bool = True,
        now: datetime | None = None,
    ) -> ReadResult:
        """Encode `text` and read: a search is a read without generation (`now`: see `read`).
        `elapsed_ms` counts encoding and reading, not loading the model or the key cache."""
        encoder = self.encoder
        self.cache(profile_id)
        started = time.perf_counter()
        query = encoder.encode([text])[0]
        result = self.read(profile_id, query, k, hops, tau, hop_lambda, text, params, learned, now)
        elapsed = (time.perf_counter() - started) * 1000
        return ReadResult(result.results, result.hops, elapsed)


def load_profile(
    s: Session, profile_id: int, dim: int
) -> tuple[KeyCache, TextIndex, list[tuple[int, str, bytes]]]:
    """The profile's key cache and text index from one query, with the key terms stored with
    each memory; a key without (valid) stored terms is tokenised here. Returns them and the
    (id, key text, encoded terms) computed, for the caller to store."""
    rows = cache_rows.cache_rows(s, profile_id)
    if not rows:
        return KeyCache(dim), TextIndex(), []
    ids, kinds, key_embs, value_embs, stored, prevs, nexts, speakers, values, said = zip(
        *rows, strict=True
    )
    stored, computed = with_missing_terms(s, ids, stored)
    keys, lengths = decode_terms(stored)
    cache = KeyCache.from_blobs(dim, ids, kinds, key_embs, value_embs)
    value_texts = {i: v for i, v in zip(ids, values, strict=True) if v is not None}
    said_at = [cache_rows.as_datetime(t) for t in said]
    text = TextIndex.from_terms(ids, keys, lengths, speakers, prevs, nexts, value_texts, said_at)
    return cache, text, computed


def with_missing_terms(
    s: Session, ids: Sequence[int], stored: Sequence[bytes | None]
) -> tuple[list[bytes], list[tuple[int, str, bytes]]]:
    """The stored terms with those missing or stale computed from the key texts; and the
    (id, key text, encoded terms) computed."""
    missing = stale_rows(stored)
    if not missing:
        return list(stored), []  # type: ignore[arg-type]
    texts = cache_rows.key_texts(s, [ids[row] for row in missing])
    complete = list(stored)
    computed = []
    for row in missing:
        key_text = texts[ids[row]]
        complete[row] = encode_terms(tokens(key_text))
        computed.append((ids[row], key_text, complete[row]))
    return complete, computed  # type: ignore[return-value]
