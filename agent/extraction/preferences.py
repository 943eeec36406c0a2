"""Preference rules, clause -> items: name, diet, avoided foods, allergies, likes, favourites."""

from __future__ import annotations

import re

from agent.extraction.items import Extracted
from agent.extraction.patterns import SPACE_RE, TRAIL_PUNCT, WORD_RE
from agent.extraction.statement_patterns import (
    ALLERGIC_RE,
    ALLERGY_HAVE_RE,
    ALLERGY_MY_RE,
    AVOID_RE,
    CATEGORY_TRIM_RE,
    DIET_IM_RE,
    DIET_MORE_RE,
    DIET_MY_RE,
    DIET_VERB_RE,
    DISLIKE_RE,
    FAVORITE_RE,
    FAVORITE_REV_RE,
    INTOLERANCE_HAVE_RE,
    INTOLERANT_RE,
    LIKE_RE,
    MEAT_RE,
    NAME_CALL_ME_RE,
    NAME_EXPLICIT_RE,
    NAME_IM_RE,
)
from agent.extraction.values import (
    acceptable_object,
    allergen,
    clean,
    cut_object,
    join_values,
    objects_of,
    person_name,
    slot_text,
)
from agent.extraction.vocabulary import (
    CATEGORY_SPELLINGS,
    COUNTABLE_ALLERGENS,
    NON_NAMES,
    NOT_INTOLERANCES,
    PRONOUN_OBJECTS,
    word_set,
)

_NOT_FOOD_STARTS = word_set("my your his her their our the a an this that on")
"""What "I stopped/quit/gave up ..." is followed by when it gives up no food or drink."""


def rule_name(clause: str) -> list[Extracted]:
    """ "My name is Sam", "call me Sam", "I am called Sam", "I go by Sam", "I'm Sam"."""
    name = None
    match = NAME_EXPLICIT_RE.match(clause)
    if match:
        name = person_name(match.group("rest"), explicit=True)
    else:
        match = NAME_CALL_ME_RE.match(clause)
        if match:
            rest = match.group("rest")
            only_name = len(clean(rest).split()) == 1
            name = person_name(rest, explicit=only_name)
        else:
            match = NAME_IM_RE.match(clause)
            if match and not clause.isupper():
                first, last = match.group("first"), match.group("last")
                if last is None or (last[:1].isupper() and last.lower() not in NON_NAMES):
                    full = first if last is None else f"{first} {last}"
                    name = person_name(full, explicit=False)
    return [Extracted("preference", "name", "name", name)] if name else []


def _diet_item(match: re.Match[str], negated: bool = False) -> list[Extracted]:
    """The diet item of a diet match, with any further diets ("vegan and gluten-free")."""
    diets = [clean(SPACE_RE.sub(" ", match.group("diet"))).lower()]
    rest = match.group("rest")
    for _ in range(4):
        more = DIET_MORE_RE.match(rest)
        if not more:
            break
        diets.append(clean(SPACE_RE.sub(" ", more.group("diet"))).lower())
        rest = rest[more.end() :]
    diets = [d for i, d in enumerate(diets) if d not in diets[:i]]
    value = join_values(diets)
    if negated:
        value = "not " + value
    return [Extracted("preference", "diet", "diet", value)]


def rule_diet(clause: str) -> list[Extracted]:
    """ "I'm (a) vegetarian", "I follow a keto diet", "my diet is vegan", "I'm not vegan"."""
    match = DIET_IM_RE.match(clause)
    if match:
        return _diet_item(match, negated=bool(match.group("neg")))
    match = DIET_VERB_RE.match(clause) or DIET_MY_RE.match(clause)
    if match:
        return _diet_item(match)
    return []


def rule_avoid(clause: str) -> list[Extracted]:
    """ "I don't eat meat" (diet), "I don't eat pork" / "I don't drink alcohol" (avoids)."""
    match = AVOID_RE.match(clause)
    if not match:
        return []
    if match.group("obj2") is not None and match.group("verb2") is None:
        first = match.group("obj2").split(" ", 1)[0].lower()
        if first.endswith("ing") or first in _NOT_FOOD_STARTS:
            return []  # "I quit smoking", "I quit my job": no food (see `retraction_rules`)
    verb = (match.group("verb") or match.group("verb2") or "eat").lower()
    verb = {"eating": "eat", "drinking": "drink", "consume": "eat", "touch": "eat"}.get(verb, verb)
    raw = match.group("obj") if match.group("obj") is not None else match.group("obj2")
    whole = cut_object(raw)
    if whole and MEAT_RE.match(whole) and verb == "eat":
        return [Extracted("preference", "diet", "diet", f"doesn't eat {whole.lower()}")]
    items = []
    for obj in objects_of(raw):
        if MEAT_RE.match(obj) and verb == "eat":
            items.append(Extracted("preference", "diet", "diet", f"doesn't eat {obj.lower()}"))
        else:
            items.append(
                Extracted("preference", "avoids:" + slot_text(obj), f"doesn't {verb}", obj)
            )
    return items


