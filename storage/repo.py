"""Repository functions. Each takes a Session; the caller owns the transaction (commit/rollback)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from storage.chain import TurnChain
from storage.ids import storable
from storage.models import (
    CONVERSATION_ROLES,
    ChatSession,
    Memory,
    MemoryEvent,
    Profile,
    Proposal,
    Turn,
    TurnRead,
    utcnow,
)

# ---------------------------------------------------------------- profiles


@dataclass(frozen=True)
class ProfileCounts:
    profile: Profile
    memories: int
    turns: int


def get_profile(s: Session, name: str) -> Profile | None:
    return s.scalar(select(Profile).where(Profile.name == name))


def fresh_memory_version() -> int:
    """The memory version a new profile starts at: random, not 0. Profile ids are reused
    after a delete, and another process may still cache the deleted profile's keys under
    (id, version); a new profile starting at 0 would soon reach that version and the stale
    cache would pass for its own. A random 40-bit start makes that a 1-in-10^12 chance."""
    return secrets.randbits(40)


def create_profile(s: Session, name: str) -> Profile:
    profile = Profile(name=name, memory_version=fresh_memory_version())
    s.add(profile)
    s.flush()
    return profile


def get_or_create_profile(s: Session, name: str) -> Profile:
    return get_profile(s, name) or create_profile(s, name)


def list_profiles(s: Session) -> list[ProfileCounts]:
    memories = (
        select(Memory.profile_id, func.count().label("n")).group_by(Memory.profile_id).subquery()
    )
    turns = select(Turn.profile_id, func.count().label("n")).group_by(Turn.profile_id).subquery()
    rows = s.execute(
        select(Profile, func.coalesce(memories.c.n, 0), func.coalesce(turns.c.n, 0))
        .outerjoin(memories, memories.c.profile_id == Profile.id)
        .outerjoin(turns, turns.c.profile_id == Profile.id)
    ).all()
    # sorted here, by code point as SQLite's BINARY collation does: a PostgreSQL server sorts
    # by its own collation (en_US puts "alice" before "Bob")
    rows.sort(key=lambda row: row[0].name)
    return [ProfileCounts(p, int(m), int(t)) for p, m, t in rows]


def reset_profile(s: Session, profile_id: int) -> None:
    """Delete every memory, event, turn and session of one profile; the profile row stays."""
    # Links and provenance point inside the profile; clear them first so order doesn't matter.
    s.execute(
        update(Memory)
        .where(Memory.profile_id == profile_id)
        .values(prev_id=None, next_id=None, source_turn_id=None)
    )
    s.execute(delete(MemoryEvent).where(MemoryEvent.profile_id == profile_id))
    s.execute(delete(Proposal).where(Proposal.profile_id == profile_id))
    s.execute(delete(Memory).where(Memory.profile_id == profile_id))
    turn_ids = select(Turn.id).where(Turn.profile_id == profile_id)
    s.execute(delete(TurnRead).where(TurnRead.turn_id.in_(turn_ids)))
    s.execute(delete(Turn).where(Turn.profile_id == profile_id))
    s.execute(delete(ChatSession).where(ChatSession.profile_id == profile_id))
    bump_memory_version(s, profile_id)


def delete_profile(s: Session, profile_id: int) -> None:
    reset_profile(s, profile_id)
    s.execute(delete(Profile).where(Profile.id == profile_id))


# ---------------------------------------------------------------- sessions and turns


def start_session(s: Session, profile_id: int, label: str = "") -> ChatSession:
    session = ChatSession(profile_id=profile_id, label=label)
    s.add(session)
    s.flush()
    return session


def has_session(s: Session, profile_id: int, session_id: int) -> bool:
    """True when the chat session exists and is the profile's: a session id held across
    transactions may have been deleted since (a reset elsewhere) and even reused by another
    profile's session."""
    found = s.scalar(
        select(ChatSession.id).where(
            ChatSession.id == session_id, ChatSession.profile_id == profile_id
        )
    )
    return found is not None


def new_turn(
    profile_id: int,
    session_id: int,
    role: str,
    text: str,
    speaker: str = "",
    created_at: datetime | None = None,
) -> Turn:
    """A turn row, not yet added; `created_at` for one said in the past (an imported
    conversation), else now."""
    turn = Turn(profile_id=profile_id, session_id=session_id, role=role, text=text, speaker=speaker)
    if created_at is not None:
        turn.created_at = created_at
    return turn


def add_turns(s: Session, turns: list[Turn]) -> list[Turn]:
    """Insert `turns` (from `new_turn`) in one flush, a batched INSERT; their ids are set."""
    s.add_all(turns)
    s.flush()
    return turns


