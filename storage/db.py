"""Engine and session factory for SQLite or PostgreSQL; Alembic migrations at start.

`make_engine` picks the engine kind by the URL (storage/sqlite_engine.py, storage/
postgres_engine.py), which prepares what must exist and sets how transactions begin; both make
write transactions (`with session.begin():`, see `WriteLockingSession`) take turns.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, SessionTransactionOrigin, sessionmaker

from storage.engine_kind import WRITE_OPTION, EngineKind
from storage.errors import StorageError
from storage.postgres_engine import PostgresEngine, with_driver
from storage.sqlite_engine import SqliteEngine

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["WRITE_OPTION", "StorageError", "make_engine", "migrate", "session_factory"]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version"  # Alembic's default, which migrations/env.py keeps
# A migration file's `revision = "..."` or `down_revision = ...` line (annotated or not).
_REVISION_LINE = re.compile(r"^(revision|down_revision)\b[^=\n]*=(.*)$", re.MULTILINE)
_QUOTED = re.compile(r"[\"']([^\"']+)[\"']")
ENGINE_KINDS: dict[str, EngineKind] = {"sqlite": SqliteEngine(), "postgresql": PostgresEngine()}


def parse_url(url: str) -> URL:
    """The SQLAlchemy URL of `url`, postgresql:// taken as psycopg 3's."""
    try:
        return with_driver(make_url(url))
    except (ArgumentError, ValueError) as exc:  # ValueError: a port that is not a number
        raise StorageError(f"not a database URL: {redacted(url)!r}") from exc


def redacted(url: str | URL) -> str:
    """The URL as messages show it: the password, if any, as ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "<not a database URL>" if "@" in str(url) else str(url)


def describe(url: URL) -> str:
    """How messages name a database: an SQLite file by its path, others by URL sans password."""
    if url.get_backend_name() == "sqlite":
        return str(url.database or url)
    return url.render_as_string(hide_password=True)


def make_engine(url: str) -> Engine:
    """Create the engine for `url` (a SQLAlchemy URL) and bring its schema to the newest version."""
    parsed = parse_url(url)
    kind = ENGINE_KINDS.get(parsed.get_backend_name())
    if kind is not None:
        kind.prepare(parsed)
    try:
        engine = create_engine(parsed)
    except (ImportError, NoSuchModuleError, ArgumentError) as exc:  # a driver not installed
        raise StorageError(f"cannot use database {describe(parsed)}: {exc}") from exc
    if kind is not None:
        kind.configure(engine)
    migrate(engine, describe=describe(parsed))
    return engine


def _alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def script_head() -> str | None:
    """The newest migration's revision, read from the migration files' `revision` and
    `down_revision` lines without Alembic (importing it and its scripts costs ~0.1 s of every
    start); None unless they name exactly one head (Alembic then decides)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        fields = dict(_REVISION_LINE.findall(path.read_text(encoding="utf-8")))
        revision = _QUOTED.findall(fields.get("revision", ""))
        if len(revision) != 1:
            return None
        revisions.add(revision[0])
        parents.update(_QUOTED.findall(fields.get("down_revision", "")))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _at_head(engine: Engine, head: str | None) -> bool:
    """The database's schema is `head` (one read, no Alembic): nothing to migrate."""
    if head is None:
        return False
    with engine.connect() as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return False
        current = connection.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}")
        return current.scalars().all() == [head]


def migrate(engine: Engine, describe: str = "database") -> None:
    """Apply every pending Alembic migration; refuse a database from a newer schema."""
    try:
        # Every start but the first finds the schema at head: a read, and Alembic stays unloaded.
        if _at_head(engine, script_head()):
            return
    except (DatabaseError, OperationalError) as exc:
        raise StorageError(f"cannot open {describe}: {driver_reason(exc)}") from exc
    _migrate_with_alembic(engine, describe)


def _migrate_with_alembic(engine: Engine, describe: str) -> None:
    """Alembic's check and upgrade: a new database, an older schema, or one it must refuse."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    config = _alembic_config()
    head = ScriptDirectory.from_config(config).get_current_head()
    known = {rev.revision for rev in ScriptDirectory.from_config(config).walk_revisions()}
    try:
        # A read first: an up-to-date database takes no write lock.
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
        raise StorageError(f"cannot open {describe}: {driver_reason(exc)}") from exc


# PostgreSQL's answer when the role may not create pgvector, and what to do about it.
NO_VECTOR = 'permission denied to create extension "vector"'
NO_VECTOR_FIX = "a superuser must run CREATE EXTENSION vector in this database once"


def driver_reason(exc: Exception) -> str:
    """The driver's message on one line (PostgreSQL's add DETAIL and HINT lines), with what to
    do where that is known."""
    reason = " ".join(str(getattr(exc, "orig", None) or exc).split())
    if NO_VECTOR in reason:
        return f"{NO_VECTOR}: {NO_VECTOR_FIX}"
    return reason


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
