"""Copy every profile from one database to another (SQLite <-> PostgreSQL), losslessly.

`memchat db copy` moves a whole memory between engines: every row of every table keeps its id,
its timestamps and the exact bytes of its embeddings (the Embedding column type reads and
writes float32 little-endian bytes on both engines, storage/vector_column.py).

- The source is read from one snapshot (on SQLite a read transaction, which in WAL mode never
  blocks its writers; on PostgreSQL a REPEATABLE READ, READ ONLY transaction), in batches of
  BATCH rows by id, so memory stays bounded whatever the size of the database.
- The target is written in one write transaction (the engine's writer lock: BEGIN IMMEDIATE on
  SQLite, the advisory lock on PostgreSQL): any failure, or an interrupt, rolls it back and
  leaves the target as it was. A target SQLite file the copy created is removed again.
- Tables go parents first, so every foreign key holds as rows arrive; a memory's temporal links
  (prev_id / next_id, references to other memories, often later ones) are set in a second pass
  once every memory is in.
- A target that holds data is refused unless `force`: then its rows are deleted in the same
  transaction before the copy (so a failed copy keeps them).
- On PostgreSQL each table's id sequence is set past the largest id copied, so later inserts
  do not collide.

Both schemas are brought to the newest version first (`make_engine`), as every memchat command
does. Errors are StorageErrors of one line that name databases without their passwords.
Imports nothing of ours but storage.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from storage.db import describe, driver_reason, make_engine, parse_url
from storage.engine_kind import WRITE_OPTION
from storage.errors import StorageError
from storage.models import ChatSession, Memory, MemoryEvent, Profile, Proposal, Turn, TurnRead

# Rows per batch: a batch of memories with 384-d embeddings is a few MB.
BATCH = 1000
# Parents before children: every foreign key but the memories' links holds at each insert.
TABLES: tuple[Table, ...] = tuple(
    model.__table__  # type: ignore[misc]
    for model in (Profile, ChatSession, Turn, Memory, MemoryEvent, TurnRead, Proposal)
)
MEMORIES: Table = Memory.__table__  # type: ignore[assignment]
LINK_COLUMNS = ("prev_id", "next_id")
LINKS = "memory links"  # the name of the second pass in progress reports
# Columns that name memories without a foreign key (a forgotten memory's history, reads and
# proposals): the memories' id sequence goes past them too, so no new memory inherits them.
MEMORY_ID_COLUMNS = (
    ("memory_events", "memory_id"),
    ("turn_reads", "memory_id"),
    ("proposals", "memory_id"),
)
SQLITE_SIDECARS = ("-wal", "-shm", "-journal")


class SameDatabaseError(StorageError):
    """The source and the target are the same database."""


class TargetNotEmptyError(StorageError):
    """The target holds data and `force` was not given."""


class CopyProgress:
    """What a copy reports as it goes; this base reports nothing (override what you show).

    `begin` gets the rows to copy per step (each table, then LINKS); `rows` is called with a
    step's rows copied so far after every batch; `end` after the last step.
    """

    def begin(self, totals: Mapping[str, int]) -> None:
        """The copy starts: `totals` rows per step, in order."""

    def rows(self, step: str, copied: int, total: int) -> None:
        """`copied` of `total` rows of `step` are written (in the uncommitted transaction)."""

    def end(self) -> None:
        """Every step is done (the commit comes next)."""


@dataclass(frozen=True)
class CopyResult:
    """What a copy wrote: rows per table, memories linked, rows the target held before and
    were replaced (`force`; all zero otherwise), and the seconds it took."""

    source: str
    target: str
    counts: dict[str, int]
    links: int
    replaced: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def database_url(text: str) -> str:
    """A SQLAlchemy URL for `text`: as given if it has a scheme, else an SQLite file path (the
    rule of `--db`)."""
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).expanduser()}"


def copy_database(
    source: str,
    target: str,
    force: bool = False,
    progress: CopyProgress | None = None,
    batch: int = BATCH,
) -> CopyResult:
    """Copy every row of every table from `source` to `target` (URLs), in one transaction on
    the target; see the module docstring. Raises SameDatabaseError, TargetNotEmptyError, or
    StorageError (one line, no password) for anything else; the target is then unchanged."""
    src_url, dst_url = _parsed(source), _parsed(target)
    _refuse_same(src_url, dst_url)
    _check_source(src_url)
    started = time.monotonic()
    with _opened(src_url, source) as src_engine:
        created = _new_sqlite_file(dst_url)
        try:
            with _opened(dst_url, target) as dst_engine:
                counts, links, replaced = _copy(
                    src_engine, dst_engine, force, progress or CopyProgress(), batch
                )
        except BaseException as exc:
            if created is not None:
                _remove_sqlite_file(created)
            if isinstance(exc, SQLAlchemyError):
                raise _failed(exc, src_url, dst_url) from exc
            raise
    seconds = time.monotonic() - started
    return CopyResult(describe(src_url), describe(dst_url), counts, links, replaced, seconds)


# ------------------------------------------------------------ checks before opening


def _parsed(raw: str) -> URL:
    """`parse_url`, also for a URL SQLAlchemy rejects with a ValueError (a port that is not a
    number), which is then shown without its password."""
    try:
        return parse_url(raw)
    except ValueError as exc:
        shown = re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", raw)
        raise StorageError(f"not a database URL: {shown!r} ({exc})") from exc


def _sqlite_path(url: URL) -> Path | None:
    """The file of an SQLite URL (None for another engine); in-memory databases refused."""
    if url.get_backend_name() != "sqlite":
        return None
    if not url.database or url.database == ":memory:":
        raise StorageError("an in-memory database cannot be copied from or to; name a file")
    return Path(url.database).expanduser().absolute()


def _same_server_database(a: URL, b: URL) -> bool:
    """Two non-SQLite URLs naming the same database: same engine, host, port, database."""
    keys = [
        (u.get_backend_name(), u.host or u.query.get("host"), u.port, u.database) for u in (a, b)
    ]
    return keys[0] == keys[1]


def _refuse_same(src: URL, dst: URL) -> None:
    """Copying a database onto itself would only destroy it (with --force): refuse."""
    src_path, dst_path = _sqlite_path(src), _sqlite_path(dst)
    if src_path is not None and dst_path is not None:
        same = src_path.resolve() == dst_path.resolve() or (
            src_path.exists() and dst_path.exists() and src_path.samefile(dst_path)
        )
    else:
        same = src_path is None and dst_path is None and _same_server_database(src, dst)
    if same:
        raise SameDatabaseError(
            f"{describe(src)} is both the source and the target; choose another target"
        )


def _check_source(url: URL) -> None:
    """A missing SQLite source would be created empty by opening it: refuse it first."""
    path = _sqlite_path(url)
    if path is not None and not path.is_file():
        raise StorageError(f"database {path} does not exist; there is nothing to copy")


def _new_sqlite_file(url: URL) -> Path | None:
    """The target's SQLite file when opening it will create it (removed if the copy fails)."""
    path = _sqlite_path(url)
    return path if path is not None and not path.exists() else None


