"""SQLite, the default engine: one file, WAL, foreign keys, a busy timeout.

Transactions on SQLite are begun by us, not by the driver: Python's sqlite3 module (in its
legacy mode, the default before 3.12 and still the one SQLAlchemy uses) begins a transaction
only before INSERT, UPDATE or DELETE and runs DDL outside of any, so a migration killed halfway
left a half-built schema that no later start could migrate ("table profiles already exists").
With the driver's handling off, `_begin` starts every transaction: a write transaction
(`with session.begin():`, or a connection given `WRITE_OPTION`) with BEGIN IMMEDIATE, which
takes the write lock at its first statement and so waits in the busy handler for another
process's writer; anything else (autobegun reads) with a deferred BEGIN that never blocks
writers. A deferred transaction that reads and then writes fails at once with SQLITE_BUSY
("database is locked") when another connection wrote in between: the busy timeout cannot help.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.engine import URL

from storage.engine_kind import WRITE_OPTION
from storage.errors import StorageError

BUSY_TIMEOUT_MS = 10_000
SQLITE_HEADER = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite database file


class SqliteEngine:
    """Prepares the file before the engine exists; makes our BEGINs the only ones."""

    name = "sqlite"

    def prepare(self, url: URL) -> None:
        if url.database and url.database != ":memory:":
            _prepare_sqlite_file(Path(url.database))

    def configure(self, engine: Engine) -> None:
        event.listen(engine, "connect", _pragmas)
        event.listen(engine, "begin", _begin)


def _pragmas(dbapi_connection: Any, _record: object) -> None:
    """Per connection: no driver-run transactions (see the module docstring), then pragmas."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")  # safe with WAL; a commit survives a crash
    cursor.close()


def _begin(connection: Connection) -> None:
    """Begin the transaction the driver no longer begins: IMMEDIATE for writes, else deferred."""
    write = bool(connection.get_execution_options().get(WRITE_OPTION))
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _prepare_sqlite_file(path: Path) -> None:
    """Create the parent folder and the file owner-only, with a clear error when impossible."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # a new data folder: private
        if not path.exists():
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
    except OSError as exc:
        raise StorageError(f"cannot create database {path}: {exc.strerror}") from exc
    if path.is_dir():
        raise StorageError(f"database path {path} is a directory")
    if not os.access(path, os.R_OK | os.W_OK):
        raise StorageError(f"database {path} is not readable and writable")
    _refuse_foreign_file(path)


def _roll_back_hot_journal(path: Path) -> None:
    """A start killed in its first transaction (before the database is in WAL mode) leaves a
    hot rollback journal, and the file half-written, maybe without its header yet. Let SQLite
    roll it back (any client does so on its first read) before the file is judged: a read-only
    connection cannot, and every later start failed ("attempt to write a readonly database")."""
    journal = Path(f"{path}-journal")
    if not journal.is_file() or journal.stat().st_size == 0:
        return
    try:
        with contextlib.closing(
            sqlite3.connect(f"{path.absolute().as_uri()}?mode=rw", uri=True)
        ) as db:
            db.execute("PRAGMA schema_version").fetchone()
    except sqlite3.DatabaseError as exc:
        raise StorageError(f"cannot recover {path} from its journal: {exc}") from exc


def _refuse_foreign_file(path: Path) -> None:
    """Refuse a file that is not an SQLite database, or is another program's: SQLite would
    take a non-empty file without its header for an empty database and overwrite it, and
    migrating another program's database would add memchat's tables to it."""
    _roll_back_hot_journal(path)
    with path.open("rb") as file:
        header = file.read(len(SQLITE_HEADER))
    if not header:
        return  # empty: a new database
    if header != SQLITE_HEADER:
        raise StorageError(f"{path} is not a database (no SQLite header); choose another --db")
    uri = f"{path.absolute().as_uri()}?mode=ro"
    try:
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as exc:
        raise StorageError(f"cannot open {path}: {exc}") from exc
    if tables and "alembic_version" not in tables:
        raise StorageError(
            f"{path} is not a memchat database (it holds other tables: "
            f"{', '.join(sorted(tables)[:3])}); choose another --db"
        )
