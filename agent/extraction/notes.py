"""Notes: a "remember that ..." request becomes a note (its statement is read like any other)."""

from __future__ import annotations

from agent.extraction.items import Extracted
from agent.extraction.limits import NOTE_KEY_CHARS
from agent.extraction.patterns import NOTE_PUNCT_RE, NOTE_RE, QUOTES, SPACE_RE, TRAIL_PUNCT
from agent.extraction.vocabulary import PRONOUN_OBJECTS


def read_note(sentence: str) -> tuple[list[Extracted], str] | None:
    """A "remember that ..." request: ([the note], the remembered statement).

    Returns None when the sentence is no such request, and ([], "") for a request that names
    nothing ("remember that"). Plain "remember X" (no "that", no colon, no "please") is not
    one ("Remember when we met?" is a question). The caller reads the statement's clauses
    for preferences and facts as well.
    """
    match = NOTE_RE.match(sentence)
    if match is None:
        return None
    verb = SPACE_RE.sub(" ", match.group("verb").lower())
    explicit = bool(match.group("polite")) or "forget" in verb or match.group("sep").strip()
    if verb in ("note", "save", "store") and not match.group("sep").strip():
        explicit = False
    if not explicit:
        return None
    body = match.group("body").strip().strip(QUOTES).strip()
    body = body.rstrip(TRAIL_PUNCT + " " + QUOTES).strip()
    if not body or body.lower() in PRONOUN_OBJECTS:
        return ([], "") if match.group("sep").strip() else None
    statement = body[0].upper() + body[1:]
    note = Extracted("note", "note:" + _note_slot_text(statement), _shorten(statement), statement)
    return [note], body


def _note_slot_text(text: str) -> str:
    """Lowercase, apostrophes dropped, other punctuation removed, spaces collapsed, 60 chars."""
    text = text.lower().replace("'", "")
    text = NOTE_PUNCT_RE.sub(" ", text).replace("_", " ")
    return SPACE_RE.sub(" ", text).strip()[:NOTE_KEY_CHARS].strip()


def _shorten(text: str, limit: int = NOTE_KEY_CHARS) -> str:
    """`text` cut to at most `limit` characters at a word boundary, with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,;:-") + "\u2026"