def add_turn(s: Session, turn: Turn) -> Turn:
    """Insert one turn (from `new_turn`); its id is set."""
    return add_turns(s, [turn])[0]


def recent_turns(s: Session, profile_id: int, n: int) -> list[Turn]:
    """The last `n` turns of the conversation (user and assistant; not other programs' calls),
    oldest first."""
    rows = s.scalars(
        select(Turn)
        .where(Turn.profile_id == profile_id, Turn.role.in_(CONVERSATION_ROLES))
        .order_by(Turn.id.desc())
        .limit(n)
    ).all()
    return list(reversed(rows))


def get_turn(s: Session, profile_id: int, turn_id: int) -> Turn | None:
    if not storable(s, turn_id):
        return None
    return s.scalar(select(Turn).where(Turn.id == turn_id, Turn.profile_id == profile_id))


def record_reads(
    s: Session, turn_id: int, reads: Iterable[tuple[int, int, int, float, float]]
) -> None:
    """Store (memory_id, hop, rank, weight, score) rows for one turn, in one statement (one
    INSERT each cost a round of the ORM per read row)."""
    rows = [
        {"turn_id": turn_id, "memory_id": m, "hop": h, "rank": r, "weight": w, "score": sc}
        for m, h, r, w, sc in reads
    ]
    if rows:
        s.execute(insert(TurnRead.__table__), rows)


def reads_of_memory(s: Session, profile_id: int, memory_id: int, limit: int = 20) -> list[TurnRead]:
    """The latest first-hop reads of a memory by the profile's own turns. `memory_id` is a
    plain column: the turn's profile is what keeps another profile's reads out."""
    if not storable(s, memory_id):
        return []
    return list(
        s.scalars(
            select(TurnRead)
            .join(Turn, Turn.id == TurnRead.turn_id)
            .where(
                TurnRead.memory_id == memory_id, TurnRead.hop == 0, Turn.profile_id == profile_id
            )
            .order_by(TurnRead.id.desc())
            .limit(limit)
        )
    )


# ---------------------------------------------------------------- memories


def get_memory(s: Session, profile_id: int, memory_id: int) -> Memory | None:
    if not storable(s, memory_id):
        return None
    return s.scalar(select(Memory).where(Memory.id == memory_id, Memory.profile_id == profile_id))


def get_memories(s: Session, profile_id: int, ids: Sequence[int]) -> dict[int, Memory]:
    ids = [i for i in ids if storable(s, i)]
    if not ids:
        return {}
    rows = s.scalars(select(Memory).where(Memory.profile_id == profile_id, Memory.id.in_(ids)))
    return {m.id: m for m in rows}


def get_proposal(s: Session, profile_id: int, proposal_id: int) -> Proposal | None:
    if not storable(s, proposal_id):
        return None
    return s.scalar(
        select(Proposal).where(Proposal.id == proposal_id, Proposal.profile_id == profile_id)
    )


def find_by_slot(s: Session, profile_id: int, slot: str) -> Memory | None:
    return s.scalar(select(Memory).where(Memory.profile_id == profile_id, Memory.slot == slot))


def list_memories(
    s: Session, profile_id: int, kind: str | None = None, newest: int | None = None
) -> list[Memory]:
    """The profile's memories (of `kind`) by id; only the `newest` ones, newest first, when
    given (a client asking for 20 of 100,000 loads 20 rows)."""
    query = select(Memory).where(Memory.profile_id == profile_id)
    if kind:
        query = query.where(Memory.kind == kind)
    if newest is not None:
        return list(s.scalars(query.order_by(Memory.id.desc()).limit(newest)))
    return list(s.scalars(query.order_by(Memory.id)))


def derived_memories(s: Session, profile_id: int, turn_id: int) -> list[Memory]:
    """Every memory whose source is the turn `turn_id` (its episodic memory and what was
    extracted from it), by id."""
    return list(
        s.scalars(
            select(Memory)
            .where(Memory.profile_id == profile_id, Memory.source_turn_id == turn_id)
            .order_by(Memory.id)
        )
    )


def log_event(
    s: Session,
    memory: Memory,
    action: str,
    *,
    old: tuple[str, str] | None = None,
    turn_id: int | None = None,
) -> MemoryEvent:
    """Log `action` on `memory`; `old` is the (key, value) before an update or removal."""
    removed = action in ("forget", "free")
    event = MemoryEvent(
        profile_id=memory.profile_id,
        memory_id=memory.id,
        action=action,
        old_key=old[0] if old else None,
        old_value=old[1] if old else None,
        new_key=None if removed else memory.key_text,
        new_value=None if removed else memory.value_text,
        turn_id=turn_id,
    )
    s.add(event)
    return event


