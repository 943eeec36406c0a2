"""Retraction rules, clause -> `Retraction`s: statements that something is no longer true.

A negation is a retraction only when it says the thing was true before: "no longer",
"anymore", "any more", "after all", or a verb of stopping ("I stopped running", "I quit my
job", "I cancelled my trip to Japan", "I broke up with Alex"). "I don't live in Lyon" is a
plain statement and gives none.

Slots are those of the items the statement retires:
- "I don't live in Lyon anymore", "I moved away from Lyon" -> ("location", "Lyon");
- "I no longer work at Google" -> ("employer", "Google"); "I'm not a nurse anymore",
  "I no longer work as a nurse" -> ("job", None); "I quit my job", "I got fired" -> ("job",
  None) and ("employer", None) (or the employer they name);
- "I don't like jazz anymore", "I'm not into jazz any more" -> ("likes:jazz", None);
- "I stopped running every morning", "I don't run anymore" -> ("habit:run", None);
- "I'm not going to Japan after all", "I cancelled my trip to Japan" -> ("plan:go to japan",
  None); "I'm not getting married anymore" -> ("plan:get married", None);
- "I'm no longer with Alex", "I broke up with Alex", "Alex and I split up" ->
  ("relation:partner", "Alex"); with "my girlfriend" or "him" -> ("relation:partner", None);
- "I don't have a dog anymore" -> ("pet:dog", None); "I no longer study law" -> ("study",
  "law"); "I don't work in marketing anymore" -> ("work_field", "marketing").
Diets are left to the diet items ("I'm not vegan anymore" is the diet "not vegan").
"""

from __future__ import annotations

import re
from collections.abc import Callable

from agent.extraction.activities import activity, activity_slot, base_verb, present_verb
from agent.extraction.facts import employer_name, job_phrase
from agent.extraction.items import Retraction
from agent.extraction.life_facts import study_subject, work_field
from agent.extraction.patterns import SPACE_RE
from agent.extraction.plans import plan_of, read_plan
from agent.extraction.retraction_patterns import (
    AFTER_ALL_RE,
    AS_JOB_RE,
    AT_EMPLOYER_RE,
    BREAK_UP_RE,
    BROKE_UP_PAIR_RE,
    CANCEL_RE,
    CANCELLED_PLAN_RE,
    CANCELLED_TRIP_RE,
    CANCELLED_WEDDING_RE,
    FIRED_RE,
    HAVE_A_RE,
    IM_GERUND_RE,
    IM_JOB_RE,
    IM_LIKE_RE,
    IM_PLACE_RE,
    IM_PLAN_RE,
    IM_RELATIONSHIP_RE,
    IM_STUDY_RE,
    IM_WITH_RE,
    IM_WORK_RE,
    IN_PLACE_RE,
    LIKE_VERB_RE,
    MOVED_AWAY_RE,
    MY_PARTNER_RE,
    NEG_I_RE,
    NEG_IM_RE,
    NO_LONGER_MARKER_RE,
    PLAN_VERB_RE,
    QUIT_JOB_RE,
    SINGLE_RE,
    STOP_RE,
)
from agent.extraction.values import clean, objects_of, person_name, place_name, slot_text
from agent.extraction.vocabulary import PARTNER_ROLES, PETS, SOCIAL_RELATIONS, word_set

_LIKE_VERBS = word_set("like love enjoy adore fancy dig")
_PARTNER_PRONOUNS = word_set("him her them")
_PARTNER_WORDS = PARTNER_ROLES | {"significant other"} | {"fiance", "fiancee"}
_NOT_HABIT_GERUNDS = word_set("live work study see date get have plan")
"""Verbs of "I'm no longer ...-ing" that are read by other rules or state no habit."""


def read_retractions(clause: str) -> list[Retraction]:
    """The retractions one (prepared) clause states; the first rule that reads it wins."""
    for rule in _RULES:
        found = rule(clause)
        if found:
            return found
    return []


def _neg(match: re.Match[str]) -> str:
    """The negation of a match, normalised ("No  longer" -> "no longer")."""
    return SPACE_RE.sub(" ", match.group("neg").lower())


def _unmarked(text: str) -> str:
    """`text` cut before "anymore", "any more", "after all", ..."""
    match = NO_LONGER_MARKER_RE.search(text)
    return text[: match.start()] if match else text


def _location(raw: str) -> list[Retraction]:
    place = place_name(_unmarked(raw))
    return [Retraction("location", place)] if place else []


