"""Habit rule, clause -> items: "I usually run in the mornings", "I meditate every day".

A habit is a preference with slot `habit:<activity>` (`habit:run`, `habit:go to gym`, see
`activities`), key "habit" and, as value, the statement in the third person without the
frequency adverb: "runs in the mornings", "goes to the gym every Monday", "drinks tea before
bed". It needs a frequency adverb ("usually", "always", "often", ...) before the verb or a
frequency phrase ("every day", "twice a week", "on Mondays") after it, and a present-tense verb
that is no feeling or thought ("I always think ..." is none).
"""

from __future__ import annotations

import re

from agent.extraction.activities import (
    activity,
    activity_slot,
    phrase_value,
    present_verb,
    third_person,
)
from agent.extraction.items import Extracted
from agent.extraction.life_patterns import FREQUENCY_RE, HABIT_ADVERB_RE, HABIT_PLAIN_RE
from agent.extraction.patterns import FLAGS

_WORK_STATEMENT_RE = re.compile(r"^\s+(?:as|at|for)\b", FLAGS)
"""After "work": a job or employer ("I usually work as a nurse"), read by the work rule."""


def rule_habit(clause: str) -> list[Extracted]:
    """ "I usually run in the mornings", "I go to the gym every Monday", "I always drink tea
    before bed", "I meditate every day"."""
    match = HABIT_ADVERB_RE.match(clause)
    if match is None:
        match = HABIT_PLAIN_RE.match(clause)
        if match is None or not FREQUENCY_RE.search(match.group("rest")):
            return []
    verb, rest = match.group("verb").lower(), match.group("rest")
    if not present_verb(verb) or (verb == "work" and _WORK_STATEMENT_RE.match(rest)):
        return []
    what = activity(verb, rest)
    value = phrase_value(third_person(verb), rest) if what else None
    if not what or not value:
        return []
    return [Extracted("preference", "habit:" + activity_slot(what), "habit", value)]