def rule_allergy(clause: str) -> list[Extracted]:
    """ "I'm allergic to peanuts (and shellfish)", "I have a peanut allergy", "my allergies
    are ...", plus intolerances ("I'm lactose intolerant")."""
    items = [
        Extracted(
            "preference",
            f"allergy:{allergen(obj)}",
            "allergy",
            COUNTABLE_ALLERGENS.get(obj.lower(), obj),
        )
        for obj in _allergens(clause)
    ]
    return items + _intolerances(clause)


def _allergens(clause: str) -> list[str]:
    """What an allergy statement names ("peanuts and shellfish" -> two allergens)."""
    match = ALLERGIC_RE.match(clause) or ALLERGY_MY_RE.match(clause)
    if match:
        return objects_of(match.group("obj"))
    match = ALLERGY_HAVE_RE.match(clause)
    if match and match.group("obj") is not None:
        return objects_of(match.group("obj"))
    if match:
        return [COUNTABLE_ALLERGENS.get(match.group("obj2").lower(), match.group("obj2"))]
    return []


def _intolerances(clause: str) -> list[Extracted]:
    """ "I'm lactose intolerant", "I'm intolerant to gluten", "I have a gluten intolerance"."""
    match = INTOLERANT_RE.match(clause) or INTOLERANCE_HAVE_RE.match(clause)
    if not match:
        return []
    obj = match.group("adj") if match.group("adj") else None
    objects = [obj] if obj else objects_of(match.groupdict().get("obj") or "")
    return [
        Extracted("preference", f"intolerance:{slot_text(thing)}", "intolerant to", thing.lower())
        for thing in objects
        if thing.lower() not in NOT_INTOLERANCES
    ]


def rule_likes(clause: str) -> list[Extracted]:
    """ "I love hiking", "I'm a big fan of Star Wars", "I hate mushrooms", "I don't like X"."""
    match = DISLIKE_RE.match(clause)
    family, key = "dislikes", "dislikes"
    if not match:
        match = LIKE_RE.match(clause)
        family, key = "likes", "likes"
    if not match:
        return []
    return [
        Extracted("preference", f"{family}:{slot_text(obj)}", key, obj)
        for obj in objects_of(match.group("obj"))
    ]


def _category(raw: str | None) -> str | None:
    """A favourite's category ("kind of music" -> "music"), or None when too long."""
    if raw is None:
        return ""
    text = SPACE_RE.sub(" ", raw.casefold()).strip().strip(TRAIL_PUNCT)
    for _ in range(2):
        text = CATEGORY_TRIM_RE.sub("", text).strip()
    words = [CATEGORY_SPELLINGS.get(w, w) for w in text.split()]
    if not words or len(words) > 3 or not all(WORD_RE.match(w) for w in words):
        return None
    if words[0] in PRONOUN_OBJECTS:
        return None
    if words[0] in ("thing", "things", "part", "activity", "hobby"):
        return ""  # "my favourite thing is hiking" is a plain like
    return " ".join(words)


def rule_favorite(clause: str) -> list[Extracted]:
    """ "My favourite food is sushi", "Sushi is my favorite food", "my favorite is jazz"."""
    match = FAVORITE_RE.match(clause)
    if match:
        category, raw = _category(match.group("cat")), match.group("obj")
    else:
        match = FAVORITE_REV_RE.match(clause)
        if not match or match.group("obj").lower().startswith(("my ", "i ")):
            return []
        category, raw = _category(match.group("cat")), match.group("obj")
    if category is None:
        return []
    obj = cut_object(raw)
    if not obj or not acceptable_object(obj):
        return []
    if not category:
        return [Extracted("preference", f"likes:{slot_text(obj)}", "likes", obj)]
    return [Extracted("preference", f"favorite:{category}", f"favorite {category}", obj)]
