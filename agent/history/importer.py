"""`memchat import-chats`: an export's conversations into the active profile, through the
chat's own write path (agent/history/turns.py).

Each conversation becomes a chat session carrying its provenance (format, conversation id,
file, title); each new message a turn dated when it was said, with its id; the user's words
state preferences and facts as in a chat (proposals in review mode). A message imported before
is found by its id and skipped, so a repeated import adds nothing and a newer export adds only
what is new. A statement older than what memory holds for the same thing does not overwrite
it. Every conversation is one transaction; a dry run writes them all in one transaction that
is rolled back, with zero vectors (the counts do not depend on them), so it encodes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

import torch
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from agent.errors import MemchatError
from agent.extraction import Extracted, conflicting_slots, forget_requests, retractions
from agent.forgetting import retract
from agent.history.conversation import Conversation, Damaged
from agent.history.formats import Export
from agent.history.prepare import Ready, ReadyMessage, in_time_order, label_of, ready
from agent.history.summary import ImportSummary
from agent.history.turns import Encode, PastTurn, past_turn, write_past_turn
from agent.memory.batch_encode import encode_batched
from agent.memory.unit import Unit
from agent.review import propose
from agent.turn import vector_lookup, write_statements
from storage import conversations as stored
from storage import repo
from storage.models import ChatSession, Memory, utcnow

if TYPE_CHECKING:
    from agent.core import Agent

# Messages encoded at a time: enough for the batches of similar length to be full, few enough
# that the bar moves every few seconds.
CHUNK_MESSAGES = 1024
# A dry run's stand-in vectors: what is added or updated depends on slots, not on vectors.
DRY_RUN_DIM = 384


class Progress(Protocol):
    def start(self, turns: int) -> None: ...
    def advance(self, turns: int) -> None: ...


@dataclass(frozen=True)
class ImportOptions:
    source_file: str
    dry_run: bool = False
    since: datetime | None = None
    strict: bool = False  # any damaged conversation: import nothing


@dataclass(frozen=True)
class Planned:
    """A conversation's messages not imported yet; `session_id` when it was imported before."""

    ready: Ready
    session_id: int | None
    messages: list[ReadyMessage]


@dataclass(frozen=True)
class ToWrite:
    """A planned conversation's turns with what they state (extracted a chunk at a time, so
    the bar moves from the start). `remember[i]` is False for a request to forget: kept as a
    turn, neither remembered nor acted on."""

    plan: Planned
    turns: list[PastTurn]
    remember: list[bool]

    def texts(self) -> list[str]:
        kept = [turn for turn, keep in zip(self.turns, self.remember, strict=True) if keep]
        return [text for turn in kept for text in turn.texts()]


def to_write(plan: Planned) -> ToWrite:
    turns, remember = [], []
    for m in plan.messages:
        asks_to_forget = m.role == "user" and bool(forget_requests(m.said))
        turn = past_turn(m.role, m.said, m.at, m.source_id)
        turns.append(replace(turn, items=[]) if asks_to_forget else turn)
        remember.append(not asks_to_forget)
    return ToWrite(plan, turns, remember)


def import_export(
    agent: Agent, export: Export, options: ImportOptions, progress: Progress | None = None
) -> ImportSummary:
    """Import `export` into the agent's active profile (created if missing)."""
    started = time.perf_counter()
    summary = ImportSummary(export.format, options.dry_run)
    now = utcnow()
    items = [
        ready(i, agent.settings.max_message_chars, options.since, now)
        if isinstance(i, Conversation)
        else i
        for i in in_time_order(export.items)
    ]
    damaged = [i for i in items if isinstance(i, Damaged)]
    if options.strict and damaged:
        first = damaged[0]
        raise MemchatError(
            f"conversation {first.id}: {first.reason}; nothing was imported "
            f"({len(damaged)} damaged, --strict)"
        )
    for d in damaged:
        summary.damage(d)
    profile_id = agent.profile_id(create=True)
    conversations = [i for i in items if isinstance(i, Ready)]
    plans = plan_all(agent, profile_id, export.format, conversations, summary)
    if plans and not options.dry_run:
        agent.store.encoder  # noqa: B018 (loaded before the bar starts: it says so itself)
    if progress is not None:
        progress.start(sum(len(p.messages) for p in plans))
    for chunk in chunks(plans):
        writes = [to_write(plan) for plan in chunk]
        encode = chunk_encoder(agent, writes, options.dry_run)
        for write in writes:
            write_planned(agent, profile_id, export.format, options, write, encode, summary)
            if progress is not None:
                progress.advance(len(write.turns))
    summary.elapsed_s = time.perf_counter() - started
    return summary


