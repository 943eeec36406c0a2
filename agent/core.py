"""The agent: the turn loop and everything users do with memories and profiles."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from agent.errors import NotFoundError, UsageError
from agent.memory.store import Encoder, MemoryStore, ReadResult, Written
from agent.memory.write import address_text, write_slot
from agent.prompt import Prompt, build_prompt
from agent.settings import Settings
from agent.text import clean_message
from agent.turn import (
    Generator,
    TurnResult,
    elapsed_ms,
    generate,
    record_user_turn,
    write_statements,
    write_turn_memory,
)
from storage import repo, transfer
from storage.models import MEMORY_KINDS, Memory, MemoryEvent, TurnRead

WRITABLE_KINDS = ("fact", "preference", "note")


class Models:
    """The encoder and the generator, each loaded on first use."""

    def __init__(
        self, load_encoder: Callable[[], Encoder], load_generator: Callable[[], Generator]
    ) -> None:
        self._load_encoder, self._load_generator = load_encoder, load_generator

    @cached_property
    def encoder(self) -> Encoder:
        return self._load_encoder()

    @cached_property
    def generator(self) -> Generator:
        return self._load_generator()


@dataclass(frozen=True)
class TurnStart:
    """What `remember` committed for one user message."""

    text: str
    profile_id: int
    session_id: int
    turn_id: int
    read: ReadResult
    written: list[Written]
    timings_ms: dict[str, float]


@dataclass(frozen=True)
class MemoryDetail:
    memory: Memory
    history: list[MemoryEvent]
    reads: list[TurnRead]


class Agent:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session], models: Models) -> None:
        self.settings = settings
        self.sessions = sessions
        self.models = models
        self.store = MemoryStore(sessions, lambda: models.encoder)
        self.profile_name = settings.profile
        self._session_id: int | None = None

    # ------------------------------------------------------------ profile in use

    def profile_id(self, create: bool = False) -> int:
        """The active profile's id; `create` (or the default profile) makes it if missing."""
        with self.sessions() as s, s.begin():
            profile = repo.get_profile(s, self.profile_name)
            if profile is None:
                if not create and self.profile_name != "default":
                    raise NotFoundError(
                        f"unknown profile {self.profile_name!r} "
                        f"(create it with: memchat profiles create {self.profile_name})"
                    )
                profile = repo.create_profile(s, self.profile_name)
            return profile.id

    def switch_profile(self, name: str) -> None:
        self.profile_name = name
        self._session_id = None
        self.profile_id()

    def _chat_session(self, profile_id: int, label: str) -> int:
        if self._session_id is None:
            with self.sessions() as s, s.begin():
                self._session_id = repo.start_session(s, profile_id, label).id
        return self._session_id

    # ------------------------------------------------------------ the turn loop

    def read(self, profile_id: int, query: Any, hops: int | None = None) -> ReadResult:
        st = self.settings
        return self.store.read(profile_id, query, st.read_k, hops or st.hops, st.tau, st.hop_lambda)

    def remember(self, message: str, label: str = "chat") -> TurnStart:
        """The memory part of a turn, committed: encode, read, then write the user turn, what it
        read, its episodic memory and the statements it makes. No generation."""
        text = clean_message(message, self.settings.max_message_chars)
        profile_id = self.profile_id(create=True)
        session_id = self._chat_session(profile_id, label)
        encoder = self.store.encoder  # loading models and caches is not part of the turn's timings
        self.store.cache(profile_id)
        started = time.perf_counter()
        query = encoder.encode([text])[0]  # (d,)
        t_encode = elapsed_ms(started)
        t0 = time.perf_counter()
        read = self.read(profile_id, query)
        t_read = elapsed_ms(t0)
        t0 = time.perf_counter()
        with self.store.unit(profile_id) as unit:
            turn_id = record_user_turn(unit, session_id, text, read)
            written = [write_turn_memory(unit, text, query, turn_id)]
            written += write_statements(unit, text, turn_id, encoder.encode)
        timings = {"encode": t_encode, "read": t_read, "write": elapsed_ms(t0)}
        timings["total"] = elapsed_ms(started)
        return TurnStart(text, profile_id, session_id, turn_id, read, written, timings)

    def ask(
        self,
        message: str,
        on_token: Callable[[str], None] | None = None,
        stop: threading.Event | None = None,
        label: str = "chat",
    ) -> TurnResult:
        """One turn. The user turn is committed before generation starts."""
        clean_message(message, self.settings.max_message_chars)  # bad input: before model loads
        # Loaded (once) before anything is written, so a missing model writes nothing.
        generator = self.models.generator
        turn = self.remember(message, label)
        started = t0 = time.perf_counter()
        prompt = self.prompt(turn.profile_id, turn.read, turn.text, turn.turn_id)
        reply = generate(generator, prompt.messages, self.settings.max_new_tokens, on_token, stop)
        t_generate = elapsed_ms(t0)
        stopped = bool(stop is not None and stop.is_set())
        t0 = time.perf_counter()
        with self.sessions() as s, s.begin():
            reply_turn = repo.add_turn(s, turn.profile_id, turn.session_id, "assistant", reply)
            reply_turn.status = "stopped" if stopped else "complete"
            reply_turn_id = reply_turn.id
        timings = {**turn.timings_ms, "generate": t_generate}
        timings["write"] += elapsed_ms(t0)
        timings["total"] = turn.timings_ms["total"] + elapsed_ms(started)
        return TurnResult(
            reply,
            turn.read.results,
            turn.read.hops,
            turn.written,
            timings,
            stopped,
            turn.turn_id,
            reply_turn_id,
            prompt.tokens,
        )

    def prompt(self, profile_id: int, read: ReadResult, message: str, turn_id: int) -> Prompt:
        """Preferences, the read memories and the recent turns before this one, as a prompt."""
        st = self.settings
        with self.sessions() as s:
            prefs = [
                (m.key_text, m.value_text) for m in repo.list_memories(s, profile_id, "preference")
            ]
            turns = repo.recent_turns(s, profile_id, st.recent_turns + 1)
        recent = [(t.role, t.text) for t in turns if t.id != turn_id][-st.recent_turns :]
        generator = self.models.generator
        return build_prompt(
            preferences=prefs,
            read=read.results,
            recent=recent,
            message=message,
            count_tokens=generator.count_tokens,
            memory_budget=st.memory_token_budget,
            context_tokens=generator.context_tokens,
            reply_tokens=st.max_new_tokens,
        )

    # ------------------------------------------------------------ memories

    def search(self, query: str, k: int | None = None, hops: int | None = None) -> ReadResult:
        text = clean_message(query, self.settings.max_message_chars, "query")
        st = self.settings
        return self.store.search(
            self.profile_id(), text, k or st.read_k, hops or st.hops, st.tau, st.hop_lambda
        )

    def list_memories(self, kind: str | None = None) -> list[Memory]:
        if kind is not None and kind not in MEMORY_KINDS:
            raise UsageError(f"unknown kind {kind!r}; one of {', '.join(MEMORY_KINDS)}")
        with self.sessions() as s:
            return repo.list_memories(s, self.profile_id(), kind)

    def add_memory(self, key: str, value: str, kind: str = "fact") -> Written:
        """Add a memory by hand; the same key (case-insensitive) updates it instead."""
        if kind not in WRITABLE_KINDS:
            raise UsageError(f"kind must be one of {', '.join(WRITABLE_KINDS)}, not {kind!r}")
        limit = self.settings.max_message_chars
        key, value = clean_message(key, limit, "key"), clean_message(value, limit, "value")
        profile_id = self.profile_id(create=True)
        key_vec, value_vec = self.store.encoder.encode([address_text(key, value, False), value])
        with self.store.unit(profile_id) as unit:
            written = write_slot(
                unit,
                kind=kind,
                slot=" ".join(key.casefold().split()),
                key=key,
                value=value,
                key_vec=key_vec,
                value_vec=value_vec,
            )
        if written is None:  # already held exactly: report the memory as it is
            with self.sessions() as s:
                memory = repo.find_by_slot(s, profile_id, " ".join(key.casefold().split()))
                assert memory is not None
                return Written(memory.id, memory.kind, memory.key_text, memory.value_text, "update")
        return written

    def _memory(self, s: Session, profile_id: int, memory_id: int) -> Memory:
        memory = repo.get_memory(s, profile_id, memory_id)
        if memory is None:
            raise NotFoundError(f"no memory {memory_id} in profile {self.profile_name!r}")
        return memory

    def show(self, memory_id: int) -> MemoryDetail:
        with self.sessions() as s:
            memory = self._memory(s, self.profile_id(), memory_id)
            return MemoryDetail(
                memory,
                repo.memory_history(s, memory.profile_id, memory_id),
                repo.reads_of_memory(s, memory_id),
            )

    def history(self, memory_id: int) -> list[MemoryEvent]:
        """The events of a memory, also after it was forgotten."""
        profile_id = self.profile_id()
        with self.sessions() as s:
            events = repo.memory_history(s, profile_id, memory_id)
        if not events:
            raise NotFoundError(f"no memory {memory_id} in profile {self.profile_name!r}")
        return events

    def forget(self, memory_id: int) -> Memory:
        profile_id = self.profile_id()
        with self.store.unit(profile_id) as unit:
            memory = self._memory(unit.session, profile_id, memory_id)
            unit.remove(memory, "forget")
        return memory

    def set_pinned(self, memory_id: int, pinned: bool) -> Memory:
        profile_id = self.profile_id()
        with self.store.unit(profile_id) as unit:
            memory = self._memory(unit.session, profile_id, memory_id)
            repo.set_pinned(unit.session, memory, pinned)
        return memory

    # ------------------------------------------------------------ profiles

    def profiles(self) -> list[repo.ProfileCounts]:
        self.profile_id()  # the default profile always exists
        with self.sessions() as s:
            return repo.list_profiles(s)

    def create_profile(self, name: str) -> None:
        name = clean_message(name, 200, "profile name")
        with self.sessions() as s, s.begin():
            if repo.get_profile(s, name) is not None:
                raise UsageError(f"profile {name!r} already exists")
            repo.create_profile(s, name)

    def _profile_by_name(self, s: Session, name: str) -> int:
        profile = repo.get_profile(s, name)
        if profile is None:
            raise NotFoundError(f"unknown profile {name!r}")
        return profile.id

    def reset_profile(self, name: str) -> None:
        """Delete the profile's memories, turns and history; other profiles are untouched."""
        with self.sessions() as s, s.begin():
            profile_id = self._profile_by_name(s, name)
            repo.reset_profile(s, profile_id)
        self.store.forget_cache(profile_id)
        if name == self.profile_name:
            self._session_id = None

    def delete_profile(self, name: str) -> None:
        with self.sessions() as s, s.begin():
            profile_id = self._profile_by_name(s, name)
            repo.delete_profile(s, profile_id)
        self.store.forget_cache(profile_id)
        if name == self.profile_name:
            self._session_id = None

    # ------------------------------------------------------------ export / import

    def export(
        self, path: Path, all_profiles: bool = False, name: str | None = None
    ) -> dict[str, int]:
        """Write the active profile (or `name`, or every profile) to a JSON Lines file."""
        with self.sessions() as s:
            if all_profiles:
                ids = [p.profile.id for p in repo.list_profiles(s)]
            else:
                ids = [self._profile_by_name(s, name or self.profile_name)]
            return transfer.export_profiles(s, ids, path)

    def import_file(self, path: Path) -> dict[str, int]:
        """Import an export file in one transaction; a bad file writes nothing."""
        with self.sessions() as s, s.begin():
            counts = transfer.import_file(s, path)
        self.store.forget_all_caches()
        return counts
