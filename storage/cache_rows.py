"""What a reader of one profile's memory loads at once: the rows of its key cache and text
index, in one lean query, and the key terms it computes for rows stored without them.

Kept apart from `storage.repo` (ORM rows, one change at a time): these are bulk reads and
writes by plain driver tuples, for speed at 100k+ memories.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, case, func, select, update
from sqlalchemy.orm import Session

from storage.ids import storable
from storage.models import Memory, Turn
from storage.vector_column import from_vector_send

# (id, kind, key_emb, value_emb or None when it equals key_emb, key_terms, prev_id, next_id,
#  speaker, value_text or None when it equals key_text, when it was said)
CacheRow = tuple[
    int, str, bytes, bytes | None, bytes | None, int | None, int | None, str, str | None, Any
]


def cache_rows(s: Session, profile_id: int) -> list[CacheRow]:
    """What a reader caches of every memory of the profile, by id, in one lean query: the
    speaker is the source turn's ("" when none), and so is the time it was said (the memory's
    own when it has no source turn), as the driver returns it (see `as_datetime`); a value blob
    or text equal to the key's comes back as None (turns: half the bytes to copy)."""
    same_emb = Memory.value_emb == Memory.key_emb
    same_text = Memory.value_text == Memory.key_text
    query = (
        select(
            Memory.id,
            Memory.kind,
            Memory.key_emb,
            case((same_emb, None), else_=Memory.value_emb),
            Memory.key_terms,
            Memory.prev_id,
            Memory.next_id,
            func.coalesce(Turn.speaker, ""),
            case((same_text, None), else_=Memory.value_text),
            func.coalesce(Turn.created_at, Memory.created_at),
        )
        .outerjoin(Turn, Turn.id == Memory.source_turn_id)
        .where(Memory.profile_id == profile_id)
        .order_by(Memory.id)
    )
    return _with_embeddings(s, _plain_rows(s, query))  # type: ignore[arg-type]


def _with_embeddings(s: Session, rows: list[CacheRow]) -> list[CacheRow]:
    """The rows with their vectors as float32 little-endian bytes: PostgreSQL's come in
    pgvector's binary form (storage/vector_column.py), SQLite's already are."""
    if s.connection().dialect.name != "postgresql":
        return rows
    return [
        (i, kind, from_vector_send(key), value and from_vector_send(value), *rest)
        for i, kind, key, value, *rest in rows
    ]


def as_datetime(value: Any) -> datetime | None:
    """A time column as the driver returned it (SQLite: ISO text; others: a datetime)."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _plain_rows(s: Session, query: Select[Any]) -> list[tuple[Any, ...]]:
    """The rows of `query` as the database driver returns them: plain tuples, none of
    SQLAlchemy's row objects and result processing (half the time of a 100k-row load). Only
    for columns whose driver values are already what the caller wants (ints, text, bytes)."""
    connection = s.connection()
    compiled = query.compile(dialect=connection.dialect)
    params = compiled.construct_params()
    if compiled.positional:
        args: Any = tuple(params[name] for name in compiled.positiontup or ())
    else:
        args = params
    cursor = connection.connection.cursor()
    try:
        cursor.execute(str(compiled), args)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def memory_origins(s: Session, memory_ids: Sequence[int]) -> dict[int, tuple[str, datetime]]:
    """The speaker of each memory's source turn and when it was said (memories without a
    source turn are left out)."""
    if not memory_ids:
        return {}
    rows = s.execute(
        select(Memory.id, Turn.speaker, Turn.created_at)
        .join(Turn, Turn.id == Memory.source_turn_id)
        .where(Memory.id.in_(memory_ids))
    ).all()
    return {memory_id: (speaker, said_at) for memory_id, speaker, said_at in rows}


def key_texts(s: Session, memory_ids: Sequence[int]) -> dict[int, str]:
    """The key text of each memory (ids not found are left out)."""
    found: dict[int, str] = {}
    for start in range(0, len(memory_ids), 10_000):  # bound the number of SQL parameters
        chunk = memory_ids[start : start + 10_000]
        rows = s.execute(select(Memory.id, Memory.key_text).where(Memory.id.in_(chunk)))
        found.update({memory_id: key for memory_id, key in rows})
    return found


def store_key_terms(s: Session, terms: Sequence[tuple[int, str, bytes]]) -> None:
    """Store (memory id, key text, key terms): each where the memory still has that key text
    (a key changed meanwhile keeps its terms NULL). Not a memory change: no version bump."""
    if not terms:
        return
    table = Memory.__table__
    s.connection().execute(  # Core executemany: one statement, many rows
        update(table)
        .where(table.c.id == bindparam("m_id"), table.c.key_text == bindparam("m_key"))
        .values(key_terms=bindparam("m_terms")),
        [{"m_id": i, "m_key": k, "m_terms": t} for i, k, t in terms],
    )


def key_values(s: Session, profile_id: int, ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """id -> (key text, value text) of the profile's memories among `ids` (without the
    embeddings a whole row carries)."""
    ids = [i for i in ids if storable(s, i)]
    if not ids:
        return {}
    found = s.execute(
        select(Memory.id, Memory.key_text, Memory.value_text).where(
            Memory.profile_id == profile_id, Memory.id.in_(ids)
        )
    )
    return {i: (k, v) for i, k, v in found}
