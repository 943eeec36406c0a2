"""Clause -> items: every rule, in order, on one clause (questions and hypotheticals skipped)."""

from __future__ import annotations

from collections.abc import Callable

from agent.extraction.facts import (
    rule_age,
    rule_birthday,
    rule_family,
    rule_location,
    rule_work,
)
from agent.extraction.habits import rule_habit
from agent.extraction.items import Extracted
from agent.extraction.life_facts import (
    rule_date,
    rule_person_location,
    rule_study,
    rule_work_field,
)
from agent.extraction.patterns import HYPOTHETICAL_RE, LEADING_CONTRACTION_RE, QUESTION_RE
from agent.extraction.plans import rule_plan
from agent.extraction.preferences import (
    rule_allergy,
    rule_avoid,
    rule_diet,
    rule_favorite,
    rule_likes,
    rule_name,
)
from agent.extraction.sentences import strip_fillers

Rule = Callable[[str], list[Extracted]]
"""A rule reads one clause, anchored at its start, and returns the items it states."""

RULES: tuple[Rule, ...] = (
    rule_name,
    rule_diet,
    rule_avoid,
    rule_allergy,
    rule_likes,
    rule_favorite,
    rule_location,
    rule_work,
    rule_family,
    rule_age,
    rule_birthday,
    rule_habit,
    rule_plan,
    rule_study,
    rule_work_field,
    rule_date,
    rule_person_location,
)
"""Every rule sees every clause; each is anchored at the clause start."""


def statement_clause(clause: str) -> str | None:
    """`clause` ready for the rules (fillers stripped, "I've" -> "I have"), or None for a
    question or hypothetical."""
    clause = LEADING_CONTRACTION_RE.sub("I have", strip_fillers(clause))
    if not clause or QUESTION_RE.match(clause) or HYPOTHETICAL_RE.match(clause):
        return None
    return clause


def read_clause(clause: str) -> list[Extracted]:
    """Every statement of one clause, rule by rule (questions and hypotheticals give none)."""
    statement = statement_clause(clause)
    if statement is None:
        return []
    items: list[Extracted] = []
    for rule in RULES:
        items.extend(rule(statement))
    return items
