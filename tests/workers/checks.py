"""Checks of a database that processes were killed on or wrote to at once: SQLite's own checks,
and that no memory is half-written. Plain drivers (`sqlite3` for an SQLite file, `psycopg` for
a PostgreSQL URL), so the storage code does not judge its own work (only the extractor is asked
which messages were requests to forget).

"Half-written" is defined from storage/models.py. A memory row is whole when:
- its key and value vectors are both `dim` float32 values (`dim` may be given per profile id:
  after a reindex profiles can hold vectors of different encoders);
- its history (memory_events by memory_id) starts with its one 'add' (or 'import') event and
  has no 'forget' or 'free' event;
- its source turn, when it has one, is a user turn of its profile that added or updated it
  (an 'add' or 'update' event of that turn); a turn memory has one, and holds that turn's text
  (after its day and speaker);
- its temporal links are mutual: a.next_id = b exactly when b.prev_id = a, both turn memories
  of one profile.
Nothing points at missing rows: every memory id in memory_events or turn_reads was added (has
an 'add' or 'import' event), and a memory id with events but no row was forgotten or freed,
once, as its last event. A user turn added its turn memory in its own transaction (an 'add'
event of that turn exists), unless it asked to forget: then it added nothing. In each chat
session the turns alternate user, assistant (a reply may be missing after a crash, never its
message); reads are a user turn's.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import psycopg
from psycopg.adapt import Loader
from psycopg.types import TypeInfo
from sqlalchemy.engine import make_url

from agent.extraction import forget_requests
from tests.engines import Database  # an SQLite file, or a PostgreSQL database by its URL

REMOVALS = ("forget", "free")
ADDS = ("add", "import")


class Row(tuple[Any, ...]):
    """A PostgreSQL row as `sqlite3.Row` is read here: by position or by column name."""

    names: dict[str, int]

    def __getitem__(self, key: Any) -> Any:
        return super().__getitem__(self.names[key] if isinstance(key, str) else key)


def _row_factory(cursor: Any) -> Callable[[Sequence[Any]], Row]:
    names = {column.name: i for i, column in enumerate(cursor.description or ())}

    def make(values: Sequence[Any]) -> Row:
        row = Row(values)
        row.names = names
        return row

    return make


class _VectorLoader(Loader):
    """A pgvector value (text form `[0.5,-1]`) as float32 little-endian bytes, what SQLite
    holds: the vector checks read both alike."""

    def load(self, data: Any) -> bytes:
        text = bytes(data).decode().strip("[]")
        return np.array(text.split(",") if text else [], dtype="<f4").tobytes()


def _connect_postgres(url: str) -> psycopg.Connection[Any]:
    parsed = make_url(url)
    connection = psycopg.connect(
        dbname=parsed.database,
        user=parsed.username,
        password=parsed.password or None,
        host=parsed.host or parsed.query.get("host"),
        port=parsed.port,
        row_factory=_row_factory,
    )
    vector = TypeInfo.fetch(connection, "vector")
    if vector is not None:  # absent before the migration that creates it
        connection.adapters.register_loader(vector.oid, _VectorLoader)
    return connection


def connect(db: Database) -> Any:
    """A read connection to `db` that waits for writers instead of failing; rows are read by
    position or column name (`sqlite3.Row`, or `Row`), vectors as float32 bytes."""
    if isinstance(db, str):
        return _connect_postgres(db)
    connection = sqlite3.connect(db, timeout=30)
    connection.row_factory = sqlite3.Row
    return connection


def rows(db: Database, query: str, params: tuple[object, ...] = ()) -> list[Any]:
    """The rows of one query on `db`; parameters are written `?` (psycopg's `%s` on
    PostgreSQL)."""
    connection = connect(db)
    try:
        if isinstance(db, str):
            query = query.replace("%", "%%").replace("?", "%s")
        return connection.execute(query, params).fetchall()
    finally:
        connection.close()


def schema_names(db: Database) -> list[str]:
    """The names of everything the schema holds: tables, indexes (and sequences)."""
    if isinstance(db, str):
        query = (
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public'"
        )
    else:
        query = "SELECT name FROM sqlite_master"
    return [row[0] for row in rows(db, query)]


def engine_problems(connection: Any) -> list[str]:
    """What the engine's own checks report (empty: fine): SQLite's integrity and foreign key
    checks. PostgreSQL has none to run: it checks every foreign key at each statement (none is
    deferred here) and its pages are the server's, which no killed client can write."""
    if not isinstance(connection, sqlite3.Connection):
        return []
    integrity = [row[0] for row in connection.execute("PRAGMA integrity_check")]
    problems = [] if integrity == ["ok"] else [f"integrity_check: {integrity}"]
    problems += [
        f"foreign_key_check: {tuple(r)}" for r in connection.execute("PRAGMA foreign_key_check")
    ]
    return problems


Dims = int | Mapping[int, int]  # one vector size, or each profile id's


def half_written(connection: Any, dim: Dims) -> list[str]:
    """Every violation of the module docstring's rules, one line each (empty: none)."""
    memories = {r["id"]: r for r in connection.execute("SELECT * FROM memories")}
    turns = {r["id"]: r for r in connection.execute("SELECT * FROM turns")}
    events: dict[int, list[Any]] = defaultdict(list)
    for e in connection.execute("SELECT * FROM memory_events ORDER BY id"):
        events[e["memory_id"]].append(e)
    problems = [p for m in memories.values() for p in _memory_problems(m, dim, events, turns)]
    problems += _link_problems(memories)
    problems += _history_problems(memories, events)
    problems += _read_problems(connection, events)
    problems += _turn_problems(turns, events)
    return problems


