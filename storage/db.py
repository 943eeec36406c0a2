"""Engine and session factory: SQLite with WAL, foreign keys, busy timeout; Alembic at start."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
BUSY_TIMEOUT_MS = 10_000


class StorageError(Exception):
    """The database cannot be opened or used; the message says which and why."""


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")  # safe with WAL; a commit survives a crash
    cursor.close()


def _prepare_sqlite_file(path: Path) -> None:
    """Create the parent folder and the file owner-only, with a clear error when impossible."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
    except OSError as exc:
        raise StorageError(f"cannot create database {path}: {exc.strerror}") from exc
    if path.is_dir():
        raise StorageError(f"database path {path} is a directory")
    if not os.access(path, os.R_OK | os.W_OK):
        raise StorageError(f"database {path} is not readable and writable")


def make_engine(url: str) -> Engine:
    """Create the engine for `url` (a SQLAlchemy URL) and bring its schema to the newest version."""
    parsed = make_url(url)
    is_sqlite = parsed.get_backend_name() == "sqlite"
    if is_sqlite and parsed.database and parsed.database != ":memory:":
        _prepare_sqlite_file(Path(parsed.database))
    engine = create_engine(url)
    if is_sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
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
        with engine.begin() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
            if current is not None and current not in known:
                raise StorageError(
                    f"{describe} was written by a newer memchat (schema {current}); upgrade memchat"
                )
            if current != head:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
    except (DatabaseError, OperationalError) as exc:
        reason = str(exc.orig) if getattr(exc, "orig", None) else str(exc)
        raise StorageError(f"cannot open {describe}: {reason}") from exc


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (the agent returns them)."""
    return sessionmaker(engine, expire_on_commit=False)
