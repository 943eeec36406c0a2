"""A lexical index of memory key texts (BM25 with Porter stemming and stop words removed).

Names and dates matter in conversations and a sentence encoder blurs them; BM25 keeps them.
The index is keyed by memory id and updated on every write, like the key cache. Each memory's
terms are also stored with it (`encode_terms`: their 64-bit keys), so loading a profile's index
tokenises nothing and makes no string per term: a few numpy passes.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from nltk.stem import PorterStemmer

# A compact English stop-word list (nltk's corpus would need a download).
STOP_WORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves
    s t d ll m o re ve y don doesn didn isn wasn weren won wouldn shouldn couldn hasn haven hadn
    aren ain ma mightn mustn needn shan""".split()  # noqa: SIM905 (a list literal: 150 lines)
)
_WORD = re.compile(r"[a-z0-9]+")
_STEMMER = PorterStemmer()


@lru_cache(maxsize=100_000)
def stem(word: str) -> str:
    return _STEMMER.stem(word)


def term(word: str) -> str:
    """A lower-case word as an index term: its stem; numbers stem to themselves (skipping the
    stemmer keeps ids and dates cheap)."""
    return word if word.isdigit() else stem(word)


def tokens(text: str) -> list[str]:
    """Lower-cased word stems of `text`, stop words removed."""
    return [term(w) for w in _WORD.findall(text.lower()) if w not in STOP_WORDS]


# Terms are indexed by a 64-bit key: a BLAKE2b hash of the term, stable across processes and
# databases. Two terms share a key with probability ~1e-8 in a million-term vocabulary.
TermKey = int
# The first int64 of stored terms: bump it whenever `tokens` or `term_key` changes, so terms
# stored by an older tokeniser are computed again instead of trusted.
TERMS_VERSION = 1
_VERSION_BYTES = np.array([TERMS_VERSION], dtype="<i8").tobytes()


