"""Fact rules about the user's life around them, clause -> items: what they study, their field
of work, the dates of their events, and where the people they name live.

- "I study biology at MIT" -> `study` ("studies" = "biology at MIT");
- "I work in marketing" -> `work_field` ("works in" = "marketing"), only for a known field
  ("I work in Lyon" is no field);
- "my exam is on Friday" -> `date:exam` ("exam date" = "Friday"), only for a real date;
- "Alice moved to Lyon last year" -> `location:alice` ("Alice lives in" = "Lyon (moved last
  year)"), only for a capitalised name and a capitalised place ("He lives in Paris" and
  "alice moved to lyon" give nothing).
"""

from __future__ import annotations

from agent.extraction.facts import employer_name, job_phrase
from agent.extraction.items import Extracted
from agent.extraction.life_patterns import (
    DATE_EVENT_RE,
    DATE_START_RE,
    DATE_VALUE_RE,
    FIELD_CUT_RE,
    MOVE_TIME_RE,
    PERSON_PLACE_RE,
    STUDY_CUT_RE,
    STUDY_RE,
    WORK_FIELD_RE,
)
from agent.extraction.life_vocabulary import (
    FIELD_SUFFIXES,
    NON_STUDY_STARTS,
    PERSON_NON_NAMES,
    TIME_WORDS,
    WORK_FIELDS,
)
from agent.extraction.limits import MAX_OBJECT_WORDS
from agent.extraction.patterns import PLACE_CUT_RE, SPACE_RE, TRAILING_MODIFIER_RE, WORD_RE
from agent.extraction.statement_patterns import DATE_CUT_RE
from agent.extraction.values import clean, place_name
from agent.extraction.vocabulary import (
    NON_NAMES,
    PETS,
    PRONOUN_OBJECTS,
    RELATIONS,
    SOCIAL_RELATIONS,
    word_set,
)

_NOT_PERSON = NON_NAMES | PRONOUN_OBJECTS | PERSON_NON_NAMES | set(RELATIONS) | set(PETS)
_NOT_PERSON |= set(SOCIAL_RELATIONS)
_EVENT_MODIFIERS = word_set("next upcoming big coming")
"""Dropped from an event's slot: "my next exam" and "my exam" are one slot."""


def rule_study(clause: str) -> list[Extracted]:
    """ "I study biology at MIT", "I'm studying law", "I'm majoring in physics",
    "my major is history"."""
    match = STUDY_RE.match(clause)
    subject = study_subject(match.group("rest")) if match else None
    return [Extracted("fact", "study", "studies", subject)] if subject else []


def study_subject(rest: str) -> str | None:
    """What "I study ..." names ("biology at MIT", "at MIT"); None for "hard", "every day"."""
    cut = STUDY_CUT_RE.search(rest)
    text = clean(rest[: cut.start()] if cut else rest)
    text = clean(TRAILING_MODIFIER_RE.sub("", text))
    words = text.split()
    if not words or len(words) > MAX_OBJECT_WORDS or not WORD_RE.match(words[0]):
        return None
    first = words[0].lower()
    if first == "at":
        return text if len(words) > 1 and words[1][:1].isupper() else None
    if first in NON_STUDY_STARTS or first in PRONOUN_OBJECTS:
        return None
    return text


def rule_work_field(clause: str) -> list[Extracted]:
    """ "I work in marketing", "I work in the tech industry", "I work in sales at Google"
    (also the employer)."""
    match = WORK_FIELD_RE.match(clause)
    if not match:
        return []
    rest = match.group("rest")
    cut = FIELD_CUT_RE.search(rest)
    field = work_field(rest[: cut.start()] if cut else rest)
    if not field:
        return []
    items = [Extracted("fact", "work_field", "works in", field)]
    prep = cut.group("prep").lower() if cut and cut.group("prep") else ""
    after = rest[cut.end() :].lstrip() if cut else ""
    if prep == "at" or (prep == "for" and after[:1].isupper()):  # not "for 10 years"
        employer = employer_name(after)
        if employer:
            items.append(Extracted("fact", "employer", "works at", employer))
    elif prep == "as":
        job = job_phrase(after)[0]
        if job:
            items.append(Extracted("fact", "job", "job", job))
    return items


def work_field(raw: str) -> str | None:
    """A field of work ("marketing", "tech industry", "IT"), or None for anything else."""
    words = clean(raw).split()
    if words and words[0].lower() == "the":
        words = words[1:]
    if not words or len(words) > 4:
        return None
    check = [w.lower() for w in words]
    while len(check) > 1 and check[-1] in FIELD_SUFFIXES:
        check.pop()
    if check[-1] == "it" and words[len(check) - 1] != "IT":
        return None  # "I work in it" is no IT job
    known = " ".join(check) in WORK_FIELDS or (len(check) <= 3 and check[-1] in WORK_FIELDS)
    return " ".join(words) if known else None


def rule_date(clause: str) -> list[Extracted]:
    """ "my anniversary is June 5", "my exam is on Friday", "my wedding is on 12 August
    2027" -> `date:<event>`."""
    match = DATE_EVENT_RE.match(clause)
    if not match:
        return []
    words = SPACE_RE.sub(" ", match.group("event").lower()).split()
    while len(words) > 1 and words[0] in _EVENT_MODIFIERS:
        words = words[1:]
    if words[0] in PRONOUN_OBJECTS:
        return []
    event = " ".join(words)
    raw = match.group("date")
    cut = DATE_CUT_RE.search(raw)
    date = clean(TRAILING_MODIFIER_RE.sub("", clean(raw[: cut.start()] if cut else raw)))
    if not date or len(date.split()) > 6:
        return []
    if not DATE_START_RE.match(date) or not DATE_VALUE_RE.search(date):
        return []
    key = event if event.endswith("date") else f"{event} date"
    return [Extracted("fact", f"date:{event}", key, date)]


def rule_person_location(clause: str) -> list[Extracted]:
    """ "Tom lives in Berlin", "Alice moved to Lyon last year" -> `location:<name>`."""
    match = PERSON_PLACE_RE.match(clause)
    if not match or not _person_name(match.group("name")):
        return []
    name = SPACE_RE.sub(" ", match.group("name"))
    raw = match.group("place")
    capitalised = raw[:1].isupper() or (raw[:4].lower() == "the " and raw[4:5].isupper())
    place = place_name(raw) if capitalised else None
    if not place or place.split()[0].lower() in TIME_WORDS:
        return []
    cut = PLACE_CUT_RE.search(raw)
    when = MOVE_TIME_RE.match(raw[cut.start() :]) if cut else None
    value = place
    if when:
        time = SPACE_RE.sub(" ", when.group("time"))
        if time.lower().startswith("since"):
            value = f"{place} ({time})"
        elif "moved" in match.group("verb").lower() or "relocated" in match.group("verb").lower():
            value = f"{place} (moved {time})"
    return [Extracted("fact", f"location:{name.casefold()}", f"{name} lives in", value)]


def _person_name(name: str) -> bool:
    """Whether `name` is a person's name: capitalised words, none a pronoun, a relation or
    a common word ("He", "My sister", "Everybody", "Tom's")."""
    for word in name.split():
        lowered = word.lower()
        if not word[:1].isupper() or not WORD_RE.match(word) or lowered in _NOT_PERSON:
            return False
        if lowered.endswith(("'s", "s'")):
            return False
    return True
