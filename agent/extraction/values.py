"""Value cleaning: the objects, names and places that statements mention, in stored form."""

from __future__ import annotations

from agent.extraction.limits import MAX_OBJECT_WORDS
from agent.extraction.patterns import (
    LIST_SPLIT_RE,
    PLACE_CUT_RE,
    QUOTES,
    SPACE_RE,
    TRAIL_PUNCT,
    TRAILING_CLAUSE_RE,
    TRAILING_MODIFIER_RE,
    WORD_RE,
)
from agent.extraction.vocabulary import (
    COUNTABLE_ALLERGENS,
    NON_NAMES,
    NON_PLACE_STARTS,
    NON_PLACES,
    OBJECT_IDIOMS,
    PLACE_ACRONYMS,
    PLACE_LOWER_WORDS,
    PRONOUN_OBJECTS,
    VAGUE_OBJECTS,
)


def clean(raw: str) -> str:
    """`raw` without surrounding quotes, spaces and trailing punctuation."""
    text = raw.strip().strip(QUOTES).strip()
    text = text.rstrip(TRAIL_PUNCT + " " + QUOTES)
    return text.lstrip(QUOTES).strip()


def slot_text(text: str) -> str:
    """The normalised form of a value inside a slot: casefolded, no leading article."""
    text = SPACE_RE.sub(" ", text.casefold()).strip().strip(QUOTES + TRAIL_PUNCT).strip()
    for article in ("the ", "a ", "an "):
        if text.startswith(article) and len(text) > len(article):
            text = text[len(article) :]
            break
    return text


def cut_object(raw: str) -> str:
    """A liked/avoided object without trailing clauses ("because ...") or modifiers ("a lot")."""
    match = TRAILING_CLAUSE_RE.search(raw)
    text = raw[: match.start()] if match else raw
    text = clean(text)
    for _ in range(3):
        trimmed = TRAILING_MODIFIER_RE.sub("", text).strip()
        trimmed = clean(trimmed)
        if trimmed == text:
            break
        text = trimmed
    if text.lower().startswith("to ") and len(text) > 3:
        text = text[3:].strip()
    return text


def acceptable_object(text: str) -> bool:
    """A real object: non-empty, at most six words, not a pronoun ("it", "you", "that")."""
    words = text.split()
    if not words or len(words) > MAX_OBJECT_WORDS:
        return False
    first = words[0].lower().strip(QUOTES + TRAIL_PUNCT)
    if first in PRONOUN_OBJECTS or not first:
        return False
    head = slot_text(text).split(" ", 1)[0]
    if head in VAGUE_OBJECTS:
        return False
    return any(ch.isalnum() for ch in text)


def split_list(text: str) -> list[str]:
    """ "jazz, blues and rock" -> three objects; idioms ("fish and chips") stay whole."""
    if text.lower() in OBJECT_IDIOMS:
        return [text]
    parts = [p for p in LIST_SPLIT_RE.split(text) if p and p.strip()]
    merged: list[str] = []
    for part in parts:
        if merged:
            joined = f"{merged[-1]} and {part}"
            if joined.lower() in OBJECT_IDIOMS:
                merged[-1] = joined
                continue
        merged.append(part.strip())
    return merged


def objects_of(raw: str) -> list[str]:
    """The acceptable objects of a like/dislike/allergy phrase, list items apart."""
    whole = cut_object(raw)
    if not whole or not acceptable_object(whole):
        return []
    out = []
    for part in split_list(whole):
        part = cut_object(part)
        if part and acceptable_object(part):
            out.append(part)
    return out


def capitalise_word(word: str) -> str:
    """ "sam" -> "Sam", "mary-jane" -> "Mary-Jane"; other casing is the user's and is kept."""
    if not word.islower():
        return word
    return "-".join(p[:1].upper() + p[1:] for p in word.split("-"))


def person_name(rest: str, explicit: bool) -> str | None:
    """A person's (or pet's) name at the start of `rest`: one word plus a capitalised surname.

    Without an `explicit` naming phrase ("my name is", "called") the name must be capitalised.
    """
    words = rest.split()[:4]
    if not words:
        return None
    first = words[0].strip(QUOTES)
    ends = first[-1:] in TRAIL_PUNCT
    first = first.rstrip(TRAIL_PUNCT).strip(QUOTES)
    if not first or not WORD_RE.match(first) or first.lower() in NON_NAMES:
        return None
    if not explicit and not first[0].isupper():
        return None
    if explicit and first.isupper() and len(first) > 3:
        first = first.title()
    name = [capitalise_word(first)]
    if not ends and len(words) > 1:
        second = words[1].strip(QUOTES).rstrip(TRAIL_PUNCT)
        if (
            second
            and WORD_RE.match(second)
            and second[0].isupper()
            and second.lower() not in NON_NAMES
        ):
            name.append(second)
    return " ".join(name)


def place_name(raw: str) -> str | None:
    """A place name: cut before time phrases ("last year"), capitalised when all lowercase."""
    match = PLACE_CUT_RE.search(raw)
    text = clean(raw[: match.start()] if match else raw)
    text = clean(TRAILING_MODIFIER_RE.sub("", text))
    words = text.split()
    if not words or len(words) > MAX_OBJECT_WORDS:
        return None
    if words[0].lower() in PRONOUN_OBJECTS or words[0].lower() in NON_PLACE_STARTS:
        return None
    if not any(ch.isalpha() for ch in text):
        return None
    if words[-1].lower() in NON_PLACES and len(words) <= 2:
        return None
    return _capitalise_place(words) if text.islower() else text


def _capitalise_place(words: list[str]) -> str:
    """An all-lowercase place capitalised: "new york" -> "New York", "usa" -> "USA"."""
    fixed = []
    for i, word in enumerate(words):
        if word in PLACE_ACRONYMS:
            fixed.append(word.upper())
        elif (i > 0 or word == "the") and word in PLACE_LOWER_WORDS:
            fixed.append(word)
        else:
            fixed.append(capitalise_word(word))
    return " ".join(fixed)


def join_values(values: list[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    if len(values) <= 1:
        return "".join(values)
    return ", ".join(values[:-1]) + " and " + values[-1]


def allergen(raw: str) -> str:
    """An allergen in its slot form, plural for countable ones ("peanut" -> "peanuts")."""
    text = slot_text(raw)
    return COUNTABLE_ALLERGENS.get(text, text)
