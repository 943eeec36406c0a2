"""Plan rule, clause -> items: "I'm going to Japan next month", "I plan to learn Spanish".

A plan is a fact with slot `plan:<activity>` (`plan:go to japan`, `plan:run marathon`, see
`activities`), key "plans" and, as value, the plan with its date: "go to Japan next month",
"get married in June". "I plan to ...", "I'm planning to/on ...", "my plan is to ..." and
"I'm planning a trip to X" are plans as they are; "I'm going to ...", "I will ..." and
"I'm ...-ing" are plans only with a future date ("next month", "on Monday", "in June"):
"I'm going to bed" or "I'll try" is none.
"""

from __future__ import annotations

from agent.extraction.activities import (
    activity,
    activity_slot,
    base_verb,
    phrase_value,
    present_verb,
)
from agent.extraction.items import Extracted
from agent.extraction.life_patterns import (
    FUTURE_TIME_RE,
    PLAN_EXPLICIT_RE,
    PLAN_FUTURE_RE,
    PLAN_ON_RE,
    PLAN_PROGRESSIVE_RE,
    PLAN_TRIP_RE,
)
from agent.extraction.life_vocabulary import NON_PLAN_GERUNDS
from agent.extraction.vocabulary import word_set

_PLACE_STARTS = word_set(
    "the a an my our his her their school work college university uni church class bed"
)
"""Words after "going to" that start a place ("going to the dentist"), not a verb."""


def rule_plan(clause: str) -> list[Extracted]:
    """ "I'm going to Japan next month", "I plan to learn Spanish", "I'm planning to run a
    marathon in May", "I will start a new job on Monday", "I'm getting married in June"."""
    plan = read_plan(clause, dated=True)
    return [Extracted("fact", "plan:" + plan[0], "plans", plan[1])] if plan else []


def read_plan(clause: str, dated: bool) -> tuple[str, str] | None:
    """(slot text, value) of the plan `clause` states; a future or progressive form needs a
    date when `dated` (a retraction, "I'm not going to Japan after all", needs none)."""
    match = PLAN_TRIP_RE.match(clause)
    if match:
        return plan_of("go", " to " + match.group("place"))
    match = PLAN_EXPLICIT_RE.match(clause)
    if match:
        return plan_of(match.group("verb"), match.group("rest"))
    match = PLAN_ON_RE.match(clause)
    if match:
        verb = base_verb(match.group("ger"))
        return plan_of(verb, match.group("rest")) if verb else None
    match = PLAN_FUTURE_RE.match(clause)
    if match:
        verb, rest = match.group("verb"), match.group("rest")
        if dated and not FUTURE_TIME_RE.search(rest):
            return None
        if match.group("going") and (verb[0].isupper() or verb.lower() in _PLACE_STARTS):
            verb, rest = "go", f" to {verb}{rest}"
        return plan_of(verb, rest)
    match = PLAN_PROGRESSIVE_RE.match(clause)
    if match:
        gerund, rest = match.group("ger").lower(), match.group("rest")
        if gerund in NON_PLAN_GERUNDS or (gerund == "going" and rest.startswith(" to ")):
            return None
        if dated and not FUTURE_TIME_RE.search(rest):
            return None
        verb = base_verb(gerund)
        return plan_of(verb, rest) if verb else None
    return None


def plan_of(verb: str, rest: str) -> tuple[str, str] | None:
    """(slot text, value) of a plan to `verb` `rest`: ("go", " to Japan next month") ->
    ("go to japan", "go to Japan next month")."""
    if not present_verb(verb):
        return None
    what = activity(verb, rest)
    value = phrase_value(verb.lower(), rest) if what else None
    return (activity_slot(what), value) if what and value else None
