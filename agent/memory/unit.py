"""One transaction of writes to one profile's memory, and the DNC usage of its memories.

A `Unit` adds, updates and removes memories (each change logged by the repository, with the
key's BM25 tokens stored beside it), updates
usage after a read, and frees the least used memories past the profile's capacity. The store
applies its changes to the key cache only after the commit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import torch
from sqlalchemy.orm import Session

from agent.memory.cache import vector_to_blob
from agent.memory.lexical import encode_terms, tokens
from agent.memory.usage import decayed_usage, lowest_usage, usage_update
from storage import repo
from storage import usage as stored_usage
from storage.chain import TurnChain
from storage.models import Memory, utcnow


@dataclass
class Unit:
    """One transaction of writes to one profile's memory; cache changes wait for the commit."""

    session: Session
    profile_id: int
    half_life_s: float = 0.0  # usage decay (see agent/memory/usage.py); 0: none
    puts: list[Memory] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    freed: list[Memory] = field(default_factory=list)  # by capacity, at the commit
    # Runs once, before the unit's first write of vectors (the store checks the encoder there,
    # while the profile's rows are still all from before this unit).
    before_write: Callable[[Session], None] | None = None
    next_id: int | None = None  # the next memory id to hand out (see _new_memory_id)
    chain: TurnChain = field(init=False)  # the temporal chain as this unit extends it

    def __post_init__(self) -> None:
        self.chain = TurnChain(self.profile_id)

    def _writing_vectors(self) -> None:
        check, self.before_write = self.before_write, None
        if check is not None:
            check(self.session)

    def add(self, memory: Memory, turn_id: int | None = None) -> Memory:
        self._writing_vectors()
        if memory.id is None:
            memory.id = self._new_memory_id()
        memory.profile_id = self.profile_id
        memory.key_terms = key_terms(memory.key_text)
        memory.usage, memory.used_at = 1.0, utcnow()  # a write with weight 1: u + 1 - u = 1
        repo.add_memory(self.session, memory, turn_id=turn_id, chain=self.chain)
        self.puts.append(memory)
        return memory

    def update(
        self,
        memory: Memory,
        key: str,
        value: str,
        key_vec: torch.Tensor,
        value_vec: torch.Tensor,
        turn_id: int | None = None,
        from_turn: bool = True,
    ) -> None:
        self._writing_vectors()
        repo.update_memory(
            self.session,
            memory,
            key_text=key,
            value_text=value,
            key_emb=vector_to_blob(key_vec),
            value_emb=vector_to_blob(value_vec),
            key_terms=key_terms(key),
            turn_id=turn_id,
            from_turn=from_turn,
        )
        memory.usage, memory.used_at = 1.0, utcnow()  # a write with weight 1
        self.puts.append(memory)

    def _new_memory_id(self) -> int:
        """An id no memory ever had (repo.next_memory_id), asked of the database once per
        unit: the unit holds the write lock, so no other writer allocates meanwhile."""
        if self.next_id is None:
            self.next_id = repo.next_memory_id(self.session)
        self.next_id += 1
        return self.next_id - 1

    def remove(self, memory: Memory, action: str = "forget", turn_id: int | None = None) -> None:
        self.chain.write_links(self.session)  # the splice reads the links
        self.removed.append(memory.id)
        repo.remove_memory(self.session, memory, action, turn_id=turn_id)
        if memory.kind == "turn":
            self.chain.forget_tail()

    def finish(self) -> None:
        """Write what waits for the end of the unit (the chain's forward links) and flush."""
        self.chain.write_links(self.session)
        self.session.flush()

    def touch(self, weights: dict[int, float]) -> None:
        """DNC usage after a read: u <- u(now) + w - u(now) * w for each memory read (one
        select and one update for all of them)."""
        rows = stored_usage.usage_rows_of(self.session, self.profile_id, list(weights))
        if not rows:
            return
        now = utcnow()
        current = decayed_usage(
            torch.tensor([u for _, u, _ in rows]),
            torch.tensor([age_s(t, now) for _, _, t in rows]),
            self.half_life_s,
        )  # (m,)
        read = torch.tensor([weights[i] for i, _, _ in rows])  # (m,)
        updated = usage_update(current, read).tolist()
        stored_usage.set_usage(
            self.session, [(i, u, now) for (i, _, _), u in zip(rows, updated, strict=True)]
        )

    def free_to_capacity(self, capacity: int) -> list[Memory]:
        """Free the unpinned memories with the lowest usage now until at most `capacity` remain
        (memories written in this unit are kept); each freeing is a `free` event."""
        over = repo.count_memories(self.session, self.profile_id) - capacity
        if capacity <= 0 or over <= 0:
            return []
        self.session.flush()
        rows = stored_usage.usage_rows(self.session, self.profile_id)  # by id: write order
        now = utcnow()
        kept = {m.id for m in self.puts}
        usage = decayed_usage(
            torch.tensor([r.usage for r in rows]),
            torch.tensor([age_s(r.used_at, now) for r in rows]),
            self.half_life_s,
        )  # (n,)
        freeable = torch.tensor([not r.pinned and r.id not in kept for r in rows])  # (n,)
        victims = [rows[i].id for i in lowest_usage(usage, freeable, over).tolist()]
        found = repo.get_memories(self.session, self.profile_id, victims)
        freed = [found[i] for i in victims]
        for memory in freed:
            self.remove(memory, "free")
        self.freed.extend(freed)
        return freed


def key_terms(key_text: str) -> bytes:
    """What a memory stores of its key's BM25 tokens (loading then tokenises nothing)."""
    return encode_terms(tokens(key_text))


def age_s(then: datetime | None, now: datetime) -> float:
    """Seconds from `then` to `now` (0 when unknown)."""
    if then is None:
        return 0.0
    return (now - then).total_seconds()


def current_usage(memory: Memory, half_life_s: float, now: datetime | None = None) -> float:
    """The memory's usage decayed to now (its stored usage is as of `used_at`)."""
    now = now or utcnow()
    age = torch.tensor(age_s(memory.used_at, now))
    return float(decayed_usage(torch.tensor(memory.usage or 0.0), age, half_life_s))
