"""PostgreSQL with pgvector: one memory shared by several processes on several machines.

Writers take turns, as on SQLite: a write transaction (`with session.begin():`, or a connection
given `WRITE_OPTION`) first takes a transaction-scoped advisory lock, held until it commits or
rolls back, so the read-check-write steps of a turn (the next free slot, a memory's usage, the
profile's memory version) never interleave with another process's and no update is lost. Reads
take no lock and never wait. The lock is one for the whole database: a turn's writes take
milliseconds, far below what several people chatting produce (bench/postgres.py measures it).

Credentials come from the URL, `PGPASSWORD` or `~/.pgpass` (libpq reads the last two itself);
messages name the database by its URL without the password.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, event
from sqlalchemy.engine import URL

from storage.engine_kind import WRITE_OPTION
from storage.errors import StorageError

DRIVER = "psycopg"  # psycopg 3, from the `postgres` extra
# The advisory lock every write transaction holds: the bytes of "memchat" as a bigint.
WRITE_LOCK_KEY = int.from_bytes(b"memchat", "big")


def with_driver(url: URL) -> URL:
    """postgresql:// and postgres:// URLs use psycopg 3 (SQLAlchemy's default is psycopg2)."""
    if url.drivername in ("postgresql", "postgres"):
        return url.set(drivername=f"postgresql+{DRIVER}")
    return url


class PostgresEngine:
    """Checks that the driver is installed; makes write transactions take the write lock."""

    name = "postgresql"

    def prepare(self, url: URL) -> None:
        try:
            import psycopg  # noqa: F401
        except ImportError as exc:
            raise StorageError(
                "PostgreSQL needs the postgres extra: pip install 'memchat[postgres]'"
            ) from exc

    def configure(self, engine: Engine) -> None:
        event.listen(engine, "begin", _begin)


def _begin(connection: Connection) -> None:
    """In a write transaction, wait for the write lock before its first statement."""
    if connection.get_execution_options().get(WRITE_OPTION):
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})")
