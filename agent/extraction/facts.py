"""Fact rules, clause -> items: where the user lives, their work, family, pets, age, birthday."""

from __future__ import annotations

from agent.extraction.items import Extracted
from agent.extraction.limits import MAX_OBJECT_WORDS
from agent.extraction.patterns import SPACE_RE, TRAILING_MODIFIER_RE
from agent.extraction.statement_patterns import (
    AGE_RE,
    BIRTHDAY_RE,
    BORN_YEAR_RE,
    CALL_HOME_RE,
    DATE_CUT_RE,
    EMPLOYER_RE,
    EMPLOYER_TAIL_RE,
    FAMILY_HAVE_RE,
    FAMILY_MY_RE,
    FAMILY_REV_RE,
    HOMETOWN_RE,
    JOB_AS_RE,
    JOB_IM_RE,
    JOB_MY_RE,
    JOB_STATUS_RE,
    JOB_TAIL_RE,
    JOB_WORK_AS_RE,
    LOCATION_RE,
    MONTH_RE,
)
from agent.extraction.values import clean, person_name, place_name
from agent.extraction.vocabulary import (
    AMBIGUOUS_JOBS,
    JOB_REJECT_MODIFIERS,
    JOBS,
    NON_EMPLOYER_STARTS,
    PARTNER_ROLES,
    PETS,
    PRONOUN_OBJECTS,
    RELATION_MODIFIERS,
    RELATIONS,
    SOCIAL_RELATIONS,
)


def rule_location(clause: str) -> list[Extracted]:
    """ "I live in Lyon", "I moved to Berlin", "I'm based in Tokyo" (location);
    "I'm from Paris", "I grew up in Rome" (hometown)."""
    match = LOCATION_RE.match(clause) or CALL_HOME_RE.match(clause)
    if match:
        place = place_name(match.group("place"))
        return [Extracted("fact", "location", "lives in", place)] if place else []
    match = HOMETOWN_RE.match(clause)
    if match:
        place = place_name(match.group("place"))
        return [Extracted("fact", "hometown", "from", place)] if place else []
    return []


def job_phrase(raw: str) -> tuple[str | None, str | None]:
    """(job, employer) from "a senior nurse at St Mary's": the job must end in a job noun."""
    match = JOB_TAIL_RE.search(raw)
    job = clean(raw[: match.start()] if match else raw)
    employer = None
    if match and match.group("prep") and match.group("prep").lower() in ("at", "for"):
        employer = employer_name(raw[match.end() :])
    words = job.split()
    if not words or len(words) > 5:
        return None, employer
    lowered = [w.lower() for w in words]
    if lowered[0] in JOB_REJECT_MODIFIERS:
        return None, employer
    head = lowered[-1]
    if head not in JOBS or (head in AMBIGUOUS_JOBS and len(words) < 2):
        return None, employer
    return job, employer


def employer_name(raw: str) -> str | None:
    """An employer name: cut before "as ...", "since ...", "now", ..."""
    match = EMPLOYER_TAIL_RE.search(raw)
    text = clean(raw[: match.start()] if match else raw)
    words = text.split()
    if not words or len(words) > MAX_OBJECT_WORDS:
        return None
    if words[0].lower() in PRONOUN_OBJECTS or words[0].lower() in NON_EMPLOYER_STARTS:
        return None
    return text if any(ch.isalpha() for ch in text) else None


def rule_work(clause: str) -> list[Extracted]:
    """ "I work as a nurse", "I'm a software engineer", "I work at Google (as ...)",
    "my job is ...", "I'm retired"."""
    job, employer = _job_and_employer(clause)
    items: list[Extracted] = []
    if job:
        items.append(Extracted("fact", "job", "job", job))
    if employer:
        items.append(Extracted("fact", "employer", "works at", employer))
    return items


def _job_and_employer(clause: str) -> tuple[str | None, str | None]:
    """The (job, employer) a work statement names; either may be None."""
    match = EMPLOYER_RE.match(clause)
    if match:
        raw = match.group("employer")
        tail = EMPLOYER_TAIL_RE.search(raw)
        job = job_phrase(tail.group("job"))[0] if tail and tail.group("job") else None
        return job, employer_name(raw)
    if JOB_WORK_AS_RE.match(clause) or JOB_MY_RE.match(clause):
        match = JOB_AS_RE.match(clause)
        return job_phrase(match.group("job")) if match else (None, None)
    match = JOB_IM_RE.match(clause)
    if match:
        return job_phrase(match.group("job"))
    status = JOB_STATUS_RE.match(clause)
    if status:
        return SPACE_RE.sub(" ", status.group("status").lower()), None
    return None, None