def _remove_sqlite_file(path: Path) -> None:
    """Remove a database file the failed copy created, and what SQLite left next to it."""
    for name in (path.name, *(path.name + s for s in SQLITE_SIDECARS)):
        with contextlib.suppress(OSError):
            path.with_name(name).unlink()


# ------------------------------------------------------------ errors on one line


def one_line(message: str, *urls: URL) -> str:
    """`message` on one line (drivers add hints on further lines), with the password of
    each of `urls` masked should a driver ever quote it."""
    flat = " ".join(part.strip() for part in message.splitlines() if part.strip())
    for url in urls:
        if url.password:
            flat = flat.replace(str(url.password), "***")
    return flat


def _failed(exc: SQLAlchemyError, src: URL, dst: URL) -> StorageError:
    """A database error during the copy (rolled back) as one line naming both databases."""
    names = f"from {describe(src)} to {describe(dst)}"
    message = f"copy {names} failed: {driver_reason(exc)}; the target is unchanged"
    return StorageError(one_line(message, src, dst))


@contextlib.contextmanager
def _opened(url: URL, raw: str) -> Iterator[Engine]:
    """The engine of `url` (schema migrated), disposed afterwards; its errors on one line."""
    try:
        engine = make_engine(raw)
    except StorageError as exc:
        raise StorageError(one_line(str(exc), url)) from exc
    try:
        yield engine
    finally:
        engine.dispose()


# ------------------------------------------------------------ the copy


def _copy(
    src_engine: Engine, dst_engine: Engine, force: bool, progress: CopyProgress, batch: int
) -> tuple[dict[str, int], int, dict[str, int]]:
    """Read one snapshot of the source, write it in one transaction on the target."""
    with src_engine.connect() as src, dst_engine.connect() as dst:
        src = _snapshot(src)
        dst = dst.execution_options(**{WRITE_OPTION: True})
        with src.begin(), dst.begin():
            totals = {table.name: _count(src, table) for table in TABLES}
            replaced = _check_target(dst, force, dst_engine)
            old_versions = _clear(dst) if any(replaced.values()) else {}
            totals[LINKS] = _count(src, MEMORIES, _linked())
            progress.begin(totals)
            for table in TABLES:
                _copy_table(src, dst, table, totals[table.name], progress, batch)
            links = _copy_links(src, dst, totals[LINKS], progress, batch)
            _move_past_replaced_versions(dst, old_versions)
            _reset_sequences(dst)
            progress.end()
    return {t.name: totals[t.name] for t in TABLES}, links, replaced


def _snapshot(connection: Connection) -> Connection:
    """The source's connection reading one snapshot: SQLite's deferred BEGIN is one already
    (WAL); PostgreSQL needs REPEATABLE READ (read only: a copy never writes its source)."""
    if connection.dialect.name == "postgresql":
        return connection.execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )
    return connection