def _memory_problems(
    m: Any, dim: Dims, events: dict[int, list[Any]], turns: dict[int, Any]
) -> list[str]:
    """The rules of one memory row: vectors, its add event, its source turn."""
    where = f"memory {m['id']} ({m['kind']})"
    problems = []
    size = 4 * (dim if isinstance(dim, int) else dim[m["profile_id"]])
    if len(m["key_emb"]) != size or len(m["value_emb"]) != size:
        problems.append(f"{where}: vectors of {len(m['key_emb'])}/{len(m['value_emb'])} bytes")
    history = events.get(m["id"], [])
    if not history or history[0]["action"] not in ADDS:
        problems.append(f"{where}: history does not start with its add: {_actions(history)}")
    if [e["action"] for e in history if e["action"] in ADDS] not in (["add"], ["import"]):
        problems.append(f"{where}: not exactly one add event: {_actions(history)}")
    if any(e["action"] in REMOVALS for e in history):
        problems.append(f"{where}: still here after {_actions(history)}")
    source = turns.get(m["source_turn_id"]) if m["source_turn_id"] is not None else None
    if m["kind"] == "turn" and source is None:
        problems.append(f"{where}: no source turn")
    if source is not None:
        writers = {e["turn_id"] for e in history if e["action"] in ("add", "update")}
        if source["role"] != "user" or source["profile_id"] != m["profile_id"]:
            problems.append(f"{where}: source turn {source['id']} is not a user turn of its own")
        elif source["id"] not in writers and not any(e["action"] == "import" for e in history):
            problems.append(f"{where}: source turn {source['id']} did not write it")
        said, key = source["text"], m["key_text"]  # the key: the text after day and speaker
        if m["kind"] == "turn" and not (key == said or key.endswith(f": {said}")):
            problems.append(f"{where}: text differs from its source turn {source['id']}")
    return problems


def _link_problems(memories: dict[int, Any]) -> list[str]:
    """Temporal links: mutual, between turn memories of one profile."""
    problems = []
    for m in memories.values():
        for field, back in (("next_id", "prev_id"), ("prev_id", "next_id")):
            other = memories.get(m[field]) if m[field] is not None else None
            if m[field] is None:
                continue
            if other is None or other[back] != m["id"]:
                problems.append(f"memory {m['id']}: {field} {m[field]} does not link back")
            elif (other["kind"], other["profile_id"]) != ("turn", m["profile_id"]):
                problems.append(f"memory {m['id']}: linked to {other['id']}, not a turn of its own")
    return problems


def _history_problems(memories: dict[int, Any], events: dict[int, list[Any]]) -> list[str]:
    """Events of memories that have no row: added, then forgotten or freed once, last."""
    problems = []
    for memory_id, history in events.items():
        if memory_id in memories:
            continue
        actions = [e["action"] for e in history]
        once = sum(a in REMOVALS for a in actions) == 1 and sum(a in ADDS for a in actions) == 1
        if not (once and actions[0] in ADDS and actions[-1] in REMOVALS):
            problems.append(f"gone memory {memory_id}: history {actions}")
    return problems


def _read_problems(connection: Any, events: dict[int, list[Any]]) -> list[str]:
    """Reads name memories that were written, by user turns."""
    problems = []
    query = "SELECT r.id, r.memory_id, t.role FROM turn_reads r JOIN turns t ON t.id = r.turn_id"
    for read in connection.execute(query):
        if not any(e["action"] in ADDS for e in events.get(read["memory_id"], [])):
            problems.append(f"read {read['id']}: memory {read['memory_id']} was never written")
        if read["role"] != "user":
            problems.append(f"read {read['id']}: by a {read['role']} turn")
    return problems


def _turn_problems(turns: dict[int, Any], events: dict[int, list[Any]]) -> list[str]:
    """Each session's turns alternate user, assistant; a user turn added its turn memory."""
    problems = []
    added_by = {e["turn_id"] for history in events.values() for e in history if e["action"] in ADDS}
    previous: dict[int, str] = {}
    for turn in sorted(turns.values(), key=lambda t: t["id"]):
        role, before = turn["role"], previous.get(turn["session_id"])
        if role == "assistant" and before != "user":
            problems.append(f"turn {turn['id']}: a reply after {before or 'nothing'}")
        previous[turn["session_id"]] = role
        if role != "user":
            continue
        asked_to_forget = bool(forget_requests(turn["text"]))
        if not asked_to_forget and turn["id"] not in added_by:
            problems.append(f"turn {turn['id']}: user turn without its turn memory's add")
        if asked_to_forget and turn["id"] in added_by:
            problems.append(f"turn {turn['id']}: a forget request was remembered")
    return problems


def _actions(history: list[Any]) -> list[str]:
    return [e["action"] for e in history]


def database_problems(db: Database, dim: Dims) -> list[str]:
    """The engine's checks and the half-written rules, on the database `db`."""
    connection = connect(db)
    try:
        return engine_problems(connection) + half_written(connection, dim)
    finally:
        connection.close()