# ------------------------------------------------------------------ planning (reads only)


def plan_all(
    agent: Agent, profile_id: int, source: str, conversations: list[Ready], summary: ImportSummary
) -> list[Planned]:
    """Each conversation's messages not imported before, with what they state; a
    conversation that adds nothing is counted in `summary` with the reason."""
    plans = []
    with agent.sessions() as s:
        for conversation in conversations:
            plan = plan_one(s, profile_id, source, conversation)
            if isinstance(plan, str):
                summary.skip(plan)
            else:
                plans.append(plan)
    return plans


def plan_one(s: Session, profile_id: int, source: str, conversation: Ready) -> Planned | str:
    """The conversation's new turns, or why it has none."""
    if not conversation.messages:
        return "before --since" if conversation.before_since else "empty"
    session = stored.imported_session(s, profile_id, source, conversation.source_id)
    if session is not None and session.forgotten_at is not None:
        return "forgotten"
    known = stored.message_ids(s, session.id) if session is not None else set()
    new = [m for m in conversation.messages if m.source_id not in known]
    if not new:
        return "already imported"
    return Planned(conversation, session.id if session is not None else None, new)


def chunks(plans: list[Planned]) -> Iterator[list[Planned]]:
    """Consecutive plans holding about CHUNK_MESSAGES messages."""
    chunk: list[Planned] = []
    size = 0
    for plan in plans:
        chunk.append(plan)
        size += len(plan.messages)
        if size >= CHUNK_MESSAGES:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def chunk_encoder(agent: Agent, chunk: list[ToWrite], dry_run: bool) -> Encode:
    """An `encode` holding the vectors of every text of `chunk`, encoded in batches of similar
    length; a dry run's gives zeros and loads no model."""
    if dry_run:
        return lambda texts: torch.zeros(len(texts), DRY_RUN_DIM)
    texts = list(dict.fromkeys(t for write in chunk for t in write.texts()))
    if not texts:
        return lambda wanted: torch.zeros(len(wanted), 0)
    encoder = agent.store.encoder
    return vector_lookup(texts, encode_batched(encoder.encode, texts, sizes=encoder.sizes))


# ------------------------------------------------------------------ writing


@dataclass
class Added:
    turns: int = 0
    memories: int = 0
    proposals: int = 0
    forgotten: int = 0

    def __iadd__(self, other: Added) -> Added:
        self.turns += other.turns
        self.memories += other.memories
        self.proposals += other.proposals
        self.forgotten += other.forgotten
        return self


@contextmanager
def rolled_back_unit(agent: Agent, profile_id: int) -> Iterator[Unit]:
    """A unit whose transaction is rolled back at the end: a dry run's."""
    with agent.sessions() as s:
        s.begin()
        try:
            unit = Unit(s, profile_id, agent.store.half_life_s)
            yield unit
            unit.finish()
        finally:
            s.rollback()