def _squeeze(text: str) -> str:
    """`text` without spaces and hyphens, so "co-worker", "co worker", "coworker" are one."""
    return text.replace(" ", "").replace("-", "")


_SOCIAL_ROLES = {_squeeze(role): label for role, label in SOCIAL_RELATIONS.items()}


def _family_item(mod: str | None, rel: str, name: str) -> Extracted | None:
    """The item for "my <mod> <rel> is <name>": family:<rel>, relation:<role> or pet:<animal>.

    Romantic partners (partner, girlfriend, fiancé, ...) share `relation:partner`, the role
    being the key; a modifier on a non-family role ("my little boss") gives nothing.
    """
    rel_key = SPACE_RE.sub(" ", rel.lower())
    modifier = RELATION_MODIFIERS.get(mod.lower(), "") if mod else ""
    social = _SOCIAL_ROLES.get(_squeeze(rel_key))
    if social:
        if modifier:
            return None
        slot = "partner" if social in PARTNER_ROLES else social
        return Extracted("fact", f"relation:{slot}", social, name)
    rel_key = rel_key.replace("-", " ")
    if rel_key in PETS and rel_key not in RELATIONS:
        label = PETS[rel_key]
        return Extracted("fact", f"pet:{label}", label, name)
    label = RELATIONS.get(rel_key, rel_key)
    if modifier:
        label = f"{modifier}{'' if modifier == 'step' else ' '}{label}"
    return Extracted("fact", f"family:{label}", label, name)


def rule_family(clause: str) -> list[Extracted]:
    """ "My sister is Alice", "my sister's name is Alice", "my son is called Leo",
    "I have a brother named Tom", "my dog's name is Rex", "Alice is my sister",
    "My wife, Maria, ...", and the same for other people ("my boss is Karen")."""
    item = _family_statement(clause)
    return [item] if item else []


def _family_statement(clause: str) -> Extracted | None:
    """The one family, relation or pet item of `clause`, if any."""
    match = FAMILY_MY_RE.match(clause)
    if match:
        link = SPACE_RE.sub(" ", match.group("link").strip().lower())
        explicit = link not in ("is", "'s", ",")
        name = person_name(match.group("rest"), explicit=explicit)
        if name and link == ",":
            after = match.group("rest")[len(name) :].lstrip()
            if not after.startswith(",") and after:
                name = None
        return _family_item(match.group("mod"), match.group("rel"), name) if name else None
    match = FAMILY_HAVE_RE.match(clause)
    if match:
        name = person_name(match.group("rest"), explicit=True)
        return _family_item(match.group("mod"), match.group("rel"), name) if name else None
    match = FAMILY_REV_RE.match(clause)
    if match:
        name = person_name(match.group("name"), explicit=False)
        if name and name.split()[0].lower() not in ("she", "he", "this", "that", "it"):
            return _family_item(match.group("mod"), match.group("rel"), name)
    return None


def rule_age(clause: str) -> list[Extracted]:
    """ "I'm 34 (years old)", "I just turned 40", "my age is 34", "I was born in 1990"."""
    match = AGE_RE.match(clause)
    if match:
        age = int(match.group("age"))
        bare = (
            match.group("unit") is None
            and clause[:2].lower() != "my"
            and "turned" not in clause.lower()[:20]
        )
        if 0 < age <= 130 and not (bare and age < 5):
            return [Extracted("fact", "age", "age", str(age))]
        return []
    match = BORN_YEAR_RE.match(clause)
    if match:
        return [Extracted("fact", "birth_year", "born in", match.group("year"))]
    return []


def rule_birthday(clause: str) -> list[Extracted]:
    """ "My birthday is May 3", "my bday's on the 3rd of May", "I was born on 3 May 1990"."""
    match = BIRTHDAY_RE.match(clause)
    if not match:
        return []
    raw = match.group("date")
    cut = DATE_CUT_RE.search(raw)
    date = clean(raw[: cut.start()] if cut else raw)
    date = clean(TRAILING_MODIFIER_RE.sub("", date))
    words = date.split()
    if not words or len(words) > 5 or words[0].lower() in PRONOUN_OBJECTS:
        return []
    if not any(ch.isdigit() for ch in date) and not MONTH_RE.search(date):
        return []
    return [Extracted("fact", "birthday", "birthday", date)]
