"""Which remembered sentence answers: a linear ranker over a few features of each sentence.

    rank(s) = w . f(s)
    f(s)    = [cover(s), alpha(m), ln(1 + r(m)), ln(1 + |new terms|), [s has the asked type],
               ln(1 + |words|), |Q & terms(s)| / |Q|]

cover: the idf-weighted share of the question's terms in s (see `grounded.cover`); alpha(m):
the read weight of s's memory m; r(m): m's place among the memories searched (0 the most
weighted); new terms: s's terms in neither the question nor the speaker's name (a sentence
that only repeats the question tells nothing); the asked type: a name for "who", a place for
"where", a number for "how many", a quoted title for "what book"; Q: the question's terms.

The weights were fitted on the five LoCoMo dev conversations (softmax over each question's
sentences, the target each sentence's answer F1) and checked leaving one conversation out:
pooled held-out F1 (categories 1-4, the whole answer path) 0.246 against 0.249 with the
weights fitted on all five; cover + 0.5 alpha, the choice before, gave 0.224.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from agent.answer.words import names_in

FEATURE_WEIGHTS = (0.6, 0.47, -0.57, 0.31, 3.27, 0.55, 1.21)

_NUMBER = re.compile(
    r"\b(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|twelve|twenty|a few|several|"
    r"hundred)\b",
    re.IGNORECASE,
)
_WHO = re.compile(r"who\b")  # not "whose": that asks for a thing
_PLACE = re.compile(r"\b(?:in|at|to|from|near)\s+(?:the\s+)?[A-Z]")
_TITLE = re.compile(r'"[^"\n]{2,80}"|“[^”\n]{2,80}”')
_ASKS_AMOUNT = re.compile(r"how (?:many|much|long|old|often)\b")
_ASKS_TITLE = re.compile(r"(?:what|which) (?:book|movie|film|song|show|novel|title|album|game)")


def has_asked_type(question: str, sentence: str, is_new: Callable[[str], bool]) -> bool:
    """Does `sentence` hold the kind of thing `question` asks for (a name for 'who...', a
    place for 'where...', a number for 'how many...', a title for 'what book...')?
    `is_new(word)` tells a name the question does not already hold."""
    asked = question.strip().lower()
    if _WHO.match(asked):
        return any(is_new(name) for name in names_in(sentence))
    if asked.startswith("where"):
        return bool(_PLACE.search(sentence))
    if _ASKS_AMOUNT.match(asked):
        return bool(_NUMBER.search(sentence))
    if _ASKS_TITLE.match(asked):
        return bool(_TITLE.search(sentence))
    return False


def features(
    cover: float,
    weight: float,
    memory_rank: int,
    new_terms: int,
    typed: bool,
    words: int,
    shared: float,
) -> tuple[float, ...]:
    """f(s) of the module docstring, in the order of `FEATURE_WEIGHTS`."""
    return (
        cover,
        weight,
        math.log1p(memory_rank),
        math.log1p(new_terms),
        1.0 if typed else 0.0,
        math.log1p(words),
        shared,
    )


def rank_score(f: tuple[float, ...]) -> float:
    """w . f(s)."""
    return sum(w * x for w, x in zip(FEATURE_WEIGHTS, f, strict=True))
