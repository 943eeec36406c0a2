"""Sessions as conversations: finding an imported one again by its export's ids, listing a
profile's conversations with their counts, forgetting one, and the session each turn was
said in (which program made it)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from storage.ids import storable
from storage.models import ChatSession, Memory, Proposal, Turn, utcnow


def imported_session(
    s: Session, profile_id: int, source: str, source_id: str
) -> ChatSession | None:
    """The profile's session of the export's conversation `source_id`, if imported before."""
    return s.scalar(
        select(ChatSession).where(
            ChatSession.profile_id == profile_id,
            ChatSession.source == source,
            ChatSession.source_id == source_id,
        )
    )


def message_ids(s: Session, session_id: int) -> set[str]:
    """The export ids of the messages already imported into the session."""
    found = s.scalars(
        select(Turn.source_id).where(Turn.session_id == session_id, Turn.source_id.is_not(None))
    )
    return {i for i in found if i is not None}


@dataclass(frozen=True)
class ConversationRow:
    session: ChatSession
    turns: int
    memories: int  # the memories whose source turn is one of its turns


def list_conversations(s: Session, profile_id: int) -> list[ConversationRow]:
    """The profile's sessions, forgotten ones included, oldest first, with their counts."""
    turns = (
        select(Turn.session_id, func.count(Turn.id).label("turns"))
        .where(Turn.profile_id == profile_id)
        .group_by(Turn.session_id)
        .subquery()
    )
    memories = (
        select(Turn.session_id, func.count(Memory.id).label("memories"))
        .join(Memory, Memory.source_turn_id == Turn.id)
        .where(Turn.profile_id == profile_id)
        .group_by(Turn.session_id)
        .subquery()
    )
    rows = s.execute(
        select(ChatSession, turns.c.turns, memories.c.memories)
        .outerjoin(turns, turns.c.session_id == ChatSession.id)
        .outerjoin(memories, memories.c.session_id == ChatSession.id)
        .where(ChatSession.profile_id == profile_id)
        .order_by(ChatSession.started_at, ChatSession.id)
    ).all()
    return [ConversationRow(c, t or 0, m or 0) for c, t, m in rows]


def get_session(s: Session, profile_id: int, session_id: int) -> ChatSession | None:
    return s.scalar(
        select(ChatSession).where(
            ChatSession.id == session_id, ChatSession.profile_id == profile_id
        )
    )


def session_memories(s: Session, session_id: int) -> list[Memory]:
    """Every memory whose source turn is one of the session's turns, by id."""
    turn_ids = select(Turn.id).where(Turn.session_id == session_id)
    return list(
        s.scalars(select(Memory).where(Memory.source_turn_id.in_(turn_ids)).order_by(Memory.id))
    )


def drop_session(s: Session, session: ChatSession) -> int:
    """Delete the session's turns and its pending proposals (their reads go with them); an
    imported session stays, without its title, marked forgotten (so a later import of the
    same export skips it), a chat session goes. Returns the number of turns deleted."""
    turn_ids = select(Turn.id).where(Turn.session_id == session.id)
    s.execute(
        delete(Proposal)
        .where(Proposal.status == "pending", Proposal.source_turn_id.in_(turn_ids))
        .execution_options(synchronize_session=False)
    )
    deleted = s.execute(
        delete(Turn)
        .where(Turn.session_id == session.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if session.source:
        session.forgotten_at, session.title, session.label = utcnow(), "", "(forgotten)"
    else:
        s.delete(session)
    s.flush()
    return int(deleted or 0)


def session_labels(s: Session, profile_id: int, turn_ids: Iterable[int]) -> dict[int, str]:
    """The label of each turn's session (e.g. "chat", "mcp: Claude Code"), by turn id."""
    wanted = [i for i in set(turn_ids) if storable(s, i)]
    if not wanted:
        return {}
    rows = s.execute(
        select(Turn.id, ChatSession.label)
        .join(ChatSession, ChatSession.id == Turn.session_id)
        .where(Turn.profile_id == profile_id, Turn.id.in_(wanted))
    ).all()
    return {turn_id: label for turn_id, label in rows}
