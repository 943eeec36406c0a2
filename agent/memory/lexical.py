"""A lexical index of memory key texts (BM25 with Porter stemming and stop words removed).

Names and dates matter in conversations and a sentence encoder blurs them; BM25 keeps them.
The index is keyed by memory id and updated on every write, like the key cache.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from functools import lru_cache

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
def _stem(word: str) -> str:
    return _STEMMER.stem(word)


def tokens(text: str) -> list[str]:
    """Lower-cased word stems of `text`, stop words removed."""
    # numbers stem to themselves: skipping the stemmer keeps ids and dates cheap
    return [
        w if w.isdigit() else _stem(w) for w in _WORD.findall(text.lower()) if w not in STOP_WORDS
    ]


def bm25_idf(n_docs: int, doc_freq: int) -> float:
    """idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5))  (never negative)."""
    return math.log(1.0 + (n_docs - doc_freq + 0.5) / (doc_freq + 0.5))


class LexicalIndex:
    """BM25 over documents keyed by id:

    score(q, d) = sum_{t in q} idf(t) * tf(t, d) * (k1 + 1) / (tf(t, d) + k1 * norm(d)),
    norm(d) = 1 - b + b * |d| / avgdl
    """

    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self._postings: dict[str, dict[int, int]] = {}  # term -> {doc id: term frequency}
        self._length: dict[int, int] = {}  # doc id -> number of tokens
        self._terms: dict[int, Counter[str]] = {}
        self._total = 0

    def __len__(self) -> int:
        return len(self._length)

    def put(self, doc_id: int, text: str) -> None:
        """Index `text` under `doc_id`, replacing what was there."""
        self.put_tokens(doc_id, tokens(text))

    def put_tokens(self, doc_id: int, terms: list[str]) -> list[str]:
        """Index already tokenised text under `doc_id`; returns `terms`."""
        self.remove(doc_id)
        counts = Counter(terms)
        self._terms[doc_id] = counts
        self._length[doc_id] = len(terms)
        self._total += len(terms)
        for term, tf in counts.items():
            self._postings.setdefault(term, {})[doc_id] = tf
        return terms

    def remove(self, doc_id: int) -> None:
        counts = self._terms.pop(doc_id, None)
        if counts is None:
            return
        self._total -= self._length.pop(doc_id)
        for term in counts:
            posting = self._postings[term]
            del posting[doc_id]
            if not posting:
                del self._postings[term]

    def scores(self, query: str) -> dict[int, float]:
        """BM25 score of every document sharing a term with `query` (others score 0)."""
        return self.weighted_scores(dict.fromkeys(tokens(query), 1.0))

    def weighted_scores(self, query_terms: dict[str, float]) -> dict[int, float]:
        """BM25 with a weight per query term: score(q, d) = sum_t q_t * idf(t) * tf-part(t, d).

        Linear in the query's term weights, so a multi-hop read can add the terms of what the
        last hop read to the query (the lexical side of q <- q + lambda * o).
        """
        n = len(self._length)
        if n == 0:
            return {}
        avgdl = max(self._total / n, 1e-9)
        result: dict[int, float] = {}
        for term, weight in query_terms.items():
            posting = self._postings.get(term)
            if not posting or weight == 0:
                continue
            idf = weight * bm25_idf(n, len(posting))
            for doc_id, tf in posting.items():
                norm = tf + self.k1 * (1 - self.b + self.b * self._length[doc_id] / avgdl)
                result[doc_id] = result.get(doc_id, 0.0) + idf * tf * (self.k1 + 1) / norm
        return result