def write_planned(
    agent: Agent,
    profile_id: int,
    source: str,
    options: ImportOptions,
    write: ToWrite,
    encode: Encode,
    summary: ImportSummary,
) -> None:
    """The conversation in one transaction (rolled back in a dry run); a database error
    writes nothing of it and marks it damaged (stops the import with --strict)."""
    transaction = (
        rolled_back_unit(agent, profile_id) if options.dry_run else agent.store.unit(profile_id)
    )
    try:
        with transaction as unit:
            added = write_conversation(
                unit, (source, options.source_file), write, encode, agent.settings.review
            )
    except SQLAlchemyError as exc:
        plan = write.plan
        reason = f"could not be written ({getattr(exc, 'orig', None) or exc})"
        if options.strict:
            raise MemchatError(f"conversation {plan.ready.source_id}: {reason}") from exc
        summary.damage(Damaged(plan.ready.source_id, plan.ready.title, reason))
        return
    summary.conversations += 1
    summary.grown += write.plan.session_id is not None
    summary.turns += added.turns
    summary.memories += added.memories
    summary.proposals += added.proposals
    summary.forgotten += added.forgotten


def write_conversation(
    unit: Unit,
    source: tuple[str, str],
    write: ToWrite,
    encode: Encode,
    review: bool,
) -> Added:
    """The conversation's turns into its session (made now for a new one). `source`: the
    export's format and file."""
    plan = write.plan
    if plan.session_id is None:
        session_id = start_imported_session(unit.session, unit.profile_id, source, plan.ready)
        known: set[str] = set()
    else:  # another import may have added some since the plan
        session_id = plan.session_id
        known = stored.message_ids(unit.session, session_id)
    added = Added()
    for turn, keep in zip(write.turns, write.remember, strict=True):
        if turn.source_id in known:
            continue
        if keep:
            added += write_message(unit, session_id, turn, encode, review)
        else:
            added += write_request(unit, session_id, turn)
    return added


def start_imported_session(
    s: Session, profile_id: int, source: tuple[str, str], conversation: Ready
) -> int:
    kind, file = source
    session = ChatSession(
        profile_id=profile_id,
        started_at=conversation.started_at,
        label=label_of(conversation.title) or f"{kind} conversation",
        source=kind,
        source_id=conversation.source_id,
        source_file=file,
        title=conversation.title,
    )
    s.add(session)
    s.flush()
    return session.id


def write_message(
    unit: Unit, session_id: int, turn: PastTurn, encode: Encode, review: bool
) -> Added:
    """One message as the chat writes one: its turn memory, then what it says is no longer
    true, then its statements (or proposals); each memory dated when the message was said."""
    before = len(unit.puts)
    row, written = write_past_turn(unit, session_id, replace(turn, items=[]), encode)
    added = Added(turns=1)
    if turn.role == "user":
        retired = [r for r in retractions(turn.said) if not newer_held(unit, [r.slot], turn.at)]
        added.forgotten = len(retract(unit, retired, row.id))
    items = [i for i in turn.items if not newer_held(unit, statement_slots(i), turn.at)]
    if review and items:
        added.proposals = len(propose(unit, items, row.id))
    elif items:
        written += write_statements(unit, turn.said, row.id, encode, items)
    date_memories(unit.puts[before:], {w.id for w in written if w.action == "add"}, turn.at)
    added.memories = len(written)
    return added


def write_request(unit: Unit, session_id: int, turn: PastTurn) -> Added:
    """A request to forget, said to another assistant: kept as a turn, neither remembered nor
    acted on (what it asked to forget was never in this memory)."""
    row = repo.add_turn(
        unit.session,
        repo.new_turn(unit.profile_id, session_id, turn.role, turn.said, "", turn.at),
    )
    row.source_id = turn.source_id
    return Added(turns=1)


def statement_slots(item: Extracted) -> list[str]:
    """The slots a statement writes or retires."""
    return [item.slot, *conflicting_slots(item)]


def newer_held(unit: Unit, slots: list[str], at: datetime) -> bool:
    """Memory holds one of `slots` with a value newer than `at`: an older statement about the
    same thing must not overwrite it (a chat today outranks an import of last year)."""
    for slot in slots:
        memory = repo.find_by_slot(unit.session, unit.profile_id, slot)
        if memory is not None and memory.updated_at > at:
            return True
    return False


def date_memories(memories: list[Memory], added: set[int], at: datetime) -> None:
    """Memories written for a message are as of when it was said: created then (those it
    added) and updated then."""
    for memory in memories:
        if memory.id in added:
            memory.created_at = at
        memory.updated_at = at
