"""The LoCoMo QA scorer, as in the official `task_eval/evaluation.py` (Maharana et al., 2024).

    normalise(s)  = lower-case, drop punctuation, drop the words a/an/the/and, squeeze spaces
    tokens(s)     = Porter stems of the words of normalise(s)
    F1(p, g)      = 2 P R / (P + R), P = |common| / |tokens(p)|, R = |common| / |tokens(g)|
                    (common: the multiset intersection; 0 when nothing is shared)

By category: 1 multi-hop: the gold answer is split on commas and each part takes its best F1
over the prediction's comma parts, then the parts are averaged; 2 temporal and 4 single-hop:
plain F1; 3 open-domain: F1 against the gold text before the first ';'; 5 adversarial: 1 if
the prediction says the information is not mentioned / not available, else 0.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from functools import lru_cache

from nltk.stem import PorterStemmer

_ARTICLES = re.compile(r"\b(a|an|the|and)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)
_STEMMER = PorterStemmer()
NOT_MENTIONED = ("not mentioned", "no information available")


def normalize_answer(text: object) -> str:
    """Lower-case, remove punctuation, articles and "and", and fix whitespace."""
    s = str(text).lower().translate(_PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", s).split())


@lru_cache(maxsize=50_000)
def _stem(word: str) -> str:
    return _STEMMER.stem(word)


def answer_tokens(text: object) -> list[str]:
    return [_stem(w) for w in normalize_answer(text).split()]


def f1_score(prediction: object, gold: object) -> float:
    """Token F1 of the stemmed, normalised texts."""
    pred, truth = answer_tokens(prediction), answer_tokens(gold)
    same = sum((Counter(pred) & Counter(truth)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(truth)
    return 2 * precision * recall / (precision + recall)


def f1_multi(prediction: object, gold: object) -> float:
    """Mean over the gold's comma parts of the best F1 against any of the prediction's parts."""
    predictions = [p.strip() for p in str(prediction).split(",")]
    golds = [g.strip() for g in str(gold).split(",")]
    return sum(max(f1_score(p, g) for p in predictions) for g in golds) / len(golds)


def says_not_mentioned(prediction: object) -> bool:
    text = str(prediction).lower()
    return any(phrase in text for phrase in NOT_MENTIONED)


def score(category: int, prediction: object, gold: object) -> float:
    """The official score of one prediction for a question of `category` (1 to 5)."""
    if category == 5:
        return 1.0 if says_not_mentioned(prediction) else 0.0
    if category == 1:
        return f1_multi(prediction, gold)
    if category == 3:
        return f1_score(prediction, str(gold).split(";")[0].strip())
    if category in (2, 4):
        return f1_score(prediction, gold)
    raise ValueError(f"unknown LoCoMo category {category!r}")
