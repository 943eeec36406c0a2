"""Export and import as JSON Lines: a lossless round trip of profiles and everything in them.

The first line is a header; every other line is one row: `{"type": TABLE, ...columns}`, with
datetimes in ISO format and BLOBs (embeddings) in base64. Import runs in one transaction:
a malformed file writes nothing. Ids are kept where they are free in the target database and
remapped otherwise, with every reference (turn, memory, link, provenance) remapped alike.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.db import StorageError
from storage.models import (
    Base,
    ChatSession,
    Memory,
    MemoryEvent,
    Profile,
    Proposal,
    Turn,
    TurnRead,
)

FORMAT = "memchat-export"
VERSION = 1
# Export order: every row comes after the rows it refers to.
TABLES: list[type[Base]] = [Profile, ChatSession, Turn, Memory, MemoryEvent, TurnRead, Proposal]
TYPE_OF = {model.__tablename__: model for model in TABLES}


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return {"b64": base64.b64encode(value).decode("ascii")}
    return value


def _decode(column_type: str, value: Any) -> Any:
    if value is None:
        return None
    if column_type == "DATETIME":
        return datetime.fromisoformat(value)
    if isinstance(value, dict) and "b64" in value:
        return base64.b64decode(value["b64"], validate=True)
    return value


def row_to_dict(row: Base) -> dict[str, Any]:
    data: dict[str, Any] = {"type": row.__tablename__}
    for column in row.__table__.columns:
        data[column.name] = _encode(getattr(row, column.name))
    return data


def _rows(s: Session, model: type[Base], profile_ids: list[int]) -> Iterator[Base]:
    if model is Profile:
        query = select(Profile).where(Profile.id.in_(profile_ids))
    elif model is TurnRead:
        turns = select(Turn.id).where(Turn.profile_id.in_(profile_ids))
        query = select(TurnRead).where(TurnRead.turn_id.in_(turns))
    else:
        query = select(model).where(model.profile_id.in_(profile_ids))  # type: ignore[attr-defined]
    yield from s.scalars(query.order_by(model.id))  # type: ignore[attr-defined]


def export_profiles(s: Session, profile_ids: list[int], path: Path) -> dict[str, int]:
    """Write the profiles' rows to `path` (owner-only, replaced atomically); returns counts."""
    counts = {model.__tablename__: 0 for model in TABLES}
    tmp = path.with_name(path.name + ".part")
    try:
        fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(json.dumps({"type": FORMAT, "version": VERSION}) + "\n")
            for model in TABLES:
                for row in _rows(s, model, profile_ids):
                    out.write(json.dumps(row_to_dict(row), ensure_ascii=False) + "\n")
                    counts[model.__tablename__] += 1
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StorageError(f"cannot write {path}: {exc.strerror}") from exc
    return counts


