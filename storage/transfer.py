"""Export and import as JSON Lines: a lossless round trip of profiles and everything in them.

The first line is a header; every other line is one row: `{"type": TABLE, ...columns}`, with
datetimes in ISO format and BLOBs (embeddings) in base64; the last line (since version 2) is
an end line with the number of rows of each table, so a file cut short at a line break is
refused instead of imported in part. Import checks every row before the database sees it:
each value's type, the allowed values of enumerations, duplicate ids, and that every reference
names a row of the same profile that comes earlier in the file. It runs in one transaction: a
malformed file writes nothing. Ids are kept where they are free in the target database and
remapped otherwise, with every reference (turn, memory, link, provenance) remapped alike.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from storage import repo
from storage.db import StorageError
from storage.models import (
    EVENT_ACTIONS,
    MEMORY_KINDS,
    PROPOSAL_STATUSES,
    TURN_ROLES,
    Base,
    ChatSession,
    Memory,
    MemoryEvent,
    Profile,
    Proposal,
    Turn,
    TurnRead,
)
from storage.transfer_values import check_name, decode, show
from storage.vector_column import EmbeddingDim

FORMAT = "memchat-export"
END = "memchat-export-end"
# 1: no end line; 2: an end line with the row counts. Both are read.
VERSION = 2
READABLE_VERSIONS = (1, 2)
# Export order: every row comes after the rows it refers to.
TABLES: list[type[Base]] = [Profile, ChatSession, Turn, Memory, MemoryEvent, TurnRead, Proposal]
TYPE_OF = {model.__tablename__: model for model in TABLES}

# The values the app writes in enumerated columns; anything else would surprise its readers.
CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("memories", "kind"): MEMORY_KINDS,
    ("memory_events", "action"): EVENT_ACTIONS,
    ("proposals", "kind"): ("preference", "fact", "note"),
    ("proposals", "status"): PROPOSAL_STATUSES,
    ("turns", "role"): TURN_ROLES,
    ("turns", "status"): ("complete", "stopped", "cut"),
}


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return {"b64": base64.b64encode(value).decode("ascii")}
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
    tmp: Path | None = None
    try:
        # mkstemp: a new file, owner-only whatever the umask, never one that was there (a
        # leftover or a planted link would keep its own mode or lead elsewhere).
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        tmp = Path(name)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(json.dumps({"type": FORMAT, "version": VERSION}) + "\n")
            for model in TABLES:
                for row in _rows(s, model, profile_ids):
                    out.write(json.dumps(row_to_dict(row), ensure_ascii=False) + "\n")
                    counts[model.__tablename__] += 1
            out.write(json.dumps({"type": END, "rows": counts}) + "\n")
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
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
        except RecursionError as exc:  # json recurses once per nesting level
            raise StorageError(f"{name}:{number}: JSON nested too deeply") from exc
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            raise StorageError(f"{name}:{number}: expected an object with a 'type'")
        yield number, data


@dataclass
class _Link:
    """A turn memory's temporal links, set once every memory of the file is in."""

    memory: Memory
    profile: int  # the profile id in the file
    prev_id: int | None
    next_id: int | None
    line: int


