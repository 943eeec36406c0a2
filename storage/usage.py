"""The DNC usage of memories as stored: reading it for the profile or for some memories,
and writing the usage a read leaves (agent/memory/unit.py does the arithmetic)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from storage.ids import storable
from storage.models import Memory


@dataclass(frozen=True)
class UsageRow:
    id: int
    usage: float
    used_at: datetime | None
    pinned: bool


def usage_rows(s: Session, profile_id: int) -> list[UsageRow]:
    """(id, usage, used_at, pinned) of every memory of the profile, by id (write order)."""
    rows = s.execute(
        select(Memory.id, Memory.usage, Memory.used_at, Memory.pinned)
        .where(Memory.profile_id == profile_id)
        .order_by(Memory.id)
    ).all()
    return [UsageRow(i, float(u or 0.0), t, bool(p)) for i, u, t, p in rows]


def usage_rows_of(
    s: Session, profile_id: int, ids: Sequence[int]
) -> list[tuple[int, float, datetime | None]]:
    """(id, usage, used_at) of the profile's memories among `ids`."""
    ids = [i for i in ids if storable(s, i)]
    if not ids:
        return []
    found = s.execute(
        select(Memory.id, Memory.usage, Memory.used_at).where(
            Memory.profile_id == profile_id, Memory.id.in_(ids)
        )
    )
    return [(i, float(u or 0.0), t) for i, u, t in found]


def set_usage(s: Session, rows: Sequence[tuple[int, float, datetime]]) -> None:
    """Set (id, usage, used_at) in one statement; a loaded Memory of those ids gets them too."""
    if not rows:
        return
    table = Memory.__table__
    statement = (
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values(usage=bindparam("row_usage"), used_at=bindparam("row_used_at"))
    )
    s.connection().execute(
        statement, [{"row_id": i, "row_usage": u, "row_used_at": t} for i, u, t in rows]
    )
    for i, usage, used_at in rows:
        loaded = s.identity_map.get(identity_key(Memory, i))
        if loaded is not None:
            set_committed_value(loaded, "usage", usage)
            set_committed_value(loaded, "used_at", used_at)
