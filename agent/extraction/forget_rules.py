"""Forget requests, sentence -> `ForgetRequest`: "forget that I like jazz", "forget my
address", "forget everything (you know) about Alice".

Only a sentence that starts with "forget" (after fillers and "please", "can you", ...) asks;
"don't forget that ..." is a note, "I forgot my keys" a statement, "did you forget?" a
question. A request must say what to forget: "forget it", "forget that", "forget everything"
and "forget about it" ask nothing that can be found, and give none.
"""

from __future__ import annotations

from agent.extraction.items import ForgetRequest
from agent.extraction.retraction_patterns import (
    FORGET_ABOUT_END_RE,
    FORGET_EVERYTHING_RE,
    FORGET_MY_RE,
    FORGET_RE,
    FORGET_THAT_RE,
)
from agent.extraction.values import clean
from agent.extraction.vocabulary import PRONOUN_OBJECTS, VAGUE_OBJECTS


def read_forget(sentence: str) -> ForgetRequest | None:
    """The forget request `sentence` makes, or None."""
    match = FORGET_RE.match(sentence)
    if not match:
        return None
    body = clean(match.group("body"))
    everything = FORGET_EVERYTHING_RE.match(body)
    if everything:
        about = everything.group("about") or everything.group("about2")
        return _request(about, everything=True)
    match = FORGET_THAT_RE.match(body) or FORGET_MY_RE.match(body)
    if not match:
        return None
    about = match.group("about")
    for _ in range(2):  # "that I said that I like jazz" -> "I like jazz"
        inner = FORGET_THAT_RE.match(clean(about))
        if not inner:
            break
        about = inner.group("about")
    return _request(about, everything=False)


def _request(raw: str, everything: bool) -> ForgetRequest | None:
    """The request for `raw`, unless it is vague ("it", "that stuff", "all of it")."""
    end = FORGET_ABOUT_END_RE.search(raw)
    about = clean(raw[: end.start()] if end else raw)
    words = about.lower().split()
    if not words or not any(ch.isalnum() for ch in about):
        return None
    if len(words) <= 2 and (words[0] in PRONOUN_OBJECTS or words[0] in VAGUE_OBJECTS):
        return None
    return ForgetRequest(about, everything)
