"""Which database engine the storage and agent tests run on: both, through `each_engine`.

A test module opts in with `pytestmark = pytest.mark.usefixtures("each_engine")`; every test in
it then runs once on SQLite and once on PostgreSQL. On PostgreSQL each home folder a test makes
an agent in gets its own database (the same one when the test opens that home again), and
subprocesses get it through `MEMCHAT_DB` (`env_for`). Those databases are dropped after the
test; a module-scoped fixture keeps its own with `lasting_db_for`.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from tests import postgres

ENGINES = ("sqlite", "postgresql")
current = "sqlite"
_databases: dict[Path, str] = {}
# Databases of module-scoped fixtures, by engine and home: they outlive each test (the server's
# folder, and they with it, goes when the test process ends).
_lasting: dict[tuple[str, Path], str] = {}

# A database as the plain-driver checks take it (tests/workers/checks.py): an SQLite file, or
# a PostgreSQL database by its URL.
Database = Path | str


def db_for(home: Path) -> str | None:
    """The database URL for an agent whose home is `home`: None (the home's SQLite file) on
    SQLite, the home's own PostgreSQL database on PostgreSQL."""
    if current == "sqlite":
        return None
    key = Path(home).resolve()
    if (current, key) in _lasting:
        return _lasting[(current, key)]
    if key not in _databases:
        _databases[key] = postgres.new_database()
    return _databases[key]


def lasting_db_for(home: Path) -> str | None:
    """As `db_for`, for a module-scoped fixture: the PostgreSQL database is not dropped after
    the test that made it, and `db_for(home)` names it in every later test on this engine."""
    if current == "sqlite":
        return None
    key = (current, Path(home).resolve())
    if key not in _lasting:
        _lasting[key] = postgres.new_database(lasting=True)
    return _lasting[key]


def url_for(path: Path) -> str:
    """The URL of a test database named by `path`: the SQLite file at `path` on SQLite, a
    PostgreSQL database of its own on PostgreSQL (the same one for the same path)."""
    return db_for(path) or f"sqlite:///{path}"


def url_of(db: Database) -> str:
    """The URL of a database as the checks name it (an SQLite file, or a URL already)."""
    return db if isinstance(db, str) else f"sqlite:///{db}"


def database(home: Path) -> Database:
    """The database of an agent whose home is `home`, for the plain-driver checks."""
    return db_for(home) or Path(home) / "memchat.db"


def copy_of(source: Database, home: Path) -> Database:
    """A copy of the database `source` (nothing may be connected to it) as `home`'s database:
    HOME/memchat.db on SQLite; on PostgreSQL a database made from it as a template, which
    `db_for(home)` then names."""
    Path(home).mkdir(parents=True, exist_ok=True)
    if isinstance(source, str):
        _databases[Path(home).resolve()] = copy = postgres.new_database(template=source)
        return copy
    target = Path(home) / "memchat.db"
    # SQLite's backup API: whole, with what is still in the -wal file
    with (
        contextlib.closing(sqlite3.connect(source)) as src,
        contextlib.closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)
    return target


def env_for(home: Path) -> dict[str, str]:
    """Environment additions for a subprocess using `home`: MEMCHAT_DB on PostgreSQL."""
    url = db_for(home)
    return {"MEMCHAT_DB": url} if url else {}


def reset() -> None:
    """After a test: back to SQLite, its PostgreSQL databases dropped (not the lasting ones)."""
    global current
    current = "sqlite"
    _databases.clear()
    postgres.drop_created()