def _linked() -> Any:
    """Memories with a temporal link."""
    return or_(*(MEMORIES.c[name].is_not(None) for name in LINK_COLUMNS))


def _count(connection: Connection, table: Table, where: Any = None) -> int:
    query = select(func.count()).select_from(table)
    return int(connection.scalar(query if where is None else query.where(where)) or 0)


def _check_target(dst: Connection, force: bool, engine: Engine) -> dict[str, int]:
    """The target's rows per table; refuse a target with data unless `force`."""
    held = {table.name: _count(dst, table) for table in TABLES}
    if any(held.values()) and not force:
        what = ", ".join(f"{t} {held[t]:,}" for t in ("profiles", "memories", "turns"))
        raise TargetNotEmptyError(
            f"{describe(engine.url)} already holds data ({what}); "
            "use --force to replace its contents"
        )
    return held


def _profile_versions(dst: Connection) -> dict[int, int]:
    """The target's profiles' memory versions before they are replaced."""
    table = Profile.__table__
    return {int(i): int(v) for i, v in dst.execute(select(table.c.id, table.c.memory_version))}


def _clear(dst: Connection) -> dict[int, int]:
    """Delete every row of the target, children first (in the copy's transaction); returns
    the memory versions its profiles had."""
    versions = _profile_versions(dst)
    for table in reversed(TABLES):
        dst.execute(delete(table))
    return versions


def _batches(
    src: Connection, table: Table, batch: int, columns: Any = None, where: Any = None
) -> Iterator[list[dict[str, Any]]]:
    """The rows of `table` in id order, `batch` at a time (keyset paging: bounded memory, and
    one snapshot since the connection stays in its transaction)."""
    last: int | None = None
    while True:
        query = select(*(columns or [table])).order_by(table.c.id).limit(batch)
        if where is not None:
            query = query.where(where)
        if last is not None:
            query = query.where(table.c.id > last)
        rows = [dict(row) for row in src.execute(query).mappings()]
        if not rows:
            return
        yield rows
        last = rows[-1]["id"]


def _copy_table(
    src: Connection, dst: Connection, table: Table, total: int, progress: CopyProgress, batch: int
) -> None:
    """Insert every row of `table` with its own id (memories without their links yet)."""
    copied = 0
    progress.rows(table.name, 0, total)
    for rows in _batches(src, table, batch):
        if table is MEMORIES:
            rows = [{**row, "prev_id": None, "next_id": None} for row in rows]
        dst.execute(insert(table), rows)
        copied += len(rows)
        progress.rows(table.name, copied, max(total, copied))


def _copy_links(
    src: Connection, dst: Connection, total: int, progress: CopyProgress, batch: int
) -> int:
    """Set every memory's prev_id / next_id, now that every memory they name is in."""
    m = MEMORIES
    columns = [m.c.id, *(m.c[name] for name in LINK_COLUMNS)]
    statement = (
        update(m)
        .where(m.c.id == bindparam("link_id"))
        .values(prev_id=bindparam("link_prev"), next_id=bindparam("link_next"))
    )
    copied = 0
    progress.rows(LINKS, 0, total)
    for rows in _batches(src, m, batch, columns, _linked()):
        values = [
            {"link_id": r["id"], "link_prev": r["prev_id"], "link_next": r["next_id"]} for r in rows
        ]
        dst.execute(statement, values)
        copied += len(rows)
        progress.rows(LINKS, copied, max(total, copied))
    return copied


def _move_past_replaced_versions(dst: Connection, old: dict[int, int]) -> None:
    """A copied profile that replaced one with the same id (`force`) gets a memory version past
    the replaced one's, unless it has one already: another process on the target may hold the
    replaced profile's keys cached under (id, version), and must see them as stale."""
    table = Profile.__table__
    for profile_id, version in _profile_versions(dst).items():
        if profile_id in old and version <= old[profile_id]:
            dst.execute(
                update(table)
                .where(table.c.id == profile_id)
                .values(memory_version=old[profile_id] + 1)
            )


def _reset_sequences(dst: Connection) -> None:
    """PostgreSQL: set each table's id sequence past the largest id (for memories, also past
    the ids in history and reads), so the next insert gets a free id. SQLite needs nothing:
    it takes the largest id + 1."""
    if dst.dialect.name != "postgresql":
        return
    for table in TABLES:
        top = int(dst.scalar(select(func.max(table.c.id))) or 0)
        if table is MEMORIES:
            for name, column in MEMORY_ID_COLUMNS:
                other = next(t for t in TABLES if t.name == name)
                top = max(top, int(dst.scalar(select(func.max(other.c[column]))) or 0))
        dst.execute(
            text("SELECT setval(pg_get_serial_sequence(:table, 'id'), :value, :called)"),
            {"table": table.name, "value": max(top, 1), "called": top > 0},
        )