class _Importer:
    """Checks and inserts rows, keeping ids that are free and remapping the others and their
    references."""

    # column -> table whose id it refers to; every one but memory_id is a foreign key and must
    # name a row earlier in the file (memory_id may name a forgotten memory: its history)
    REFS = {
        "profile_id": "profiles",
        "session_id": "sessions",
        "turn_id": "turns",
        "source_turn_id": "turns",
        "memory_id": "memories",
    }
    LINKS = ("prev_id", "next_id")

    def __init__(self, s: Session, name: str) -> None:
        self.s = s
        self.name = name
        self.ids: dict[str, dict[int, int]] = {t: {} for t in TYPE_OF}
        # each table's ids seen in the file -> the id of the profile the row belongs to
        self.defined: dict[str, dict[int, int]] = {t: {} for t in TYPE_OF}
        self.names: set[str] = set()
        self.slots: set[tuple[int, str]] = set()
        self.links: list[_Link] = []
        self.counts = {t: 0 for t in TYPE_OF}  # rows inserted
        self.read = {t: 0 for t in TYPE_OF}  # rows in the file
        self.taken = {t: set(s.scalars(select(m.id))) for t, m in TYPE_OF.items()}  # type: ignore[attr-defined]
        # Memory ids also live on in events of forgotten memories.
        self.taken["memories"] |= set(s.scalars(select(MemoryEvent.memory_id)))
        self.next_free = {t: max(ids, default=0) + 1 for t, ids in self.taken.items()}
        # Every embedding of a database has one size (its encoder's); a reader meeting
        # another would fail on the profile's next read, long after the import.
        dim = s.scalar(select(EmbeddingDim(Memory.key_emb)).limit(1))
        self.emb_bytes: int | None = None if dim is None else 4 * int(dim)

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

    def _values(self, table: str, data: dict[str, Any]) -> dict[str, Any]:
        """The row's column values, decoded and checked on their own (not yet references)."""
        table_columns = TYPE_OF[table].__table__.columns
        values = {c.name: decode(c, data[c.name]) for c in table_columns if c.name in data}
        # Columns added since an export was written may be missing: those have defaults.
        optional = {c.name for c in table_columns if c.nullable or c.default is not None}
        missing = [c.name for c in table_columns if c.name not in values and c.name != "id"]
        missing = [c for c in missing if c not in optional]
        if "id" not in values or missing:
            raise ValueError(f"missing field(s): {', '.join(missing or ['id'])}")
        for (choice_table, column), allowed in CHOICES.items():
            if choice_table == table and column in values and values[column] not in allowed:
                raise ValueError(
                    f"{column} must be one of {', '.join(allowed)}, not {show(values[column])}"
                )
        for column in ("id", *self.REFS, *self.LINKS):
            if values.get(column) is not None and values[column] < 1:
                raise ValueError(f"{column} must be at least 1, not {values[column]}")
        return values

    def _owner(self, table: str, values: dict[str, Any]) -> int:
        """The file's id of the profile the row belongs to (a turn read: its turn's)."""
        if table == "turn_reads":
            return self._reference(values, "turn_id", "turns", None)
        return values["id"] if table == "profiles" else values["profile_id"]

    def _reference(
        self, values: dict[str, Any], column: str, target: str, owner: int | None
    ) -> int:
        """Check that `column` names a row of `target` seen earlier in the file and of the
        profile `owner` (None: any); returns that row's profile."""
        old = values[column]
        if old not in self.defined[target]:
            raise ValueError(
                f"{column} {old} names no row of {target} before this line (a file must list "
                "every row after the rows it refers to)"
            )
        profile = self.defined[target][old]
        if owner is not None and profile != owner:
            raise ValueError(f"{column} {old} names a row of another profile")
        return profile

    def add(self, table: str, data: dict[str, Any], line: int) -> None:
        values = self._values(table, data)
        self.read[table] += 1
        if values["id"] in self.defined[table]:
            raise ValueError(f"duplicate id {values['id']} in {table}")
        owner = self._owner(table, values)
        for column, target in self.REFS.items():
            if values.get(column) is None:
                continue
            if column != "memory_id" or values[column] in self.defined["memories"]:
                self._reference(values, column, target, owner)
        if table == "memories":
            self._check_embeddings(values)
        if table == "memories" and values.get("slot") is not None:
            if (owner, values["slot"]) in self.slots:
                raise ValueError(f"slot {show(values['slot'])} is used by two memories")
            self.slots.add((owner, values["slot"]))
        self.defined[table][values["id"]] = owner
        if table == "profiles":
            self._profile(values)
            return
        for column, target in self.REFS.items():
            if values.get(column) is not None:
                values[column] = self._map(target, values[column])
        values["id"] = self._map(table, values["id"])
        prev_id, next_id = values.pop("prev_id", None), values.pop("next_id", None)
        row = TYPE_OF[table](**values)
        self.s.add(row)
        if isinstance(row, Memory):
            self.links.append(_Link(row, owner, prev_id, next_id, line))
        self.counts[table] += 1

    def _check_embeddings(self, values: dict[str, Any]) -> None:
        """Both embeddings float32 vectors of the size of every other one (file and
        database)."""
        for column in ("key_emb", "value_emb"):
            size = len(values[column])
            if size == 0 or size % 4:
                raise ValueError(f"{column} is not a float32 vector ({size} bytes)")
            if self.emb_bytes is None:
                self.emb_bytes = size
            elif size != self.emb_bytes:
                raise ValueError(
                    f"{column} has {size // 4} dimensions where the others have "
                    f"{self.emb_bytes // 4} (made by another encoder?)"
                )

    def _profile(self, values: dict[str, Any]) -> None:
        check_name(values["name"])
        if values["name"] in self.names:
            raise ValueError(f"profile {values['name']!r} is in the file twice")
        self.names.add(values["name"])
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
            existing.memory_version += 1  # readers elsewhere reload
            # the file's vectors come with the name of the encoder that made them
            existing.encoder, existing.encoder_dim = (
                values.get("encoder"),
                values.get("encoder_dim"),
            )
            return
        values["id"] = self._map("profiles", values["id"])
        # A new profile here: a version no stale cache of a deleted profile can hold.
        values["memory_version"] = repo.fresh_memory_version()
        self.s.add(Profile(**values))
        self.s.flush()
        self.counts["profiles"] += 1

    def finish(self) -> None:
        """Set the temporal links, each to a memory of the same profile in the file."""
        self.s.flush()
        for link in self.links:
            for column, old in (("prev_id", link.prev_id), ("next_id", link.next_id)):
                if old is not None and self.defined["memories"].get(old) != link.profile:
                    raise StorageError(
                        f"{self.name}:{link.line}: {column} {old} names no memory of the same "
                        "profile in the file"
                    )
            link.memory.prev_id = self.ids["memories"][link.prev_id] if link.prev_id else None
            link.memory.next_id = self.ids["memories"][link.next_id] if link.next_id else None
        self.s.flush()

    def check_end(self, end: dict[str, Any] | None, line: int, version: int) -> None:
        """A version-2 file ends with the row counts: the file was read whole."""
        if version < 2:
            return
        if end is None:
            raise StorageError(f"{self.name}: the file is cut short (no end line)")
        if end.get("rows") != self.read:
            raise StorageError(
                f"{self.name}:{line}: the row counts do not match the rows in the file "
                "(the file is damaged)"
            )


