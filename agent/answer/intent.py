"""What a message asks for: something remembered (a question about the user or the past), or
anything else (advice, a recipe, small talk), and for a remembered thing, which kind of
answer fits (a date, a list, a span)."""

from __future__ import annotations

import re

from agent.answer.words import content_terms, words

QUESTION_WORDS = frozenset("what when where who whom whose which why how".split())  # noqa: SIM905
AUXILIARIES = frozenset(
    "is are was were am do does did have has had can could will would should".split()  # noqa: SIM905
)
# Requests for something new, not for something remembered.
_OPEN_REQUEST = re.compile(
    r"^\s*(?:please\s+)?(?:can|could|would|will)\s+you\s+(?!remember|recall|tell me)"
    r"|^\s*(?:please\s+)?(?:recommend|suggest|give|write|plan|help|tell me a|make)\b"
    r"|\b(?:should|shall|could|can) (?:i|we)\b"
    r"|\bhow (?:do|to|can|could|would|should) (?:i|we)\b"
    r"|\b(?:give|make|write|show|help|teach|plan|cook|find|recommend|suggest) (?:me|us)\b"
    r"|\b(?:any|some) (?:ideas?|suggestions?|tips|advice|recommendations?)\b"
    r"|\bwhat(?:'s| is) (?:a )?good\b"
    r"|\bwhat do you (?:think|suggest|recommend)\b",
    re.IGNORECASE,
)
# Asking what is remembered (not "Remember that ...", which asks to store something).
_ASK_MEMORY = re.compile(
    r"\b(?:do|did|can|could) you (?:still )?(?:remember|recall|know)\b"
    r"|\bdid i (?:ever )?(?:say|tell|mention)\b"
    r"|\b(?:tell me )?what do you (?:remember|recall|know)\b"
    r"|\btell me what you (?:remember|recall|know)\b",
    re.IGNORECASE,
)
_WHEN = re.compile(
    r"^\s*when\b|\bwhat (?:date|day|year|month|time)\b|\bin which (?:year|month)\b"
    r"|\bhow long ago\b|\bwhich (?:year|month|day)\b",
    re.IGNORECASE,
)


def is_request(text: str) -> bool:
    """Does `text` ask for something new ('Can you suggest a recipe?', 'Plan my week')? Its
    reply may be long; anything else gets a sentence or two."""
    return bool(_OPEN_REQUEST.search(text))


def is_question(text: str) -> bool:
    """Ends with a question mark, or opens with a question word or an auxiliary verb."""
    first = words(text)[:1]
    return text.rstrip().endswith("?") or bool(first and first[0] in QUESTION_WORDS | AUXILIARIES)


_INFERENCE = re.compile(
    r"\b(?:would|might|could|likely|probably)\b",
    re.IGNORECASE,
)


def asks_inference(text: str) -> bool:
    """Does `text` ask for a guess from what is known ('would I enjoy...', 'what would she
    likely...')? No remembered sentence states the answer: the model reasons from them."""
    return bool(_INFERENCE.search(text))


def asks_memory(text: str) -> bool:
    """Does `text` ask for something remembered? A question with something to look up (not
    'how are you?'), or an explicit 'do you remember...', and not a request for advice or
    something new ('what should I cook?', 'can you suggest...') nor a guess ('would I enjoy
    ...?')."""
    if _ASK_MEMORY.search(text):
        return True
    if not is_question(text) or _OPEN_REQUEST.search(text) or asks_inference(text):
        return False
    return bool(content_terms(text))


# A list is asked for by a plural thing ("What books has she read?", "Which cities does he
# like?") or by what someone has done over time ("Where has Melanie camped?").
_AUX = r"(?:does|do|did|has|have|had|is|are|was|were)"
_LIST_PLURAL = re.compile(
    rf"^\s*(?:what|which)\s+(?:(?:kinds?|types?|sorts?)\s+of\s+)?(?:[\w+-]+\s+)?"
    rf"[a-z]+[^s\W]s\s+{_AUX}\b",
    re.IGNORECASE,
)
_LIST_PERFECT = re.compile(
    r"^\s*(?:what|where|who|which)\b(?:(?!\b(?:does|do|did)\b)[^?])*\b(?:has|have)\s+"
    r"(?:\w+\s+){0,3}?(?:\w+ed|been|done|made|read|seen|gone|taken|met|bought|won|given|"
    r"written|worn|eaten|tried)\b",
    re.IGNORECASE,
)


_LIST_WORDS = re.compile(
    r"^\s*(?:what|which|who)\s+are\b|\bnames\b|^\s*what\s+(?:kinds|types|sorts)\s+of\b",
    re.IGNORECASE,
)


def asks_list(text: str) -> bool:
    """Does `text` ask for several things ('What books has Melanie read?', 'Where has she
    camped?', 'What are her hobbies?')? Its answer gathers them from several memories."""
    return bool(_LIST_PLURAL.match(text) or _LIST_PERFECT.match(text) or _LIST_WORDS.search(text))


def asks_when(text: str) -> bool:
    """Is the answer a date ('when did...', 'what year...')?"""
    return bool(_WHEN.search(text))
