"""Words of a question or a memory as the answer path compares them: the read's own lexical
terms (`agent.memory.lexical.tokens`: lower-case Porter stems, stop words removed)."""

from __future__ import annotations

import re

from agent.memory.lexical import STOP_WORDS, term, tokens

# Words that carry no answer although the read's stop-word list keeps them (a reply "yeah
# really got thanks" says nothing).
FILLERS = frozenset(
    """oh hey hi wow yeah yes yep okay ok well like sure thanks thank really also just got
    get let gonna wanna kinda pretty lot lots thing things something anything one ones would
    could should will can might must much many even still always never ever actually""".split()  # noqa: SIM905
)
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def words(text: str) -> list[str]:
    """The words of `text`, lower-cased, in order ("it's" is one word)."""
    return _WORD.findall(text.lower().replace("’", "'"))


content_terms = tokens  # the answer compares words as the read indexes them


def carries_content(word: str) -> bool:
    """Could `word` be part of an answer (not a stop word, a filler or a contraction: "it's",
    "don't" carry nothing, a possessive "daughter's" does)?"""
    base, _, rest = word.partition("'")
    if rest and rest != "s":
        return False
    return base not in STOP_WORDS and base not in FILLERS


term_of = term  # one word as a term of `content_terms`


# A name: a capitalised word that does not open the sentence ("Alice lives in Lyon" has none;
# "my sister Alice" has one), and is not the one greeted ("Hey Caroline!" tells nothing).
_NAME = re.compile(r"(?<=[a-z,] )[A-Z][a-z]+")
_GREETING = re.compile(
    r"\b(?:hey|hi|hello|thanks|thank you|congrats|congratulations|bye|dear)\s*$", re.IGNORECASE
)


def names_in(text: str) -> list[str]:
    """The names `text` mentions, in order ('Thanks Mel, I met Matt Patterson' -> Matt,
    Patterson)."""
    return [m.group(0) for m in _NAME.finditer(text) if not _GREETING.search(text[: m.start()])]
