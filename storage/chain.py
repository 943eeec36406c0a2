"""The temporal chain of a profile's turn memories (`prev_id` / `next_id`), as one transaction
of writes extends it.

Linking a new turn memory after the tail used to cost a query for the tail and an UPDATE of
the tail's `next_id` per turn, and each forced a flush: one INSERT per memory. A `TurnChain`
looks the tail up once, sets each new memory's `prev_id` before its INSERT, and keeps the
forward links to write them in one statement (`write_links`), so a session of turns flushes as
a few batched statements.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from storage.models import Memory

UNKNOWN = -1  # the tail has not been looked up yet (memory ids start at 1)


def last_turn_memory_id(s: Session, profile_id: int) -> int | None:
    """The id of the newest turn memory: the tail of the temporal chain."""
    return s.scalar(
        select(Memory.id)
        .where(Memory.profile_id == profile_id, Memory.kind == "turn")
        .order_by(Memory.id.desc())
        .limit(1)
    )


@dataclass
class TurnChain:
    """One transaction's view of a profile's chain: its tail and the forward links not yet
    stored. Holders must call `write_links` before anything reads `next_id` from the database
    (a removal splices by it) and before the commit, and `forget_tail` after removing a turn
    memory (the tail may be gone)."""

    profile_id: int
    tail_id: int | None = UNKNOWN
    links: dict[int, int] = field(default_factory=dict)  # memory id -> its new next_id

    def append(self, s: Session, memory: Memory) -> None:
        """Link `memory` (a new turn memory with its id set) after the tail; it is the tail."""
        if self.tail_id == UNKNOWN:
            self.tail_id = last_turn_memory_id(s, self.profile_id)
        memory.prev_id = self.tail_id
        if self.tail_id is not None:
            self.links[self.tail_id] = memory.id
        self.tail_id = memory.id

    def forget_tail(self) -> None:
        self.tail_id = UNKNOWN

    def write_links(self, s: Session) -> None:
        """Store the forward links (after flushing the memories they name: a link must point at
        a row that exists) in one executemany UPDATE; loaded rows get the value too (the cache
        is filled from them)."""
        if not self.links:
            return
        s.flush()
        rows = [{"id": i, "next_id": n} for i, n in self.links.items()]
        s.execute(update(Memory), rows)  # ORM bulk UPDATE by primary key
        for memory_id, next_id in self.links.items():
            loaded = s.identity_map.get(identity_key(Memory, memory_id))
            if loaded is not None:
                set_committed_value(loaded, "next_id", next_id)
        self.links.clear()
