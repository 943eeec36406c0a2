"""Message -> items: `extract` reads every sentence (note or clauses) and keeps one per slot."""

from __future__ import annotations

from agent.extraction.items import Extracted, conflicting_slots
from agent.extraction.notes import read_note
from agent.extraction.patterns import HYPOTHETICAL_RE, SPEECH_END_RE
from agent.extraction.rules import read_clause
from agent.extraction.sentences import (
    ends_with_question,
    prepare,
    split_clauses,
    split_sentences,
    strip_fillers,
)


def extract(text: str) -> list[Extracted]:
    """The preferences, facts and notes the user states about themselves in `text`.

    Items come in the order they appear; one item per slot (the last statement wins, and an
    item also displaces an earlier one of the same message whose slot it conflicts with).
    Never raises; scans at most `MAX_TEXT` characters.
    """
    if not isinstance(text, str) or not text:
        return []
    items: list[Extracted] = []
    for sentence in split_sentences(prepare(text)):
        try:
            items.extend(_read_sentence(sentence))
        except (ValueError, IndexError, RecursionError):  # pragma: no cover - defensive
            continue
    return _dedupe(items)


def _read_sentence(sentence: str) -> list[Extracted]:
    """The items of one sentence: a note, or the statements of its clauses."""
    is_question = ends_with_question(sentence)
    body = strip_fillers(sentence)
    note = read_note(body)
    if note is not None:
        return note
    if HYPOTHETICAL_RE.match(body):
        return []
    clauses = split_clauses(body)
    if is_question and clauses:
        clauses = clauses[:-1]
    items: list[Extracted] = []
    reported = False
    for clause in clauses:
        if not reported:
            items.extend(read_clause(clause))
        reported = SPEECH_END_RE.search(clause) is not None
    return items


def _dedupe(items: list[Extracted]) -> list[Extracted]:
    """One item per slot, the last winning (at its own position); conflicting earlier ones go."""
    kept: dict[str, Extracted] = {}
    for item in items:
        for slot in [item.slot, *conflicting_slots(item)]:
            kept.pop(slot, None)
        kept[item.slot] = item
    return list(kept.values())
