"""BM25 index: tokens, idf and scores against hand-computed values; incremental updates."""

from __future__ import annotations

import math

import pytest

from agent.memory.lexical import LexicalIndex, bm25_idf, tokens


def test_tokens_stem_and_drop_stop_words() -> None:
    assert tokens("The cats were Running to Lyon in 2023!") == ["cat", "run", "lyon", "2023"]
    assert tokens("") == [] and tokens("[bold]") == ["bold"]


def test_bm25_by_hand() -> None:
    index = LexicalIndex(k1=1.2, b=0.75)
    index.put(1, "cat cat dog")  # tokens: cat, cat, dog (length 3)
    index.put(2, "dog")  # length 1; avgdl = 2
    scores = index.scores("cat")
    idf = math.log(1 + (2 - 1 + 0.5) / (1 + 0.5))  # ln 2
    assert bm25_idf(2, 1) == pytest.approx(idf)
    # tf=2, |d|=3: 2 * 2.2 / (2 + 1.2 * (0.25 + 0.75 * 3 / 2)) = 4.4 / 3.65
    assert scores == {1: pytest.approx(idf * 4.4 / 3.65)}
    assert set(index.scores("dog")) == {1, 2}
    assert index.scores("dog")[2] > index.scores("dog")[1]  # shorter document, same tf


def test_put_replaces_and_remove_forgets() -> None:
    index = LexicalIndex()
    index.put(1, "hiking in the alps")
    index.put(1, "jazz concerts")
    assert index.scores("hiking") == {} and set(index.scores("jazz")) == {1}
    index.remove(1)
    index.remove(1)  # twice: nothing happens
    assert len(index) == 0 and index.scores("jazz") == {}
