"""Message -> sentences -> clauses: capping, sentence and clause cuts, fillers, questions."""

from __future__ import annotations

from agent.extraction.limits import MAX_SENTENCE, MAX_SENTENCES, MAX_TEXT
from agent.extraction.patterns import (
    ABBREV_TAIL_RE,
    APOSTROPHE_RE,
    CANDIDATE_RE,
    CLAUSE_SPLIT_RE,
    CONTROL_RE,
    FILLER_RE,
    SENTENCE_RE,
    SPACE_RE,
    TRAIL_PUNCT,
)
from agent.extraction.vocabulary import ABBREVIATIONS


def prepare(text: str) -> str:
    """The scanned part of `text`: capped, apostrophes unified, control characters blanked."""
    text = text[:MAX_TEXT]
    text = APOSTROPHE_RE.sub("'", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return CONTROL_RE.sub(" ", text)


def split_sentences(text: str) -> list[str]:
    """`text` cut at sentence ends (terminators kept), abbreviations ("St.") not ending one.

    Only sentences with a first-person (or "remember") word are kept, at most
    `MAX_SENTENCES` of them.
    """
    out: list[str] = []
    pending = ""
    for match in SENTENCE_RE.finditer(text):
        if len(out) >= MAX_SENTENCES:
            return out
        piece = match.group(0)
        if not piece:
            continue
        pending += piece
        tail = ABBREV_TAIL_RE.search(pending[-12:])
        if tail and tail.group(1).lower() in ABBREVIATIONS and len(pending) < MAX_SENTENCE:
            continue
        _add_sentence(out, pending)
        pending = ""
    _add_sentence(out, pending)
    return out


def _add_sentence(out: list[str], raw: str) -> None:
    """Append `raw`, capped and with its whitespace collapsed (so no regex sees long runs)."""
    sentence = SPACE_RE.sub(" ", raw[: MAX_SENTENCE * 2]).strip()[:MAX_SENTENCE]
    if CANDIDATE_RE.search(sentence):
        out.append(sentence)


def ends_with_question(sentence: str) -> bool:
    """Whether the sentence ends with a question mark (closing quotes etc. ignored)."""
    return sentence.rstrip(" \t\n\"')]}*_~\u201d\u2019").endswith(("?", "\uff1f"))


def strip_fillers(text: str) -> str:
    """`text` without leading fillers ("Actually, ", "Oh and btw ") and surrounding space."""
    text = text.strip()
    match = FILLER_RE.match(text)
    if match and match.end():
        text = text[match.end() :]
    return text.strip()


def split_clauses(sentence: str) -> list[str]:
    """`sentence` cut into clauses, each stripped of fillers and trailing punctuation."""
    out: list[str] = []
    start = 0
    complement = False
    for match in CLAUSE_SPLIT_RE.finditer(sentence):
        if match.start() == 0 and match.end() == 0:
            continue
        out.append(_clause_text(sentence[start : match.start()], complement))
        complement = match.group("complement") is not None
        start = match.end()
    out.append(_clause_text(sentence[start:], complement))
    return [clause for clause in out if clause]


def _clause_text(raw: str, complement: bool) -> str:
    """One clause, normalised; a bare complement ("allergic to nuts") gets "I am" back."""
    clause = SPACE_RE.sub(" ", strip_fillers(raw)).strip().rstrip(TRAIL_PUNCT).strip()
    return f"I am {clause}" if complement and clause else clause