def _read_lines(stream: IO[bytes], name: str) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, raw in enumerate(stream, start=1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise StorageError(f"{name}:{number}: not valid UTF-8") from exc
        except json.JSONDecodeError as exc:
            raise StorageError(f"{name}:{number}: not valid JSON ({exc.msg})") from exc
        if not isinstance(data, dict) or "type" not in data:
            raise StorageError(f"{name}:{number}: expected an object with a 'type'")
        yield number, data


class _Importer:
    """Inserts rows, keeping ids that are free and remapping the others and their references."""

    # column -> table whose id it refers to
    REFS = {
        "profile_id": "profiles",
        "session_id": "sessions",
        "turn_id": "turns",
        "source_turn_id": "turns",
        "memory_id": "memories",
        "prev_id": "memories",
        "next_id": "memories",
    }

    def __init__(self, s: Session) -> None:
        self.s = s
        self.ids: dict[str, dict[int, int]] = {t: {} for t in TYPE_OF}
        self.links: list[tuple[Memory, int | None, int | None]] = []
        self.counts = {t: 0 for t in TYPE_OF}
        self.taken = {t: set(s.scalars(select(m.id))) for t, m in TYPE_OF.items()}  # type: ignore[attr-defined]
        # Memory ids also live on in events of forgotten memories.
        self.taken["memories"] |= set(s.scalars(select(MemoryEvent.memory_id)))
        self.next_free = {t: max(ids, default=0) + 1 for t, ids in self.taken.items()}

    def _map(self, table: str, old: int) -> int:
        if old in self.ids[table]:
            return self.ids[table][old]
        if old not in self.taken[table]:
            new = old
        else:
            while self.next_free[table] in self.taken[table]:
                self.next_free[table] += 1
            new = self.next_free[table]
        self.ids[table][old] = new
        self.taken[table].add(new)
        return new

    def add(self, table: str, data: dict[str, Any]) -> None:
        model = TYPE_OF[table]
        table_columns = model.__table__.columns
        columns = {c.name: str(c.type) for c in table_columns}
        values = {k: _decode(columns[k], v) for k, v in data.items() if k in columns}
        # Columns added since an export was written may be missing: those have defaults.
        optional = {c.name for c in table_columns if c.nullable or c.default is not None}
        missing = [c for c in columns if c not in values and c != "id" and c not in optional]
        if "id" not in values or missing:
            raise ValueError(f"missing field(s): {', '.join(missing or ['id'])}")
        if table == "profiles":
            self._profile(values)
            return
        for column, target in self.REFS.items():
            if values.get(column) is not None and column not in ("prev_id", "next_id"):
                values[column] = self._map(target, values[column])
        values["id"] = self._map(table, values["id"])
        prev_id, next_id = values.pop("prev_id", None), values.pop("next_id", None)
        row = model(**values)
        self.s.add(row)
        if isinstance(row, Memory):
            self.links.append((row, prev_id, next_id))
        self.counts[table] += 1

    def _profile(self, values: dict[str, Any]) -> None:
        existing = self.s.scalar(select(Profile).where(Profile.name == values["name"]))
        if existing is not None:
            used = self.s.scalar(select(func.count()).where(Memory.profile_id == existing.id))
            turns = self.s.scalar(select(func.count()).where(Turn.profile_id == existing.id))
            if used or turns:
                raise StorageError(
                    f"profile {values['name']!r} already exists and is not empty; "
                    "reset or delete it first"
                )
            self.ids["profiles"][values["id"]] = existing.id
            values["memory_version"] = existing.memory_version + 1
            existing.memory_version = values["memory_version"]  # readers elsewhere reload
            return
        values["id"] = self._map("profiles", values["id"])
        self.s.add(Profile(**values))
        self.s.flush()
        self.counts["profiles"] += 1

    def finish(self) -> None:
        self.s.flush()
        for memory, prev_id, next_id in self.links:
            memory.prev_id = self.ids["memories"].get(prev_id) if prev_id is not None else None
            memory.next_id = self.ids["memories"].get(next_id) if next_id is not None else None
        self.s.flush()


def import_file(s: Session, path: Path) -> dict[str, int]:
    """Import an export file into the session's database; the caller commits. Returns counts."""
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise StorageError(f"cannot read {path}: {exc.strerror}") from exc
    importer = _Importer(s)
    with stream:
        lines = _read_lines(stream, str(path))
        first = next(lines, None)
        if first is None or first[1].get("type") != FORMAT:
            raise StorageError(f"{path}: not a memchat export (no header line)")
        if first[1].get("version") != VERSION:
            raise StorageError(f"{path}: export version {first[1].get('version')} is not supported")
        table = None
        for number, data in lines:
            if data["type"] != table:
                s.flush()  # rows refer to earlier tables: insert those first
                table = data["type"]
            if data["type"] not in TYPE_OF:
                raise StorageError(f"{path}:{number}: unknown row type {data['type']!r}")
            try:
                importer.add(data["type"], data)
                if number % 2000 == 0:
                    s.flush()  # bounded memory
            except StorageError:
                raise
            except (ValueError, TypeError, KeyError) as exc:
                raise StorageError(f"{path}:{number}: {exc}") from exc
    importer.finish()
    return importer.counts
