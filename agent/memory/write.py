"""The write path: content-addressed update versus allocation (DNC), and episodic turn memories."""

from __future__ import annotations

import torch

from agent.memory.cache import vector_to_blob
from agent.memory.store import Written
from agent.memory.unit import Unit
from storage import repo
from storage.models import Memory


def address_text(key: str, value: str, with_value: bool) -> str:
    """The text a memory is addressed by: its key, or `key: value` for extracted slots,
    whose short keys ("diet") say too little on their own."""
    return f"{key}: {value}" if with_value and value != key else key


def addressed_with_value(kind: str, source_turn_id: int | None) -> bool:
    """Whether a stored memory's key vector is of `key: value`: extracted memories (those with
    a source turn, accepted proposals included), not turns or memories added by hand."""
    return kind != "turn" and source_turn_id is not None


def write_slot(
    unit: Unit,
    *,
    kind: str,
    slot: str,
    key: str,
    value: str,
    key_vec: torch.Tensor,
    value_vec: torch.Tensor,
    turn_id: int | None = None,
    from_turn: bool = True,
) -> Written | None:
    """Update the memory that holds `slot` (erase + write, old value logged), or allocate one.
    `turn_id` is the turn the change is logged with; a new memory's source turn too unless
    `from_turn` is False (another program's call added it: it was not extracted from a turn).

    Returns None when the memory already holds exactly this key and value.
    """
    existing = repo.find_by_slot(unit.session, unit.profile_id, slot)
    if existing is None:
        memory = unit.add(
            Memory(
                kind=kind,
                slot=slot,
                key_text=key,
                value_text=value,
                key_emb=vector_to_blob(key_vec),
                value_emb=vector_to_blob(value_vec),
                source_turn_id=turn_id if from_turn else None,
            ),
            turn_id=turn_id,
        )
        return Written(memory.id, kind, key, value, "add")
    if (existing.key_text, existing.value_text, existing.kind) == (key, value, kind):
        return None
    existing.kind = kind
    unit.update(existing, key, value, key_vec, value_vec, turn_id=turn_id, from_turn=from_turn)
    return Written(existing.id, kind, key, value, "update")


def write_turn(
    unit: Unit,
    key: str,
    key_vec: torch.Tensor,
    turn_id: int,
    said: tuple[str, torch.Tensor] | None = None,
) -> Memory:
    """The turn as an episodic memory, linked after the previous turn memory (temporal link).
    `said`: its value text and vector when they are not the key's (a chat turn: the words
    alone, while its key has the day and the speaker before them)."""
    value, value_vec = said if said is not None else (key, key_vec)
    return unit.add(
        Memory(
            kind="turn",
            slot=None,
            key_text=key,
            value_text=value,
            key_emb=vector_to_blob(key_vec),
            value_emb=vector_to_blob(value_vec),
            source_turn_id=turn_id,
        ),
        turn_id=turn_id,
    )


def retire_slots(unit: Unit, slots: list[str]) -> list[int]:
    """Forget memories whose slot contradicts a new one (a like replaced by a dislike)."""
    retired = []
    for slot in slots:
        memory = repo.find_by_slot(unit.session, unit.profile_id, slot)
        if memory is not None and not memory.pinned:
            retired.append(memory.id)
            unit.remove(memory, "forget")
    return retired
