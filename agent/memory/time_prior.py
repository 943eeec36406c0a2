"""When a question points at a time ("two weeks ago", "yesterday"): a prior on the memories said
then. Pure functions; n = memories of the active profile.

    centre, width = when_asked(question)            days before now, and a tolerance
    match_i       = exp(-((age_i - centre) / width)^2 / 2)      age_i = now - said_at_i, in days
    score_i      += b_t * match_i

"Ago" is not precise ("a week ago" is rarely 7.0 days), so the width grows with the distance:
width = max(1 day, centre / 4). Only a point in time is a cue: a span ("in the past month")
covers most of a recent history and measured no better (bench/longmemeval_retrieval.py).
Measured on the LongMemEval_S dev questions (bench/longmemeval_retrieval.py), b_t = 4: turn
recall@5 0.765 -> 0.776, session recall_any@5 0.957 -> 0.978; LoCoMo's questions are relative
to their own sessions, not to now, and do not change.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

import torch

_NUMBERS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "a couple of": 2,
    "a few": 3,
    "several": 3,
}
_DAYS_IN = {"day": 1.0, "week": 7.0, "month": 30.44, "year": 365.25}
_AGO = re.compile(
    r"\b(\d{1,4}|a couple of|a few|several|an?|one|two|three|four|five|six|seven|eight|nine|ten)"
    r"\s+(day|week|month|year)s?\s+ago\b",
    re.IGNORECASE,
)
_YESTERDAY = re.compile(r"\byesterday\b", re.IGNORECASE)
_EPOCH = datetime(1970, 1, 1)


def when_asked(question: str) -> tuple[float, float] | None:
    """(days before now, tolerance in days) of the time the question points at, or None."""
    found = _AGO.search(question)
    if found is not None:
        count, unit = found.group(1).lower(), found.group(2).lower()
        days = (float(count) if count.isdigit() else _NUMBERS[count]) * _DAYS_IN[unit]
        return days, max(1.0, days / 4)
    if _YESTERDAY.search(question):
        return 1.0, 1.0
    return None


def day_number(moment: datetime | None) -> float:
    """Days since 1970-01-01 UTC (a naive datetime is taken as UTC); NaN when unknown."""
    if moment is None:
        return math.nan
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return (moment - _EPOCH).total_seconds() / 86400.0


def time_match(said_on: torch.Tensor, now: float, asked: tuple[float, float]) -> torch.Tensor:
    """match_i = exp(-((now - said_on_i - centre) / width)^2 / 2); 0 where said_on_i is NaN."""
    # said_on: (n,) float64 day numbers
    centre, width = asked
    z = (now - said_on - centre) / width  # (n,)
    return torch.nan_to_num(torch.exp(-0.5 * z * z), nan=0.0).float()
