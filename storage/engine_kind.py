"""The seam between the storage code and a database engine (SQLite or PostgreSQL).

`storage.db.make_engine` picks one implementation by the URL's backend and asks it to prepare
what must exist before connecting and to set how transactions begin. Everything else (models,
migrations, queries) is shared, written in SQLAlchemy's portable terms.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import Engine
from sqlalchemy.engine import URL

# Execution option of a connection whose transactions will write: every engine makes such
# transactions wait for each other (one writer at a time), so a read-then-write never loses
# another process's update.
WRITE_OPTION = "memchat_write"


class EngineKind(Protocol):
    name: str

    def prepare(self, url: URL) -> None:
        """Before the engine exists: what must be there to connect (a file, a driver)."""

    def configure(self, engine: Engine) -> None:
        """Event hooks on the new engine: connection settings, how transactions begin."""
