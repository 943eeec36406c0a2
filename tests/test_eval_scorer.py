"""The LoCoMo QA scorer: normalisation, stemming, token F1 and the per-category rules."""

from __future__ import annotations

import pytest

from agent.eval.scorer import (
    answer_tokens,
    f1_multi,
    f1_score,
    normalize_answer,
    says_not_mentioned,
    score,
)


def test_normalize_lowercases_drops_punctuation_articles_and_and() -> None:
    assert normalize_answer("The Cat, and a Dog!") == "cat dog"
    assert normalize_answer("  An   apple-pie.  ") == "applepie"
    assert normalize_answer("Andrew and Theo") == "andrew theo"  # only whole words go
    assert normalize_answer(2023) == "2023"


def test_tokens_are_porter_stems() -> None:
    assert answer_tokens("running dogs") == ["run", "dog"]
    assert f1_score("She went running", "run") == pytest.approx(0.5)  # P 1/3, R 1


def test_f1_plain() -> None:
    assert f1_score("Paris", "paris.") == 1.0
    assert f1_score("in Paris", "Paris, France") == pytest.approx(0.5)  # P 1/2, R 1/2
    assert f1_score("London", "Paris") == 0.0
    assert f1_score("", "Paris") == 0.0
    assert f1_score("the", "a") == 0.0  # nothing left after normalising


def test_f1_counts_repeated_tokens_once_each() -> None:
    # pred: cat cat cat (3), gold: cat dog (2): common 1 -> P 1/3, R 1/2, F1 0.4
    assert f1_score("cat cat cat", "cat dog") == pytest.approx(0.4)


def test_category_1_averages_gold_parts_best_over_prediction_parts() -> None:
    assert f1_multi("violin, painting", "painting, violin") == 1.0
    # gold parts: "violin" (best 1.0), "painting" (best 0.0) -> 0.5
    assert f1_multi("violin", "violin, painting") == pytest.approx(0.5)
    assert score(1, "violin, pottery", "violin, painting") == pytest.approx(0.5)
    # without splitting, the whole prediction would be compared with each part
    assert score(1, "violin and painting", "violin, painting") == pytest.approx(2 / 3)


def test_category_3_uses_gold_before_first_semicolon() -> None:
    gold = "Yes; she took her dog to the beach"
    assert score(3, "yes", gold) == 1.0
    assert score(3, "she took her dog to the beach", gold) == 0.0


def test_categories_2_and_4_are_plain_f1() -> None:
    assert score(2, "7 May 2023", "7 May 2023") == 1.0
    assert score(4, "Biscuit the puppy", "Biscuit") == pytest.approx(2 * 0.5 / 1.5)
    assert score(4, 3, 3) == 1.0  # answers may be ints


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("Not mentioned in the conversation.", 1.0),
        ("That is NOT MENTIONED anywhere", 1.0),
        ("No information available.", 1.0),
        ("violin", 0.0),
        ("I don't know", 0.0),
    ],
)
def test_category_5_scores_saying_it_is_not_mentioned(reply: str, expected: float) -> None:
    assert score(5, reply, "violin") == expected
    assert says_not_mentioned(reply) == (expected == 1.0)


def test_unknown_category_is_refused() -> None:
    with pytest.raises(ValueError):
        score(6, "a", "a")