@lru_cache(maxsize=100_000)
def term_key(term: str) -> TermKey:
    """The term's 64-bit key (signed, as numpy's int64 holds it)."""
    digest = hashlib.blake2b(term.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def term_keys(terms: Sequence[str]) -> list[TermKey]:
    return list(map(term_key, terms))


def encode_terms(terms: Sequence[str]) -> bytes:
    """Terms as stored with a memory: TERMS_VERSION, then each term's key, int64 little-endian."""
    return np.array([TERMS_VERSION, *term_keys(terms)], dtype="<i8").tobytes()


def stale_rows(stored: Sequence[bytes | None]) -> list[int]:
    """The positions of stored terms this tokeniser cannot use (missing, or another version)."""
    version = _VERSION_BYTES
    return [row for row, terms in enumerate(stored) if terms is None or terms[:8] != version]


def decode_terms(stored: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Many documents' stored terms (each `stored_ok`) at once: (T,) int64 term keys, all
    documents' in order, and (n,) int64 the number of terms of each."""
    lengths = np.fromiter(map(len, stored), np.int64, len(stored)) // 8  # (n,) with the version
    flat = np.frombuffer(b"".join(stored), dtype="<i8").astype(np.int64)  # (T + n,)
    heads = np.concatenate([[0], np.cumsum(lengths)[:-1]])  # (n,) where each version sits
    keep = np.ones(len(flat), dtype=bool)
    keep[heads] = False
    return flat[keep], lengths - 1


def bm25_idf(n_docs: int, doc_freq: int) -> float:
    """idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5))  (never negative)."""
    return math.log(1.0 + (n_docs - doc_freq + 0.5) / (doc_freq + 0.5))


@dataclass
class Postings:
    """Documents indexed at once, as arrays: each term's postings are one slice, so building
    them is two sorts and a read is a few vectorised passes, not a loop per posting.

    A document removed (or put again, which moves it to the dict postings) stays in the arrays,
    masked out by `alive` and no longer counted in `df`.
    """

    vocab: np.ndarray  # (V,) int64 sorted term keys; a term's id is its index here
    term_ptr: np.ndarray  # (V + 1,) postings of term t: [term_ptr[t], term_ptr[t + 1])
    docs: np.ndarray  # (E,) int64 doc id of each posting, grouped by term
    tf: np.ndarray  # (E,) float64 term frequency
    doc_len: np.ndarray  # (E,) float64 length of the posting's document
    df: np.ndarray  # (V,) int64 live documents holding each term
    doc_ptr: np.ndarray  # (n + 1,) terms of document row r: doc_terms[doc_ptr[r]: doc_ptr[r + 1]]
    doc_terms: np.ndarray  # (T,) int64 term id of every term of every document, in order
    row_of: dict[int, int]  # live doc id -> document row
    alive: np.ndarray  # (max doc id + 1,) bool

    @classmethod
    def build(cls, doc_ids: Sequence[int], keys: np.ndarray, lengths: np.ndarray) -> Postings:
        """From distinct doc ids, all their term keys in order (T,) and their lengths (n,)."""
        n = len(lengths)
        vocab, term_ids = np.unique(keys, return_inverse=True)  # (V,), (T,)
        rows = np.repeat(np.arange(n), lengths)  # (T,) document row of each term
        pairs, tf = np.unique(term_ids * n + rows, return_counts=True)  # (E,) by term, then row
        pair_terms, pair_rows = pairs // n, pairs % n
        ids = np.asarray(doc_ids, dtype=np.int64)  # (n,)
        alive = np.zeros(int(ids.max()) + 1, dtype=bool)
        alive[ids] = True
        return cls(
            vocab=vocab,
            term_ptr=_offsets(pair_terms, len(vocab)),
            docs=ids[pair_rows],
            tf=tf.astype(np.float64),
            doc_len=lengths[pair_rows].astype(np.float64),
            df=np.bincount(pair_terms, minlength=len(vocab)),
            doc_ptr=np.concatenate([[0], np.cumsum(lengths)]),
            doc_terms=term_ids,
            row_of=dict(zip(doc_ids, range(n), strict=True)),
            alive=alive,
        )

    def _term_ids(self, row: int) -> np.ndarray:
        """(k,) the distinct term ids of document row `row`, sorted."""
        return np.unique(self.doc_terms[self.doc_ptr[row] : self.doc_ptr[row + 1]])

    def terms_of(self, doc_id: int) -> list[TermKey]:
        """The distinct term keys of a live document ([] for another)."""
        row = self.row_of.get(doc_id)
        return [] if row is None else self.vocab[self._term_ids(row)].tolist()

    def remove(self, doc_id: int) -> bool:
        """Mask out a live document; False when it is not one of these."""
        row = self.row_of.pop(doc_id, None)
        if row is None:
            return False
        self.df[self._term_ids(row)] -= 1
        self.alive[doc_id] = False
        return True

    def posting(self, key: TermKey) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(doc ids, tf, doc lengths) of the live documents holding the term, or None."""
        term_id = int(np.searchsorted(self.vocab, key))
        if term_id == len(self.vocab) or self.vocab[term_id] != key or self.df[term_id] == 0:
            return None
        span = slice(self.term_ptr[term_id], self.term_ptr[term_id + 1])
        docs, tf, lengths = self.docs[span], self.tf[span], self.doc_len[span]
        if self.df[term_id] < len(docs):
            live = self.alive[docs]
            docs, tf, lengths = docs[live], tf[live], lengths[live]
        return docs, tf, lengths


def _offsets(groups: np.ndarray, count: int) -> np.ndarray:
    """(count + 1,) start of each group in an array sorted by group."""
    return np.concatenate([[0], np.cumsum(np.bincount(groups, minlength=count))]).astype(np.int64)


class LexicalIndex:
    """BM25 over documents keyed by id:

    score(q, d) = sum_{t in q} idf(t) * tf(t, d) * (k1 + 1) / (tf(t, d) + k1 * norm(d)),
    norm(d) = 1 - b + b * |d| / avgdl

    Terms are held by their keys (`term_key`). Documents loaded at once (`load`) live in
    `Postings` arrays; documents put one by one after that, in dicts. A read sums each
    document's terms in query order with the same float64 operations either way, so scores do
    not depend on how a document got in.
    """

    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self._postings: dict[TermKey, dict[int, int]] = {}  # term -> {doc id: term frequency}
        self._length: dict[int, int] = {}  # doc id -> number of tokens (every document)
        self._terms: dict[int, Counter[TermKey]] = {}  # documents in the dicts
        self._base: Postings | None = None  # documents loaded at once
        self._total = 0

    def __len__(self) -> int:
        return len(self._length)

    @classmethod
    def load(
        cls,
        doc_ids: Sequence[int],
        keys: np.ndarray,
        lengths: np.ndarray,
        k1: float = 1.2,
        b: float = 0.75,
    ) -> LexicalIndex:
        """Index many documents at once: distinct ids, all their term keys in order (T,) and
        the number of terms of each (n,), as `decode_terms` gives them. A few array passes."""
        index = cls(k1, b)
        if len(doc_ids):
            index._base = Postings.build(doc_ids, keys, lengths)
            index._length = dict(zip(doc_ids, lengths.tolist(), strict=True))
            index._total = int(lengths.sum())
        return index

    def put(self, doc_id: int, text: str) -> None:
        """Index `text` under `doc_id`, replacing what was there."""
        self.put_tokens(doc_id, tokens(text))

    def put_tokens(self, doc_id: int, terms: list[str]) -> list[str]:
        """Index already tokenised text under `doc_id`; returns `terms`."""
        self.remove(doc_id)
        counts = Counter(term_keys(terms))
        self._terms[doc_id] = counts
        self._length[doc_id] = len(terms)
        self._total += len(terms)
        for key, tf in counts.items():
            self._postings.setdefault(key, {})[doc_id] = tf
        return terms

    def remove(self, doc_id: int) -> None:
        length = self._length.pop(doc_id, None)
        if length is None:
            return
        self._total -= length
        counts = self._terms.pop(doc_id, None)
        if counts is None:  # a loaded document
            if self._base is not None:
                self._base.remove(doc_id)
            return
        for key in counts:
            posting = self._postings[key]
            del posting[doc_id]
            if not posting:
                del self._postings[key]

    def terms_of(self, doc_id: int) -> list[TermKey]:
        """The distinct term keys of a document ([] for an unknown one)."""
        counts = self._terms.get(doc_id)
        if counts is not None:
            return list(counts)
        return self._base.terms_of(doc_id) if self._base is not None else []

    def idf(self, term: str) -> float:
        """The BM25 idf of a term as `tokens` gives it; one no document holds counts as held by
        one (a rare word, not a missing one)."""
        found = self._posting(term_key(term))
        return bm25_idf(len(self._length), 1 if found is None else len(found[0]))

    def scores(self, query: str) -> dict[int, float]:
        """BM25 score of every document sharing a term with `query` (others score 0)."""
        return self.weighted_scores(dict.fromkeys(term_keys(tokens(query)), 1.0))

    def weighted_scores(self, query_terms: dict[TermKey, float]) -> dict[int, float]:
        """BM25 with a weight per query term: score(q, d) = sum_t q_t * idf(t) * tf-part(t, d).

        Linear in the query's term weights, so a multi-hop read can add the terms of what the
        last hop read to the query (the lexical side of q <- q + lambda * o).
        """
        doc_ids, values = self.score_arrays(query_terms)
        return dict(zip(doc_ids.tolist(), values.tolist(), strict=True))

    def score_arrays(self, query_terms: dict[TermKey, float]) -> tuple[np.ndarray, np.ndarray]:
        """`weighted_scores` as arrays: (m,) int64 doc ids and (m,) float64 scores."""
        n = len(self._length)
        parts = [] if n == 0 else list(self._term_parts(query_terms, n))
        if not parts:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        every = np.concatenate([docs for docs, _ in parts])  # (P,)
        doc_ids, slots = np.unique(every, return_inverse=True)  # (m,), (P,)
        totals = np.zeros(len(doc_ids))  # (m,)
        np.add.at(totals, slots, np.concatenate([part for _, part in parts]))  # in query order
        return doc_ids, totals

    def _term_parts(
        self, query_terms: dict[TermKey, float], n: int
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(doc ids, weight * idf * tf-part) for each query term held by some document."""
        avgdl = max(self._total / n, 1e-9)
        for key, weight in query_terms.items():
            found = self._posting(key)
            if found is None or weight == 0:
                continue
            docs, tf, lengths = found
            idf = weight * bm25_idf(n, len(docs))
            norm = tf + self.k1 * (1 - self.b + self.b * lengths / avgdl)
            yield docs, idf * tf * (self.k1 + 1) / norm

    def _posting(self, key: TermKey) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(doc ids, tf, doc lengths) of every document holding the term, or None."""
        loaded = self._base.posting(key) if self._base is not None else None
        posting = self._postings.get(key)
        if not posting:
            return loaded
        docs = np.fromiter(posting, np.int64, len(posting))
        tf = np.fromiter(posting.values(), np.float64, len(posting))
        lengths = np.fromiter(map(self._length.__getitem__, posting), np.float64, len(posting))
        if loaded is None:
            return docs, tf, lengths
        both = [np.concatenate(pair) for pair in zip(loaded, (docs, tf, lengths), strict=True)]
        return both[0], both[1], both[2]
