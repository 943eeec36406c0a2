"""What the extractor returns: `Extracted` items (and the slots a new item retires),
`Retraction`s and `ForgetRequest`s."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

Kind = Literal["preference", "fact", "note"]

# The slots of what another person said of themselves: `person:<name>:<their slot>`.
PERSON = "person:"


@dataclass(frozen=True)
class Extracted:
    """One statement the user made about themselves.

    `slot` is the identity of the thing the memory is about (a new value for the same slot
    updates the memory), `key` the short human-readable key shown to users and embedded for
    retrieval, and `value` the value text.
    """

    kind: Kind
    slot: str
    key: str
    value: str


@dataclass(frozen=True)
class Retraction:
    """A statement that something the user said earlier is no longer true.

    `slot` is the slot of the retired memory ("location", "likes:jazz", "plan:go to japan");
    `value` the value said to be no longer true ("Lyon" in "I don't live in Lyon anymore"),
    or None when the statement names none ("I quit my job"): the writer then retires the slot
    whatever it holds.
    """

    slot: str
    value: str | None


@dataclass(frozen=True)
class ForgetRequest:
    """The user asks to forget something: "forget that I like jazz" -> ("I like jazz", False).

    `about` is what to forget, as the user wrote it; `everything` is True for "forget
    everything (you know) about X", which covers every memory that mentions X.
    """

    about: str
    everything: bool


def conflicting_slots(item: Extracted) -> list[str]:
    """Slots that `item` contradicts and that the writer should retire.

    A like and a dislike (or "doesn't eat") of the same thing exclude each other:
    `likes:mushrooms` -> `["dislikes:mushrooms", "avoids:mushrooms"]`,
    `dislikes:mushrooms` -> `["likes:mushrooms"]`, `avoids:pork` -> `["likes:pork"]`.
    Other slots conflict with nothing (a new value for the same slot is an update).
    """
    person, slot = "", item.slot
    if slot.startswith(PERSON):  # another person's like excludes their own dislike
        name, _, slot = slot.removeprefix(PERSON).partition(":")
        person = f"{PERSON}{name}:"
    family, sep, thing = slot.partition(":")
    if not sep or not thing:
        return []
    if family == "likes":
        return [f"{person}dislikes:{thing}", f"{person}avoids:{thing}"]
    if family in ("dislikes", "avoids"):
        return [f"{person}likes:{thing}"]
    return []


def said_by(item: Extracted, person: str) -> Extracted:
    """`item` as what `person` (not the user) said of themselves: its slot under
    `person:<name>:` and its key after their name ("Melanie likes" = "hiking"), so the user's
    slots and each other person's never overwrite one another."""
    name = " ".join(person.replace(":", " ").split())
    slot = f"{PERSON}{name.casefold()}:{item.slot}"
    return replace(item, slot=slot, key=f"{name} {item.key}")
