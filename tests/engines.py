"""Which database engine the storage and agent tests run on: both, through `each_engine`.

A test module opts in with `pytestmark = pytest.mark.usefixtures("each_engine")`; every test in
it then runs once on SQLite and once on PostgreSQL. On PostgreSQL each home folder a test makes
an agent in gets its own database (the same one when the test opens that home again), and
subprocesses get it through `MEMCHAT_DB` (`env_for`).
"""

from __future__ import annotations

from pathlib import Path

from tests import postgres

ENGINES = ("sqlite", "postgresql")
current = "sqlite"
_databases: dict[Path, str] = {}


def db_for(home: Path) -> str | None:
    """The database URL for an agent whose home is `home`: None (the home's SQLite file) on
    SQLite, the home's own PostgreSQL database on PostgreSQL."""
    if current == "sqlite":
        return None
    key = Path(home).resolve()
    if key not in _databases:
        _databases[key] = postgres.new_database()
    return _databases[key]


def url_for(path: Path) -> str:
    """The URL of a test database named by `path`: the SQLite file at `path` on SQLite, a
    PostgreSQL database of its own on PostgreSQL (the same one for the same path)."""
    return db_for(path) or f"sqlite:///{path}"


def env_for(home: Path) -> dict[str, str]:
    """Environment additions for a subprocess using `home`: MEMCHAT_DB on PostgreSQL."""
    url = db_for(home)
    return {"MEMCHAT_DB": url} if url else {}


def reset() -> None:
    global current
    current = "sqlite"
    _databases.clear()
    postgres.drop_created()
