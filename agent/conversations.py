"""What users do with conversations (sessions): list them with their provenance and counts,
and forget one with everything that came from it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from agent.errors import NotFoundError
from agent.forgetting import forgotten as forgotten_memory
from agent.memory.store import Written
from storage import conversations as stored
from storage.conversations import ConversationRow

if TYPE_CHECKING:
    from sqlalchemy.orm import sessionmaker

    from agent.memory.store import MemoryStore


@dataclass(frozen=True)
class ForgottenConversation:
    session_id: int
    title: str
    turns: int  # turns deleted
    memories: list[Written]  # memories forgotten (each logged; its history is kept)


class ConversationActions:
    """Mixed into Agent; needs its sessions, store and active profile."""

    sessions: sessionmaker[Session]
    store: MemoryStore
    profile_name: str

    def profile_id(self, create: bool = False) -> int:
        raise NotImplementedError

    def conversations(self) -> list[ConversationRow]:
        """The active profile's conversations, oldest first, forgotten ones included."""
        with self.sessions() as s:
            return stored.list_conversations(s, self.profile_id())

    def forget_conversation(self, session_id: int) -> ForgottenConversation:
        """Forget conversation `session_id`: every memory that came from its turns (turn
        memories, what they stated), its turns and its pending proposals, in one transaction.
        An imported one stays listed as forgotten, so importing its export again skips it."""
        profile_id = self.profile_id()
        with self.store.unit(profile_id) as unit:
            session = stored.get_session(unit.session, profile_id, session_id)
            if session is None or session.forgotten_at is not None:
                gone = "was forgotten already" if session is not None else "does not exist"
                raise NotFoundError(
                    f"conversation {session_id} {gone} in profile {self.profile_name!r}"
                )
            title = session.title or session.label
            memories = stored.session_memories(unit.session, session_id)
            for memory in memories:
                unit.remove(memory, "forget")
            turns = stored.drop_session(unit.session, session)
        return ForgottenConversation(
            session_id, title, turns, [forgotten_memory(m) for m in memories]
        )
