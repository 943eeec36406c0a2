"""When a remembered thing happened: the date it was said, moved by what the sentence says
('yesterday', 'last week', 'two years ago'). People say "I lost my job yesterday", not the
date; the answer to "when did..." is a date relative to the day it was said."""

from __future__ import annotations

import re
from datetime import date, timedelta

_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
            "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12}  # fmt: skip
_DAYS = "monday tuesday wednesday thursday friday saturday sunday".split()  # noqa: SIM905
_AGO = re.compile(
    r"\b(a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|\d+)\s+"
    r"(day|week|month|year)s?\s+ago\b"
)
_FEW_AGO = re.compile(r"\b(?:a few|a couple of|several|some)\s+(day|week|month|year)s\s+ago\b")
_MONTH = (
    r"(?:january|february|march|april|may|june|july|august|september|october|november|"
    r"december)"
)
# An explicit date: "14 March", "March 14th", "14 March 2021", "in 2019", "in May 2020".
_EXPLICIT = re.compile(
    rf"\b\d{{1,2}}(?:st|nd|rd|th)? (?:of )?{_MONTH}(?:,? \d{{4}})?\b"
    rf"|\b{_MONTH} \d{{1,2}}(?:st|nd|rd|th)?(?:,? \d{{4}})?\b"
    rf"|\bin (?:{_MONTH} )?(?:19|20)\d\d\b",
    re.IGNORECASE,
)
_LAST_DAY = re.compile(r"\b(?:last|this past|on)\s+(" + "|".join(_DAYS) + r")\b")


def day_text(d: date) -> str:
    """'8 May 2023'."""
    return f"{d.day} {d:%B %Y}"


def month_text(d: date) -> str:
    return f"{d:%B %Y}"


def _months_before(d: date, n: int) -> date:
    index = d.year * 12 + d.month - 1 - n
    return date(index // 12, index % 12 + 1, 1)


def _ago(amount: int, unit: str, said: date) -> str:
    if unit == "day":
        return day_text(said - timedelta(days=amount))
    if unit == "week":
        return f"{amount} week{'s' * (amount > 1)} before {day_text(said)}"
    if unit == "month":
        return month_text(_months_before(said, amount))
    return str(said.year - amount)


def happened_on(sentence: str, said: date) -> str:
    """The date of what `sentence` tells, said on `said`, as words: the date it names ('14
    March', '2019'), else '7 May 2023' (yesterday), 'the week before 8 May 2023', 'April 2023',
    '2022'; the day it was said when it names no other."""
    if match := _EXPLICIT.search(sentence):
        return match.group(0).removeprefix("in ").removeprefix("In ")
    s = sentence.lower()
    if "yesterday" in s or "last night" in s:
        return day_text(said - timedelta(days=1))
    if "tomorrow" in s:
        return day_text(said + timedelta(days=1))
    if match := _AGO.search(s):
        amount = _NUMBERS.get(match.group(1)) or int(match.group(1))
        return _ago(amount, match.group(2), said)
    if match := _FEW_AGO.search(s):
        return f"a few {match.group(1)}s before {day_text(said)}"
    if "last weekend" in s or "this past weekend" in s:
        return f"the weekend before {day_text(said)}"
    if "this weekend" in s:
        return f"the weekend of {day_text(said)}"
    if "next weekend" in s:
        return f"the weekend after {day_text(said)}"
    if "last summer" in s:
        return f"the summer of {said.year - 1}"
    if match := _LAST_DAY.search(s):
        return f"the {match.group(1).title()} before {day_text(said)}"
    if "last week" in s or "past week" in s:
        return f"the week before {day_text(said)}"
    if "next week" in s:
        return f"the week after {day_text(said)}"
    if "next month" in s:
        return month_text(_months_before(said, -1))
    if "last month" in s:
        return month_text(_months_before(said, 1))
    if "this month" in s:
        return month_text(said)
    if "last year" in s:
        return str(said.year - 1)
    if "this year" in s:
        return str(said.year)
    return day_text(said)


def ago_phrase(sentence: str) -> str | None:
    """How long ago `sentence` says something happened ('ten years ago'), if it says."""
    s = sentence.lower()
    match = _AGO.search(s) or _FEW_AGO.search(s)
    return match.group(0) if match else None