def _likes(raw: str) -> list[Retraction]:
    return [Retraction("likes:" + slot_text(obj), None) for obj in objects_of(_unmarked(raw))]


def _habit(verb: str, rest: str) -> list[Retraction]:
    what = activity(verb, _unmarked(rest)) if present_verb(verb) else None
    return [Retraction("habit:" + activity_slot(what), None)] if what else []


def _plan(plan: tuple[str, str] | None) -> list[Retraction]:
    return [Retraction("plan:" + plan[0], None)] if plan else []


def _work(rest: str) -> list[Retraction]:
    """After "work"/"working": "at Google", "as a nurse", "in marketing"."""
    rest = _unmarked(rest)
    match = AT_EMPLOYER_RE.match(rest)
    if match:
        employer = employer_name(match.group("employer"))
        return [Retraction("employer", employer)] if employer else []
    if AS_JOB_RE.match(rest):
        return [Retraction("job", None)]
    match = IN_PLACE_RE.match(rest)
    field = work_field(match.group("place")) if match else None
    return [Retraction("work_field", field)] if field else []


def _partner(raw: str) -> list[Retraction]:
    """ "Alex" -> ("relation:partner", "Alex"); "my girlfriend", "him" -> (..., None)."""
    who = clean(_unmarked(raw))
    if MY_PARTNER_RE.match(who) or who.lower() in _PARTNER_PRONOUNS:
        return [Retraction("relation:partner", None)]
    name = person_name(who, explicit=False)
    return [Retraction("relation:partner", name)] if name else []


def _job_lost(employer_raw: str | None) -> list[Retraction]:
    employer = employer_name(employer_raw) if employer_raw else None
    return [Retraction("job", None), Retraction("employer", employer)]


def _quit_job(clause: str) -> list[Retraction]:
    """ "I quit my job (at Google)", "I lost my job", "I got fired", "I was laid off"."""
    match = QUIT_JOB_RE.match(clause) or FIRED_RE.match(clause)
    return _job_lost(match.group("employer")) if match else []


def _stopped(clause: str) -> list[Retraction]:
    """ "I stopped running every morning", "I quit smoking", "I gave up on learning Spanish"."""
    match = STOP_RE.match(clause)
    verb = base_verb(match.group("ger")) if match else None
    if not match or not verb:
        return []
    rest = match.group("rest")
    if verb in _LIKE_VERBS:
        return _likes(rest)
    if verb == "work":
        return _work(rest)
    if verb == "live":
        place = IN_PLACE_RE.match(rest)
        return _location(place.group("place")) if place else []
    if verb in ("see", "date"):
        return _partner(rest)
    found = _habit(verb, rest)
    if "on" in match.group("verb").lower().split():
        found += _plan(plan_of(verb, _unmarked(rest)))
    return found


def _cancelled(clause: str) -> list[Retraction]:
    """ "I cancelled my trip to Japan", "we called off the wedding", "I dropped my plan to
    learn Spanish"."""
    match = CANCEL_RE.match(clause)
    if not match:
        return []
    what = match.group("what")
    trip = CANCELLED_TRIP_RE.match(what)
    if trip:
        return _plan(plan_of("go", " to " + trip.group("place")))
    if CANCELLED_WEDDING_RE.match(what):
        return [Retraction("plan:get married", None)]
    plan = CANCELLED_PLAN_RE.match(what)
    return _plan(plan_of(plan.group("verb"), plan.group("rest"))) if plan else []


def _moved_away(clause: str) -> list[Retraction]:
    """ "I moved away from Lyon", "I moved out of Paris", "I moved from Lyon to Paris"."""
    match = MOVED_AWAY_RE.match(clause)
    return _location(match.group("place")) if match else []


def _broke_up(clause: str) -> list[Retraction]:
    """ "I broke up with Alex", "I split up with my girlfriend", "I'm single again"."""
    match = BREAK_UP_RE.match(clause)
    if match:
        return _partner(match.group("who") or match.group("who2"))
    return [Retraction("relation:partner", None)] if SINGLE_RE.match(clause) else []


def read_pair_break_up(sentence: str) -> list[Retraction]:
    """ "Alex and I broke up", "My girlfriend and I split up": read on the whole sentence,
    as clauses are cut before "and I"."""
    match = BROKE_UP_PAIR_RE.match(sentence)
    if not match:
        return []
    who = match.group("who")
    if not who[:1].isupper() and not who.lower().startswith("my"):
        return []
    return _partner(who)


