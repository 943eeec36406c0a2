"""Engine and session factory: SQLite with WAL, foreign keys, busy timeout; Alembic at start.

Transactions on SQLite are begun by us, not by the driver: Python's sqlite3 module (in its
legacy mode, the default before 3.12 and still the one SQLAlchemy uses) begins a transaction
only before INSERT, UPDATE or DELETE and runs DDL outside of any, so a migration killed halfway
left a half-built schema that no later start could migrate ("table profiles already exists").
With the driver's handling off, `_sqlite_begin` starts every transaction: a write transaction
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

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, SessionTransactionOrigin, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
BUSY_TIMEOUT_MS = 10_000
SQLITE_HEADER = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite database file
# Execution option of a connection whose transactions will write: they begin IMMEDIATE.
WRITE_OPTION = "memchat_write"


class StorageError(Exception):
    """The database cannot be opened or used; the message says which and why."""


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    """Per connection: no driver-run transactions (see the module docstring), then pragmas."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")  # safe with WAL; a commit survives a crash
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
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


def make_engine(url: str) -> Engine:
    """Create the engine for `url` (a SQLAlchemy URL) and bring its schema to the newest version."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StorageError(f"not a database URL: {url!r}") from exc
    is_sqlite = parsed.get_backend_name() == "sqlite"
    if is_sqlite and parsed.database and parsed.database != ":memory:":
        _prepare_sqlite_file(Path(parsed.database))
    try:
        engine = create_engine(url)
    except (ImportError, NoSuchModuleError, ArgumentError) as exc:  # a driver not installed
        raise StorageError(f"cannot use database {parsed.render_as_string()}: {exc}") from exc
    if is_sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    migrate(engine, describe=str(parsed.database or url))
    return engine


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def migrate(engine: Engine, describe: str = "database") -> None:
    """Apply every pending Alembic migration; refuse a database from a newer schema."""
    config = _alembic_config()
    head = ScriptDirectory.from_config(config).get_current_head()
    known = {rev.revision for rev in ScriptDirectory.from_config(config).walk_revisions()}
    try:
        # A read first: an up-to-date database (every start but the first) takes no write lock.
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
        _refuse_unknown(current, known, describe)
        if current == head:
            return
        # One write transaction: a migration interrupted (killed) at any point leaves the schema
        # as it was, and two processes starting at once migrate one after the other.
        with engine.execution_options(**{WRITE_OPTION: True}).begin() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
            _refuse_unknown(current, known, describe)
            if current != head:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
    except (DatabaseError, OperationalError) as exc:
        reason = str(exc.orig) if getattr(exc, "orig", None) else str(exc)
        raise StorageError(f"cannot open {describe}: {reason}") from exc


def _refuse_unknown(current: str | None, known: set[str], describe: str) -> None:
    if current is not None and current not in known:
        raise StorageError(
            f"{describe} was written by a newer memchat (schema {current}); upgrade memchat"
        )


class WriteLockingSession(Session):
    """A session whose explicitly begun transactions (`with s.begin():`, how this code writes)
    run on `write_bind`, an engine whose transactions begin IMMEDIATE; autobegun ones (reads)
    run on the plain engine. The lock is taken at the transaction's first statement, not at
    `begin()`, so an explicit transaction may still open another before touching the database
    (the agent looks up the profile id that way)."""

    def __init__(self, *args: Any, write_bind: Engine | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.write_bind = write_bind

    def get_bind(self, mapper: Any = None, **kwargs: Any) -> Engine | Connection:
        bind = super().get_bind(mapper, **kwargs)
        transaction = self.get_transaction()
        explicit = transaction is not None and transaction.origin is SessionTransactionOrigin.BEGIN
        if explicit and self.write_bind is not None and bind is self.bind:
            return self.write_bind
        return bind


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (the agent returns them), whose
    explicit transactions are write transactions (see `WriteLockingSession`)."""
    return sessionmaker(
        engine,
        class_=WriteLockingSession,
        expire_on_commit=False,
        write_bind=engine.execution_options(**{WRITE_OPTION: True}),
    )