def import_file(s: Session, path: Path) -> dict[str, int]:
    """Import an export file into the session's database; the caller commits (and, on any
    error, rolls back: a bad file writes nothing). Returns the counts of rows inserted."""
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise StorageError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        with stream:
            return _import(s, stream, str(path))
    except SQLAlchemyError as exc:  # a check above missed something: still one line
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise StorageError(f"{path}: the database refused the import ({reason})") from exc
    except OSError as exc:
        raise StorageError(f"cannot read {path}: {exc.strerror}") from exc


def _import(s: Session, stream: IO[bytes], name: str) -> dict[str, int]:
    importer = _Importer(s, name)
    lines = _read_lines(stream, name)
    first = next(lines, None)
    if first is None or first[1].get("type") != FORMAT:
        raise StorageError(f"{name}: not a memchat export (no header line)")
    version = first[1].get("version")
    if version not in READABLE_VERSIONS or isinstance(version, bool):
        raise StorageError(f"{name}: export version {show(version)} is not supported")
    table = None
    end: tuple[int, dict[str, Any]] | None = None
    for number, data in lines:
        if end is not None:
            raise StorageError(f"{name}:{number}: a row after the end line")
        if data["type"] == END and version >= 2:
            end = (number, data)
            continue
        if data["type"] not in TYPE_OF:
            raise StorageError(f"{name}:{number}: unknown row type {show(data['type'])}")
        if data["type"] != table:
            s.flush()  # rows refer to earlier tables: insert those first
            table = data["type"]
        try:
            importer.add(data["type"], data, number)
            if number % 2000 == 0:
                s.flush()  # bounded memory
        except (ValueError, TypeError, KeyError) as exc:
            raise StorageError(f"{name}:{number}: {exc}") from exc
    importer.check_end(end[1] if end else None, end[0] if end else 0, version)
    importer.finish()
    return importer.counts