def _negated_i(clause: str) -> list[Retraction]:
    """ "I don't live in Lyon anymore", "I no longer work at Google", "I don't like jazz any
    more", "I don't run anymore", "I won't run a marathon after all"."""
    match = NEG_I_RE.match(clause)
    if not match:
        return []
    neg, verb, rest = _neg(match), match.group("verb").lower(), match.group("rest")
    if neg != "no longer" and not NO_LONGER_MARKER_RE.search(rest):
        return []
    if neg in ("won't", "wont", "will not"):
        return _plan(plan_of(verb, _unmarked(rest)))
    if verb in ("live", "reside"):
        place = IN_PLACE_RE.match(rest)
        return _location(place.group("place")) if place else []
    if verb == "work":
        return _work(rest)
    like = LIKE_VERB_RE.match(verb + rest)
    if like:
        return _likes(like.group("obj"))
    if verb == "study":
        subject = study_subject(_unmarked(rest))
        return [Retraction("study", subject)]
    if verb == "have":
        return _have(rest)
    if verb in ("plan", "intend", "want"):
        plan = PLAN_VERB_RE.match(_unmarked(rest))
        return _plan(plan_of(plan.group("verb"), plan.group("rest"))) if plan else []
    return _habit(verb, rest)


def _have(rest: str) -> list[Retraction]:
    """ "I don't have a dog / a girlfriend / a job anymore"."""
    match = HAVE_A_RE.match(rest)
    if not match:
        return []
    what = match.group("what").lower()
    for thing in (what, what.split()[0]):
        if thing in _PARTNER_WORDS:
            return [Retraction("relation:partner", None)]
        if thing in PETS:
            return [Retraction(f"pet:{PETS[thing]}", None)]
        if thing == "job":
            return _job_lost(None)
        if thing in SOCIAL_RELATIONS:
            return [Retraction(f"relation:{SOCIAL_RELATIONS[thing]}", None)]
    return []


def _negated_im(clause: str) -> list[Retraction]:
    """ "I'm not a nurse anymore", "I'm not into jazz any more", "I'm no longer with Alex",
    "I'm not going to Japan after all", "I'm not getting married anymore"."""
    match = NEG_IM_RE.match(clause)
    if not match:
        return []
    rest = match.group("rest")
    if _neg(match) != "no longer" and not NO_LONGER_MARKER_RE.search(rest):
        return []
    statement = _unmarked(rest).strip()
    found = _im_statement(statement)
    if AFTER_ALL_RE.search(rest):
        return found  # "after all" cancels a plan, not a habit
    gerund = IM_GERUND_RE.match(statement)
    verb = base_verb(gerund.group("ger")) if gerund else None
    if not gerund or not verb or verb in _NOT_HABIT_GERUNDS:
        return found
    if IM_PLAN_RE.match(statement) and not any(r.slot.startswith("plan:go to ") for r in found):
        return found  # "I'm not going to learn Spanish anymore": a plan only
    return found + [r for r in _habit(verb, gerund.group("rest")) if r not in found]


def _im_statement(rest: str) -> list[Retraction]:
    """What "I'm not <rest>" retracts (rest without "anymore")."""
    if IM_PLAN_RE.match(rest):
        return _plan(read_plan("I'm " + rest, dated=False))
    match = IM_LIKE_RE.match(rest)
    if match:
        return _likes(match.group("obj"))
    match = IM_PLACE_RE.match(rest)
    if match:
        return _location(match.group("place"))
    match = IM_WORK_RE.match(rest)
    if match:
        return _work(match.group("rest"))
    match = IM_WITH_RE.match(rest)
    if match:
        return _partner(match.group("who"))
    if IM_RELATIONSHIP_RE.match(rest):
        return [Retraction("relation:partner", None)]
    match = IM_STUDY_RE.match(rest)
    if match:
        return [Retraction("study", study_subject(match.group("rest")))]
    match = IM_JOB_RE.match(rest)
    if match:
        return [Retraction("job", None)] if job_phrase(match.group("job"))[0] else []
    if IM_GERUND_RE.match(rest):
        return _plan(read_plan("I'm " + rest, dated=False))
    return []


_RULES: tuple[Callable[[str], list[Retraction]], ...] = (
    _quit_job,
    _stopped,
    _cancelled,
    _moved_away,
    _broke_up,
    _negated_i,
    _negated_im,
)