def next_memory_id(s: Session) -> int:
    """An id no memory ever had: above every memory and every memory event. SQLite hands out
    max(id) + 1, so forgetting the newest memory would give its id to the next one, whose
    history (events are kept by memory id) and reads would then include the forgotten one's,
    in whichever profile it was."""
    newest_row = s.scalar(select(func.max(Memory.id))) or 0
    newest_event = s.scalar(select(func.max(MemoryEvent.memory_id))) or 0  # an indexed column
    return max(int(newest_row), int(newest_event)) + 1


def add_memory(
    s: Session, memory: Memory, turn_id: int | None = None, chain: TurnChain | None = None
) -> Memory:
    """Insert `memory` under a never-used id; a turn memory is linked after the tail of the
    temporal chain. With `chain` (a unit of writes' view of it) the INSERT waits for the next
    flush and the tail's forward link for `chain.write_links`; without, both are written now."""
    if memory.id is None:
        memory.id = next_memory_id(s)
    own = chain if chain is not None else TurnChain(memory.profile_id)
    if memory.kind == "turn":
        own.append(s, memory)
    s.add(memory)
    if chain is None:
        own.write_links(s)
        s.flush()
    log_event(s, memory, "add", turn_id=turn_id)
    return memory


def update_memory(
    s: Session,
    memory: Memory,
    *,
    key_text: str,
    value_text: str,
    key_emb: bytes,
    value_emb: bytes,
    key_terms: bytes | None = None,
    turn_id: int | None = None,
    from_turn: bool = True,
) -> None:
    """Erase and write in place, logging the old value; `key_terms` are the new key's (None:
    not computed). The turn `turn_id` becomes the memory's source unless `from_turn` is False
    (another program's call changed it: nothing was extracted from that turn)."""
    old = (memory.key_text, memory.value_text)
    memory.key_text, memory.value_text = key_text, value_text
    memory.key_terms = key_terms
    memory.key_emb, memory.value_emb = key_emb, value_emb
    memory.updated_at = utcnow()
    if turn_id is not None and from_turn:
        memory.source_turn_id = turn_id
    s.flush()
    log_event(s, memory, "update", old=old, turn_id=turn_id)


def remove_memory(
    s: Session, memory: Memory, action: str = "forget", turn_id: int | None = None
) -> None:
    """Delete `memory` (logged as `action`), splicing the temporal chain around a turn."""
    old = (memory.key_text, memory.value_text)
    log_event(s, memory, action, old=old, turn_id=turn_id)
    if memory.kind == "turn":
        if memory.prev_id is not None:
            s.execute(
                update(Memory).where(Memory.id == memory.prev_id).values(next_id=memory.next_id)
            )
        if memory.next_id is not None:
            s.execute(
                update(Memory).where(Memory.id == memory.next_id).values(prev_id=memory.prev_id)
            )
    s.delete(memory)
    s.flush()


def count_memories(s: Session, profile_id: int) -> int:
    return int(s.scalar(select(func.count()).where(Memory.profile_id == profile_id)) or 0)


def set_pinned(s: Session, memory: Memory, pinned: bool) -> None:
    if memory.pinned != pinned:
        memory.pinned = pinned
        log_event(s, memory, "pin" if pinned else "unpin")


def memory_history(s: Session, profile_id: int, memory_id: int) -> list[MemoryEvent]:
    if not storable(s, memory_id):
        return []
    return list(
        s.scalars(
            select(MemoryEvent)
            .where(MemoryEvent.profile_id == profile_id, MemoryEvent.memory_id == memory_id)
            .order_by(MemoryEvent.id)
        )
    )


def memory_version(s: Session, profile_id: int) -> int:
    """The profile's memory version (see `Profile.memory_version`)."""
    return int(s.scalar(select(Profile.memory_version).where(Profile.id == profile_id)) or 0)


def bump_memory_version(s: Session, profile_id: int) -> int:
    """Mark the profile's memories as changed in this transaction; returns the new version."""
    s.execute(
        update(Profile)
        .where(Profile.id == profile_id)
        .values(memory_version=Profile.memory_version + 1)
    )
    return memory_version(s, profile_id)


def memory_sources(
    s: Session, profile_id: int, memory_ids: Sequence[int]
) -> dict[int, tuple[Memory, Turn | None]]:
    """Each memory with the turn it came from (None for one added by hand or whose turn is
    gone): what was said, by whom and when, for an answer that cites it."""
    ids = [i for i in memory_ids if storable(s, i)]
    if not ids:
        return {}
    rows = s.execute(
        select(Memory, Turn)
        .outerjoin(Turn, Turn.id == Memory.source_turn_id)
        .where(Memory.profile_id == profile_id, Memory.id.in_(ids))
    ).all()
    return {memory.id: (memory, turn) for memory, turn in rows}
