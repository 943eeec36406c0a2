"""Message -> results: `extract` (items, one per slot), `retractions` and `forget_requests`.

All three read the same sentences and clauses: a forget request is only a forget request (no
item, note or retraction comes from its sentence); a "remember that ..." request gives a note
and its statement is read like any other; hypotheticals give nothing; in a question the asked
part is dropped; a clause after reported speech ("my sister said") is not the user's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from agent.extraction.forget_rules import read_forget
from agent.extraction.items import Extracted, ForgetRequest, Retraction, conflicting_slots
from agent.extraction.notes import read_note
from agent.extraction.patterns import HYPOTHETICAL_RE, SPEECH_END_RE
from agent.extraction.retraction_rules import read_pair_break_up, read_retractions
from agent.extraction.rules import read_clause, statement_clause
from agent.extraction.sentences import (
    ends_with_question,
    prepare,
    split_clauses,
    split_sentences,
    strip_fillers,
)

T = TypeVar("T")


def extract(text: str) -> list[Extracted]:
    """The preferences, facts and notes the user states about themselves in `text`.

    Items come in the order they appear; one item per slot (the last statement wins, and an
    item also displaces an earlier one of the same message whose slot it conflicts with).
    Never raises; scans at most `MAX_TEXT` characters.
    """
    return _dedupe(_each_sentence(text, _read_sentence))


def retractions(text: str) -> list[Retraction]:
    """What the user says in `text` is no longer true ("I don't live in Lyon anymore"), in
    order, without repeats. Never raises; scans at most `MAX_TEXT` characters."""
    found = _each_sentence(text, _retractions_of)
    return list(dict.fromkeys(found))


def forget_requests(text: str) -> list[ForgetRequest]:
    """What the user asks to forget in `text` ("forget that I like jazz"), in order, without
    repeats. Never raises; scans at most `MAX_TEXT` characters."""
    found = _each_sentence(text, _forget_of)
    return list(dict.fromkeys(found))


def _each_sentence(text: str, read: Callable[[str], list[T]]) -> list[T]:
    """`read` on every candidate sentence of `text`, results concatenated."""
    if not isinstance(text, str) or not text:
        return []
    out: list[T] = []
    for sentence in split_sentences(prepare(text)):
        try:
            out.extend(read(sentence))
        except (ValueError, IndexError, RecursionError):  # pragma: no cover - defensive
            continue
    return out


def _read_sentence(sentence: str) -> list[Extracted]:
    """The items of one sentence: its note, if any, and the statements of its clauses."""
    note, clauses = _statements(sentence)
    items = list(note)
    for clause in clauses:
        items.extend(read_clause(clause))
    return items


def _retractions_of(sentence: str) -> list[Retraction]:
    """The retractions of one sentence's clauses (and of "Alex and I broke up")."""
    clauses = _statements(sentence)[1]
    found = read_pair_break_up(strip_fillers(sentence)) if clauses else []
    for clause in clauses:
        statement = statement_clause(clause)
        if statement:
            found.extend(read_retractions(statement))
    return found


def _forget_of(sentence: str) -> list[ForgetRequest]:
    request = read_forget(strip_fillers(sentence))
    return [request] if request else []


def _statements(sentence: str) -> tuple[list[Extracted], list[str]]:
    """(the note of a "remember that ..." sentence, the user's clauses to read)."""
    is_question = ends_with_question(sentence)
    body = strip_fillers(sentence)
    if read_forget(body) is not None:
        return [], []
    note = read_note(body)
    if note is not None:
        items, statement = note
        return items, split_clauses(strip_fillers(statement)) if statement else []
    if HYPOTHETICAL_RE.match(body):
        return [], []
    clauses = split_clauses(body)
    if is_question and clauses:
        clauses = clauses[:-1]
    kept: list[str] = []
    reported = False
    for clause in clauses:
        if not reported:
            kept.append(clause)
        reported = SPEECH_END_RE.search(clause) is not None
    return [], kept


def _dedupe(items: list[Extracted]) -> list[Extracted]:
    """One item per slot, the last winning (at its own position); conflicting earlier ones go."""
    kept: dict[str, Extracted] = {}
    for item in items:
        for slot in [item.slot, *conflicting_slots(item)]:
            kept.pop(slot, None)
        kept[item.slot] = item
    return list(kept.values())
