"""Calls from other programs (an MCP client): the memory actions, each recorded as a turn of
role "tool" in the caller's session (labelled by `agent.callers.caller_label`). A search
records its reads with their weights as a chat turn does, and a change is logged with the call's
turn, so the inspector shows which program read or wrote each memory."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.memory.store import ReadResult, Written
from agent.text import clean_message
from agent.turn import record_user_turn
from storage.models import Memory, MemoryEvent

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from agent.core import TurnStart
    from agent.memory.store import MemoryStore
    from agent.settings import Settings

TOOL_ROLE = "tool"
EMPTY_READ = ReadResult([], [], 0.0)


class ToolCalls:
    """Mixed into Agent. `caller` is the session label naming the program."""

    settings: Settings
    sessions: sessionmaker[Session]
    store: MemoryStore

    # ------------------------------------------------------------ what Agent provides

    def profile_id(self, create: bool = False) -> int:
        raise NotImplementedError

    def _chat_session(self, s: Session, profile_id: int, label: str) -> int:
        raise NotImplementedError

    def search(self, query: str, k: int | None = None, hops: int | None = None) -> ReadResult:
        raise NotImplementedError

    def remember(self, message: str, label: str = "chat", hops: int | None = None) -> TurnStart:
        raise NotImplementedError

    def add_memory(
        self, key: str, value: str, kind: str = "fact", turn_id: int | None = None
    ) -> Written:
        raise NotImplementedError

    def checked_memory(self, key: str, value: str, kind: str) -> tuple[str, str]:
        raise NotImplementedError

    def forget(
        self, memory_id: int, with_derived: bool = False, turn_id: int | None = None
    ) -> Memory:
        raise NotImplementedError

    def list_memories(self, kind: str | None = None, newest: int | None = None) -> list[Memory]:
        raise NotImplementedError

    def history(self, memory_id: int) -> list[MemoryEvent]:
        raise NotImplementedError

    def _memory(self, s: Session, profile_id: int, memory_id: int) -> Memory:
        raise NotImplementedError

    # ------------------------------------------------------------ the calls

    def record_call(self, caller: str, text: str, read: ReadResult = EMPTY_READ) -> int:
        """Store one call as a tool turn in the caller's session, with what it read (weights
        per hop; the DNC usage update); its turn id."""
        profile_id = self.profile_id(create=True)
        with self.store.unit(profile_id) as unit:
            session_id = self._chat_session(unit.session, profile_id, caller)
            return record_user_turn(unit, session_id, text, read, role=TOOL_ROLE)

    def call_search(
        self, caller: str, query: str, k: int | None = None, hops: int | None = None
    ) -> tuple[ReadResult, int]:
        """The attention read of `query`, recorded as the caller's read; (read, turn id)."""
        text = clean_message(query, self.settings.max_message_chars, "query")
        result = self.search(text, k, hops)
        return result, self.record_call(caller, text, result)

    def call_remember(self, caller: str, text: str) -> TurnStart:
        """A statement from the user, through the chat's write path (extraction, slots, history,
        proposals in review mode), as a user turn of the caller's session."""
        return self.remember(text, label=caller)

    def call_add(self, caller: str, key: str, value: str, kind: str) -> Written:
        """Add (or update, same key) a memory; the change is logged with the call's turn."""
        key, value = self.checked_memory(key, value, kind)  # bad input records no call
        turn_id = self.record_call(caller, f"add_memory: {kind} {key} = {value}")
        return self.add_memory(key, value, kind, turn_id=turn_id)

    def call_forget(self, caller: str, memory_id: int) -> Memory:
        """Forget one of the profile's memories (another profile's id is not found)."""
        with self.sessions() as s:  # NotFoundError before anything is recorded
            self._memory(s, self.profile_id(), memory_id)
        turn_id = self.record_call(caller, f"forget_memory: #{memory_id}")
        return self.forget(memory_id, turn_id=turn_id)

    def call_list(self, caller: str, kind: str | None, limit: int) -> list[Memory]:
        """The newest `limit` memories (of `kind`), newest first."""
        memories = self.list_memories(kind, newest=limit)
        self.record_call(caller, f"list_memories: {kind or 'all'}, {limit}")
        return memories

    def call_history(self, caller: str, memory_id: int) -> list[MemoryEvent]:
        events = self.history(memory_id)
        self.record_call(caller, f"memory_history: #{memory_id}")
        return events

    def call_profile(self, caller: str) -> list[Memory]:
        """The preferences and facts, what a chat prompt can hold about the user."""
        memories = self.profile_memories()
        self.record_call(caller, "profile")
        return memories

    def profile_memories(self) -> list[Memory]:
        """The preferences, then the facts, by id (not the turns: there may be 100,000)."""
        return self.list_memories("preference") + self.list_memories("fact")
