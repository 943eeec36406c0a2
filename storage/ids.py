"""Which ids can name a row at all: the range of each engine's id columns."""

from __future__ import annotations

from sqlalchemy.orm import Session

# The largest id SQLite can store (a signed 64-bit INTEGER). A larger id given by a user
# names no row; passed to the driver it would raise OverflowError instead.
MAX_ID = 2**63 - 1
# PostgreSQL's id columns are its 32-bit INTEGER: a larger id names no row there, and compared
# with one it raised "integer out of range".
MAX_ID_OF_ENGINE = {"postgresql": 2**31 - 1}


def storable(s: Session, row_id: int) -> bool:
    """True when `row_id` can name a row at all (the range of the engine's id columns)."""
    largest = MAX_ID_OF_ENGINE.get(s.get_bind().dialect.name, MAX_ID)
    return -largest - 1 <= row_id <= largest
