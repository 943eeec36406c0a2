"""What the extractor returns: `Extracted` items, and the slots a new item retires."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["preference", "fact", "note"]


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


def conflicting_slots(item: Extracted) -> list[str]:
    """Slots that `item` contradicts and that the writer should retire.

    A like and a dislike (or "doesn't eat") of the same thing exclude each other:
    `likes:mushrooms` -> `["dislikes:mushrooms", "avoids:mushrooms"]`,
    `dislikes:mushrooms` -> `["likes:mushrooms"]`, `avoids:pork` -> `["likes:pork"]`.
    Other slots conflict with nothing (a new value for the same slot is an update).
    """
    family, sep, thing = item.slot.partition(":")
    if not sep or not thing:
        return []
    if family == "likes":
        return [f"dislikes:{thing}", f"avoids:{thing}"]
    if family in ("dislikes", "avoids"):
        return [f"likes:{thing}"]
    return []
