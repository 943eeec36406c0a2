"""What users do with memories: search, list, add, edit, show, history, forget, pin, undo."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from agent.callers import is_caller_label
from agent.errors import NotFoundError, UsageError
from agent.memory.store import ReadResult, Written
from agent.memory.unit import current_usage
from agent.memory.write import address_text, addressed_with_value, write_slot
from agent.text import clean_message
from storage import repo
from storage.conversations import get_session, session_labels
from storage.models import MEMORY_KINDS, ChatSession, Memory, MemoryEvent, Turn, TurnRead, utcnow

if TYPE_CHECKING:
    from sqlalchemy.orm import sessionmaker

    from agent.memory.store import MemoryStore
    from agent.settings import Settings

WRITABLE_KINDS = ("fact", "preference", "note")


@dataclass(frozen=True)
class MemoryDetail:
    """A memory and its chain: where it came from, what came from the same turn, its temporal
    neighbours, its history and the turns that read it."""

    memory: Memory
    history: list[MemoryEvent]
    reads: list[TurnRead]
    source_turn: Turn | None
    # the other memories written from the same source turn (a turn's facts, a fact's turn)
    siblings: list[Memory] = field(default_factory=list)
    previous: Memory | None = None  # temporal links: the turn memory written before / after
    next: Memory | None = None
    conversation: ChatSession | None = None  # the source turn's session
    # The program behind each read or change made by another program's call (turn id ->
    # "mcp: Claude Code"); the chat's own turns are not in it.
    callers: dict[int, str] = field(default_factory=dict)


def slot_of_key(key: str) -> str:
    """The slot of a hand-added memory: its key, case and spacing ignored."""
    return " ".join(key.casefold().split())


class MemoryActions:
    """Mixed into Agent; needs its settings, sessions, store and active profile."""

    settings: Settings
    sessions: sessionmaker[Session]
    store: MemoryStore
    profile_name: str

    def profile_id(self, create: bool = False) -> int:
        raise NotImplementedError

    def search(self, query: str, k: int | None = None, hops: int | None = None) -> ReadResult:
        text = clean_message(query, self.settings.max_message_chars, "query")
        st = self.settings
        return self.store.search(
            self.profile_id(), text, k or st.read_k, hops or st.hops, st.tau, st.hop_lambda
        )

    def memory_dates(self, ids: list[int]) -> dict[int, tuple[datetime, datetime]]:
        """When each of the profile's memories `ids` was created and last updated."""
        with self.sessions() as s:
            found = repo.get_memories(s, self.profile_id(), ids)
        return {i: (m.created_at, m.updated_at) for i, m in found.items()}

    def list_memories(self, kind: str | None = None, newest: int | None = None) -> list[Memory]:
        """The profile's memories by id (only the `newest`, newest first, when given), `usage`
        as of now (decayed since its last use)."""
        if kind is not None and kind not in MEMORY_KINDS:
            raise UsageError(f"unknown kind {kind!r}; one of {', '.join(MEMORY_KINDS)}")
        with self.sessions() as s:
            memories = repo.list_memories(s, self.profile_id(), kind, newest)
        return self._usage_now(memories)

    def _usage_now(self, memories: list[Memory]) -> list[Memory]:
        """Set each (detached) memory's usage to its value now (the stored one is as of
        `used_at`, which stays as the time of its last use). Nothing is written back."""
        now = utcnow()
        for memory in memories:
            memory.usage = current_usage(memory, self.store.half_life_s, now)
        return memories

    def checked_memory(self, key: str, value: str, kind: str) -> tuple[str, str]:
        """The key and value of a memory to add, cleaned, or a UsageError saying what is wrong."""
        if kind not in WRITABLE_KINDS:
            raise UsageError(f"kind must be one of {', '.join(WRITABLE_KINDS)}, not {kind!r}")
        limit = self.settings.max_message_chars
        return clean_message(key, limit, "key"), clean_message(value, limit, "value")

    def add_memory(
        self, key: str, value: str, kind: str = "fact", turn_id: int | None = None
    ) -> Written:
        """Add a memory by hand; the same key (case-insensitive) updates it instead. `turn_id`:
        the call of another program that asked for it (logged with the change)."""
        key, value = self.checked_memory(key, value, kind)
        profile_id = self.profile_id(create=True)
        key_vec, value_vec = self.store.encoder.encode([address_text(key, value, False), value])
        with self.store.unit(profile_id) as unit:
            written = write_slot(
                unit,
                kind=kind,
                slot=slot_of_key(key),
                key=key,
                value=value,
                key_vec=key_vec,
                value_vec=value_vec,
                turn_id=turn_id,
                from_turn=False,
            )
        if written is None:  # already held exactly: report the memory as it is
            with self.sessions() as s:
                memory = repo.find_by_slot(s, profile_id, slot_of_key(key))
                assert memory is not None
                return Written(memory.id, memory.kind, memory.key_text, memory.value_text, "update")
        return written

    def _memory(self, s: Session, profile_id: int, memory_id: int) -> Memory:
        memory = repo.get_memory(s, profile_id, memory_id)
        if memory is None:
            raise NotFoundError(f"no memory {memory_id} in profile {self.profile_name!r}")
        return memory

    def show(self, memory_id: int) -> MemoryDetail:
        """The memory with its history, the turns that read it, and the turn it came from."""
        with self.sessions() as s:
            memory = self._memory(s, self.profile_id(), memory_id)
            source = memory.source_turn_id
            profile_id = memory.profile_id
            linked = repo.get_memories(
                s, profile_id, [i for i in (memory.prev_id, memory.next_id) if i]
            )
            turn = repo.get_turn(s, profile_id, source) if source is not None else None
            detail = MemoryDetail(
                memory,
                repo.memory_history(s, profile_id, memory_id),
                repo.reads_of_memory(s, profile_id, memory_id),
                turn,
                [m for m in repo.derived_memories(s, profile_id, source) if m.id != memory_id]
                if source is not None
                else [],
                linked.get(memory.prev_id) if memory.prev_id else None,
                linked.get(memory.next_id) if memory.next_id else None,
                get_session(s, profile_id, turn.session_id) if turn is not None else None,
            )
            detail.callers.update(self._callers(s, profile_id, detail))
        self._usage_now([detail.memory])
        return detail

    @staticmethod
    def _callers(s: Session, profile_id: int, detail: MemoryDetail) -> dict[int, str]:
        """The other programs behind the detail's reads and changes, by turn id."""
        turns = [r.turn_id for r in detail.reads] + [e.turn_id for e in detail.history if e.turn_id]
        labels = session_labels(s, profile_id, turns)
        return {turn: label for turn, label in labels.items() if is_caller_label(label)}

    def history(self, memory_id: int) -> list[MemoryEvent]:
        """The events of a memory, also after it was forgotten."""
        profile_id = self.profile_id()
        with self.sessions() as s:
            events = repo.memory_history(s, profile_id, memory_id)
        if not events:
            raise NotFoundError(f"no memory {memory_id} in profile {self.profile_name!r}")
        return events

    def derived_from(self, memory_id: int) -> list[Memory]:
        """The memories extracted from the same turn as a turn memory (what forgetting the turn
        may take along); empty for other kinds."""
        with self.sessions() as s:
            memory = self._memory(s, self.profile_id(), memory_id)
            if memory.kind != "turn" or memory.source_turn_id is None:
                return []
            found = repo.derived_memories(s, memory.profile_id, memory.source_turn_id)
        return [m for m in found if m.id != memory_id]

    def forget(
        self, memory_id: int, with_derived: bool = False, turn_id: int | None = None
    ) -> Memory:
        """Forget a memory (logged); `with_derived` also forgets what was extracted from the
        same turn when it is a turn memory (see `derived_from`). `turn_id`: the call of another
        program that asked for it (logged with the forgetting)."""
        derived = self.derived_from(memory_id) if with_derived else []
        profile_id = self.profile_id()
        with self.store.unit(profile_id) as unit:
            memory = self._memory(unit.session, profile_id, memory_id)
            unit.remove(memory, "forget", turn_id=turn_id)
            for other in repo.get_memories(
                unit.session, profile_id, [m.id for m in derived]
            ).values():
                unit.remove(other, "forget", turn_id=turn_id)
        return memory

    def set_pinned(self, memory_id: int, pinned: bool) -> Memory:
        profile_id = self.profile_id()
        with self.store.unit(profile_id) as unit:
            memory = self._memory(unit.session, profile_id, memory_id)
            repo.set_pinned(unit.session, memory, pinned)
        return memory

    def edit_memory(self, memory_id: int, key: str, value: str) -> Written:
        """Change a memory's key and value in place (re-encoded); the old ones are logged."""
        limit = self.settings.max_message_chars
        key, value = clean_message(key, limit, "key"), clean_message(value, limit, "value")
        profile_id = self.profile_id()
        with self.sessions() as s:
            memory = self._memory(s, profile_id, memory_id)
            extracted = addressed_with_value(memory.kind, memory.source_turn_id)
        key_vec, value_vec = self.store.encoder.encode([address_text(key, value, extracted), value])
        with self.store.unit(profile_id) as unit:
            memory = self._memory(unit.session, profile_id, memory_id)
            if (memory.key_text, memory.value_text) != (key, value):
                unit.update(memory, key, value, key_vec, value_vec)
        return Written(memory.id, memory.kind, key, value, "update")

    def undo(self, written: Written) -> str:
        """Undo what a turn wrote: forget an added memory, or restore an updated one's
        previous key and value. Returns what was done, for the user."""
        if written.action == "add":
            self.forget(written.id)
            return f"forgot memory #{written.id}"
        updates = [e for e in self.history(written.id) if e.action == "update"]
        if not updates or updates[-1].old_value is None:
            raise NotFoundError(f"memory {written.id} has no earlier value to restore")
        last = updates[-1]
        self.edit_memory(written.id, last.old_key or written.key, last.old_value)
        return f"restored memory #{written.id} to {last.old_value!r}"
