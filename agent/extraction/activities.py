"""Activities, the things habits and plans are about: verb forms ("running" -> "run" ->
"runs") and the normalised activity that names a `habit:` or `plan:` slot.

An activity is a verb and its object, up to the first time, place or frequency phrase:
"go to the gym| every Monday", "run a marathon| in May". Its slot text is casefolded,
without articles and possessives ("run marathon"), and every way of travelling to a place is
"go to <place>" ("fly to Tokyo", "a trip to Tokyo" -> "go to tokyo"), so a later retraction
("I cancelled my trip to Tokyo") finds the slot of the plan.
"""

from __future__ import annotations

import re

from agent.extraction.life_patterns import ACTIVITY_CUT_RE, LEADING_FOR_RE, TRAVEL_VERB_RE
from agent.extraction.life_vocabulary import (
    ED_VERBS,
    GERUND_BASES,
    NON_ACTIVITY_VERBS,
    NOT_GERUNDS,
    PAST_TENSE,
)
from agent.extraction.patterns import SPACE_RE, TRAILING_CLAUSE_RE, TRAILING_MODIFIER_RE, WORD_RE
from agent.extraction.values import clean
from agent.extraction.vocabulary import word_set

MAX_ACTIVITY_WORDS = 6
"""Longest activity (verb and object), in words."""
MAX_VALUE_WORDS = 14
"""Longest habit or plan value, in words."""

_VOWELS = "aeiou"
_VOWEL_GROUP_RE = re.compile(r"[aeiouy]+")
_E_AFTER_L_RE = re.compile(r"[bcdfgkptz]l$")
_E_AFTER_S_RE = re.compile(r"(?:^|[^aeiou])[aeiou]s$")
_SHORT_CVC_RE = re.compile(r"(?:^|[^aeiou])[aeiou][^aeiouwxy]$")
_SLOT_DROP = word_set("the a an my our your his her their some")
_SLOT_PUNCT_RE = re.compile(r"[^\w\s'&\-]")
_OBJECT_PRONOUNS = word_set("""
    it that this these those them you him her me us there here something anything everything
    nothing one what which who whatever stuff things
""")
"""An activity mentioning one of these says nothing on its own ("I do it every day")."""
_VALUE_PRONOUNS = word_set("it that this them these those")
_TIME_NOUNS = word_set("""
    morning afternoon evening night day week weekend month year time summer winter spring fall
    autumn semester term monday tuesday wednesday thursday friday saturday sunday
""")
_BARE_VERBS = word_set("go do get have make take come leave stay keep put give")
"""Verbs that are no activity without an object ("I'm not going anymore")."""


def _syllables(word: str) -> int:
    """Vowel groups in `word` ("cancel" 2, "sell" 1)."""
    return len(_VOWEL_GROUP_RE.findall(word))


def base_verb(gerund: str) -> str | None:
    """The verb of a gerund: "running" -> "run", "baking" -> "bake", "cycling" -> "cycle".

    None when `gerund` is no "-ing" form ("thing", "sing"). Common verbs come from a table;
    the others follow the spelling rules (doubled consonant, dropped "e").
    """
    word = gerund.lower()
    if word in GERUND_BASES:
        return GERUND_BASES[word]
    if not word.endswith("ing") or len(word) < 5 or word in NOT_GERUNDS:
        return None
    stem = word[:-3]
    if not WORD_RE.match(stem):
        return None
    if len(stem) >= 3 and stem[-1] == stem[-2]:
        if stem[-1] in "bdgmnprt":
            return stem[:-1]
        return stem[:-1] if stem[-1] == "l" and _syllables(stem) >= 2 else stem
    if stem[-1] in _VOWELS + "ywx":
        return stem
    if _needs_e(stem):
        return stem + "e"
    return stem


def _needs_e(stem: str) -> bool:
    """Whether the verb of an "-ing" stem ends in a dropped "e" ("bak" -> "bake")."""
    if _E_AFTER_L_RE.search(stem) or stem[-1] in "cvz" or stem.endswith(("rg", "dg")):
        return True
    if _E_AFTER_S_RE.search(stem):
        return True
    if len(stem) > 4 and stem.endswith("at") and stem[-3] not in "eo":
        return True
    if len(stem) > 4 and stem.endswith("ut") and stem[-3] not in _VOWELS:
        return True
    if len(stem) >= 4 and stem[-2:] in ("ir", "ur", "ar") and stem[-3] not in _VOWELS:
        return True
    return _syllables(stem) == 1 and _SHORT_CVC_RE.search(stem) is not None


def third_person(verb: str) -> str:
    """ "run" -> "runs", "go" -> "goes", "study" -> "studies", "have" -> "has"."""
    irregular = {"have": "has", "do": "does", "go": "goes", "be": "is"}
    if verb in irregular:
        return irregular[verb]
    if verb.endswith(("s", "sh", "ch", "x", "z", "o")):
        return verb + "es"
    if len(verb) > 1 and verb.endswith("y") and verb[-2] not in _VOWELS:
        return verb[:-1] + "ies"
    return verb + "s"


def present_verb(word: str) -> bool:
    """Whether `word` can be the present-tense verb of a habit or the verb of a plan."""
    verb = word.lower()
    if len(verb) < 2 or not verb.isalpha() or verb in NON_ACTIVITY_VERBS or verb in PAST_TENSE:
        return False
    if verb.endswith("ed") and verb not in ED_VERBS:
        return False
    return not verb.endswith("ing")


def activity(verb: str, rest: str) -> str | None:
    """The activity of a verb and what follows it: ("go", " to the gym every Monday") ->
    "go to the gym"; None when it is too long or names nothing ("do it")."""
    lead = LEADING_FOR_RE.match(rest)
    cut = ACTIVITY_CUT_RE.search(rest, lead.end() if lead else 0)
    obj = clean(rest[: cut.start()] if cut else rest)
    words = [verb.lower(), *obj.split()]
    if len(words) > MAX_ACTIVITY_WORDS or (len(words) == 1 and words[0] in _BARE_VERBS):
        return None
    if any(w.lower().strip("'") in _OBJECT_PRONOUNS for w in words[1:]):
        return None
    return " ".join(words)


def activity_slot(text: str) -> str:
    """The slot text of an activity: casefolded, no articles or possessives, punctuation
    dropped, travel as "go to <place>" ("Fly to the USA" -> "go to usa")."""
    text = SPACE_RE.sub(" ", _SLOT_PUNCT_RE.sub(" ", text.casefold())).strip()
    travel = TRAVEL_VERB_RE.match(text)
    if travel:
        text = "go to " + text[travel.end() :]
    return " ".join(w for w in text.split() if w not in _SLOT_DROP)


def phrase_value(head: str, rest: str) -> str | None:
    """A readable value: `head` and `rest` up to any trailing clause ("because ...") or
    modifier ("too"); None when longer than `MAX_VALUE_WORDS` words or pointing elsewhere
    ("it", "that")."""
    cut = TRAILING_CLAUSE_RE.search(rest)
    tail = clean(rest[: cut.start()] if cut else rest)
    for _ in range(2):
        tail = clean(TRAILING_MODIFIER_RE.sub("", tail))
    value = f"{head} {tail}".strip() if tail else head
    words = [w.strip(".,!?;:'\"").lower() for w in value.split()]
    if len(words) > MAX_VALUE_WORDS:
        return None
    for word, after in zip(words, [*words[1:], ""], strict=True):
        if word in _VALUE_PRONOUNS and after not in _TIME_NOUNS:
            return None  # "work on it tomorrow" says nothing on its own ("this week" does)
    return value
