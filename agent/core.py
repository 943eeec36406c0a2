"""The agent: the turn loop; with the memory and profile actions it is all the UI talks to."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from agent.answer.avoid import avoided_words
from agent.answer.grounded import Grounded, ground, source_phrase
from agent.answer.intent import asks_inference, asks_memory, is_request
from agent.answer.sources import asked_before, remembered
from agent.conversations import ConversationActions
from agent.errors import MemchatError, NotFoundError, ReplyCutError, ReplyFailedError
from agent.extraction import extract, forget_requests, retractions
from agent.forgetting import forget_reply, forget_requested, retract
from agent.forgetting import forgotten as forgotten_memory
from agent.memories import MemoryActions
from agent.memory.query_map import load_query_map
from agent.memory.store import MemoryStore, ReadItem, ReadResult, Written
from agent.models_loading import Models
from agent.profiles import ProfileActions
from agent.prompt import Prompt, build_prompt
from agent.reindex import ReindexActions
from agent.review import ReviewActions, propose
from agent.settings import Settings
from agent.text import clean_message
from agent.tool_calls import ToolCalls
from agent.turn import (
    USER_SPEAKER,
    Answered,
    TurnResult,
    elapsed_ms,
    generate,
    record_user_turn,
    statement_texts,
    turn_key,
    vector_lookup,
    write_statements,
    write_turn_memory,
)
from storage import repo
from storage.models import Proposal, utcnow

# The longest generated answer to a question (a request for a plan or a recipe may be longer).
BRIEF_REPLY_TOKENS = 60


def reply_sentences(message: str) -> int:
    """How many sentences the model may reply to anything but a request with: a guess
    ("would she like ...?") gets one, small talk or a statement two; past that the small
    model repeats itself and invents."""
    return 1 if asks_inference(message) else 2


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
    forgotten: list[Written] = field(default_factory=list)
    proposed: list[Proposal] = field(default_factory=list)
    forget_requested: bool = False  # the message asked to forget: answered without the model
    freed: list[Written] = field(default_factory=list)  # at capacity, the least used


class Agent(
    MemoryActions, ProfileActions, ReviewActions, ReindexActions, ConversationActions, ToolCalls
):
    def __init__(self, settings: Settings, sessions: sessionmaker[Session], models: Models) -> None:
        self.settings = settings
        self.sessions = sessions
        self.models = models
        self.store = MemoryStore(sessions, lambda: models.encoder)
        self.store.capacity = max(0, settings.capacity)
        self.store.half_life_s = max(0.0, settings.usage_half_life_days) * 86_400
        if not settings.temporal_links:
            self.store.hybrid = replace(self.store.hybrid, neighbour_hops=0)
        if settings.reader_weights.strip():  # a bad file fails here, before any turn
            path = Path(settings.reader_weights.strip()).expanduser()
            self.store.query_map = load_query_map(path, settings.encoder)
        self.profile_name = settings.profile
        self._session_id: int | None = None

    # ------------------------------------------------------------ profile in use

    def profile_id(self, create: bool = False) -> int:
        """The active profile's id; `create` (or the default profile) makes it if missing.
        Looked up without the write lock: only making it takes a write transaction."""
        with self.sessions() as s:
            found = repo.get_profile(s, self.profile_name)
            if found is not None:
                return found.id
        if not create and self.profile_name != "default":
            raise NotFoundError(
                f"unknown profile {self.profile_name!r} "
                f"(create it with: memchat profiles create {self.profile_name})"
            )
        with self.sessions() as s, s.begin():
            return repo.get_or_create_profile(s, self.profile_name).id

    def switch_profile(self, name: str) -> None:
        """Make `name` the active profile; an unknown name (but "default") changes nothing."""
        previous = self.profile_name
        self.profile_name = name
        try:
            self.profile_id()
        except NotFoundError:
            self.profile_name = previous
            raise
        self._session_id = None

    def _chat_session(self, s: Session, profile_id: int, label: str) -> int:
        """The chat session turns go to, in the caller's transaction `s`: a new one when there
        is none yet, or when the one held was deleted since (the profile was reset by another
        process) or is no longer this profile's (its id was reused)."""
        held = self._session_id
        if held is None or not repo.has_session(s, profile_id, held):
            self._session_id = repo.start_session(s, profile_id, label).id
        return self._session_id

    # ------------------------------------------------------------ the turn loop

    def read(self, profile_id: int, query: Any, text: str, hops: int | None = None) -> ReadResult:
        """The hybrid attention read of `text`, whose embedding is `query`."""
        st = self.settings
        return self.store.read(
            profile_id, query, st.read_k, hops or st.hops, st.tau, st.hop_lambda, query_text=text
        )

    def remember(self, message: str, label: str = "chat", hops: int | None = None) -> TurnStart:
        """The memory part of a turn, committed: encode, read, then write the user turn, what it
        read, its episodic memory and the statements it makes (or proposals, in review mode);
        or, when it asks to forget, forget. No generation."""
        text = clean_message(message, self.settings.max_message_chars)
        profile_id = self.profile_id(create=True)
        encoder = self.store.encoder  # loading models and caches is not part of the turn's timings
        self.store.cache(profile_id)
        started = time.perf_counter()
        requests = forget_requests(text)
        items = [] if requests else extract(text)
        # The message (the query, and its turn memory's vector) and the statements it makes:
        # one model call.
        key = turn_key(utcnow(), USER_SPEAKER, text)
        texts = [text] + ([] if self.settings.review else statement_texts(items))
        vectors = encoder.encode(texts)  # (1 + 2 * statements, d)
        query, encoded = vectors[0], vector_lookup(texts, vectors)
        t_encode = elapsed_ms(started)
        t0 = time.perf_counter()
        read = self.read(profile_id, query, text, hops)
        t_read = elapsed_ms(t0)
        t0 = time.perf_counter()
        written: list[Written] = []
        proposed: list[Proposal] = []
        with self.store.unit(profile_id) as unit:
            session_id = self._chat_session(unit.session, profile_id, label)
            turn_id = record_user_turn(unit, session_id, text, read)
            if requests:  # the request itself is not remembered: it would say what to forget
                forgotten = forget_requested(unit, requests, turn_id)
            else:
                written = [write_turn_memory(unit, key, query, turn_id, (text, query))]
                forgotten = retract(unit, retractions(text), turn_id)
                if self.settings.review:
                    proposed = propose(unit, items, turn_id)
                else:
                    written += write_statements(unit, text, turn_id, encoded, items)
        timings = {"encode": t_encode, "read": t_read, "write": elapsed_ms(t0)}
        timings["total"] = elapsed_ms(started)
        freed = [replace(forgotten_memory(m), action="free") for m in unit.freed]
        return TurnStart(
            text,
            profile_id,
            session_id,
            turn_id,
            read,
            written,
            timings,
            forgotten,
            proposed,
            bool(requests),
            freed,
        )

    def ask(
        self,
        message: str,
        on_token: Callable[[str], None] | None = None,
        stop: threading.Event | None = None,
        label: str = "chat",
        hops: int | None = None,
    ) -> TurnResult:
        """One turn. The user turn is committed before generation starts. A request to forget
        is answered with what was forgotten, not by the model (it would make something up)."""
        clean_message(message, self.settings.max_message_chars)  # bad input: before model loads
        # Loaded (once) before anything is written, so a missing model writes nothing.
        self.models.generator  # noqa: B018
        turn = self.remember(message, label, hops)
        try:
            return self._reply(turn, on_token, stop)
        except MemchatError:
            raise
        except Exception as exc:  # a bug, a database error, out of memory: one line, not a trace
            raise ReplyFailedError(
                f"the reply failed ({type(exc).__name__}: {exc}); your message is saved "
                f"(turn {turn.turn_id})"
            ) from exc

    def _reply(
        self,
        turn: TurnStart,
        on_token: Callable[[str], None] | None,
        stop: threading.Event | None,
    ) -> TurnResult:
        """The reply to a remembered turn, stored as the assistant's turn."""
        started = t0 = time.perf_counter()
        if turn.forget_requested:
            prompt = Prompt([], [], 0)
            answered = Answered(forget_reply(turn.forgotten), "forget")
            if on_token is not None:
                on_token(answered.reply)
        else:
            read = turn.read.results
            try:
                answered, prompt = self.answer(
                    turn.profile_id, turn.text, read, on_token, stop, turn.turn_id
                )
            except ReplyCutError as exc:
                self._store_reply(turn, exc.partial, "cut")
                raise MemchatError(
                    f"{exc}; your message is saved (turn {turn.turn_id}), and the reply so far "
                    "is kept, marked as cut"
                ) from exc
        reply = answered.reply
        t_generate = elapsed_ms(t0)
        stopped = bool(stop is not None and stop.is_set())
        t0 = time.perf_counter()
        reply_turn_id = self._store_reply(turn, reply, "stopped" if stopped else "complete")
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
            turn.forgotten,
            turn.proposed,
            turn.freed,
            answered,
            self.models.generator.name,
        )

    def _store_reply(self, turn: TurnStart, reply: str, status: str) -> int:
        """The assistant's turn with the model's name; its id. `status`: complete, stopped
        (the user stopped it) or cut (the model failed mid-reply)."""
        with self.sessions() as s, s.begin():
            row = repo.add_turn(
                s, repo.new_turn(turn.profile_id, turn.session_id, "assistant", reply)
            )
            row.status, row.model = status, self.models.generator.name
            return row.id

    def answer(
        self,
        profile_id: int,
        message: str,
        read: list[ReadItem],
        on_token: Callable[[str], None] | None = None,
        stop: threading.Event | None = None,
        turn_id: int | None = None,
    ) -> tuple[Answered, Prompt]:
        """The answer path, one for the chat, `ask` and `eval`: a question about the user or the
        past is answered from the memories read (or "not mentioned"), without the model; any
        other message is generated from the preferences, the read memories and the recent
        turns. Reads the store, writes nothing."""
        grounded = self.answer_from_memory(profile_id, message, read)
        if grounded is not None:
            if on_token is not None:
                on_token(grounded.text)
            how = "nothing" if grounded.abstained else "memory"
            answered = Answered(grounded.text, how, grounded.cited, source_phrase(grounded))
            return answered, Prompt([], [], 0)
        preferences = self.preferences(profile_id)
        brief = not is_request(message)  # a guess, small talk or a statement: a sentence or two
        prompt = self.prompt(profile_id, read, message, turn_id, preferences, brief)
        length = self.settings.max_new_tokens
        length = min(length, BRIEF_REPLY_TOKENS) if brief else length
        sentences = reply_sentences(message) if brief else None
        avoid = avoided_words(preferences)
        reply = generate(
            self.models.generator, prompt.messages, length, on_token, stop, avoid, sentences
        )
        return Answered(reply, "model", prompt.memory_ids), prompt

    def answer_from_memory(
        self, profile_id: int, message: str, read: list[ReadItem]
    ) -> Grounded | None:
        """The grounded answer when `message` asks about something remembered, else None."""
        if not asks_memory(message):
            return None
        read = self.without_questions(profile_id, message, read)
        with self.sessions() as s:
            memories = remembered(s, profile_id, read)
        return ground(message, memories, idf=self.store.idf(profile_id))

    def without_questions(
        self, profile_id: int, message: str, read: list[ReadItem]
    ) -> list[ReadItem]:
        """`read` without the questions asked before: they answer nothing, and a question
        asked four times would fill the read and push its answer out. When `read` held any,
        a read three times as wide, questions dropped, cut to the size of `read`."""
        if not any(asked_before(i) for i in read):
            return read
        st = self.settings
        wider = self.store.search(
            profile_id, message, 3 * len(read), st.hops, st.tau, st.hop_lambda
        ).results
        return [i for i in wider if not asked_before(i)][: len(read)]

    def preferences(self, profile_id: int) -> list[tuple[str, str]]:
        """The profile's preferences as (key, value)."""
        with self.sessions() as s:
            found = repo.list_memories(s, profile_id, "preference")
            return [(m.key_text, m.value_text) for m in found]

    def prompt(
        self,
        profile_id: int,
        read: list[ReadItem],
        message: str,
        turn_id: int | None,
        prefs: list[tuple[str, str]],
        brief: bool = False,
    ) -> Prompt:
        """Preferences, the read memories and the recent turns before this one, as a prompt."""
        st = self.settings
        with self.sessions() as s:
            turns = repo.recent_turns(s, profile_id, st.recent_turns + 1)
        recent = [(t.role, t.text) for t in turns if t.id != turn_id][-st.recent_turns :]
        generator = self.models.generator
        return build_prompt(
            preferences=prefs,
            read=read,
            recent=recent,
            message=message,
            count_tokens=generator.count_tokens,
            memory_budget=st.memory_token_budget,
            context_tokens=generator.context_tokens,
            reply_tokens=st.max_new_tokens,
            brief=brief,
        )
