"""Writing a LoCoMo conversation into a profile through the agent's own write path.

Each turn is written as in `Agent.remember` but without the read: the Turn row (with its
speaker), its episodic memory (key `"<date> <speaker>: <text>"`, linked after the previous
turn) and the preferences and facts the turn states. One chat session per LoCoMo session,
labelled with its date, written in one transaction. All keys and statements are encoded before
writing, in batches of similar length (padding to the longest of a batch is most of the cost
of encoding long turns, and one model call per turn was most of the rest).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

import torch

from agent.core import Agent
from agent.errors import NotFoundError
from agent.eval.locomo_data import LocomoSample, LocomoSession, LocomoTurn, parse_day
from agent.extraction import Extracted, extract, said_by
from agent.memory.batch_encode import encode_batched
from agent.memory.unit import Unit
from agent.text import clean_text
from agent.turn import statement_texts, vector_lookup, write_statements, write_turn_memory
from storage import repo
from storage.models import Turn


@dataclass(frozen=True)
class Ingested:
    """A conversation in its profile, with what scoring needs."""

    profile_id: int
    dia_of: dict[int, str]  # memory id -> dialogue id of its source turn ("D1:3")
    key_of: dict[int, str]  # memory id -> key text
    turns: int
    sessions: int


def photo_suffix(turn: LocomoTurn) -> str:
    return f" [shares a photo: {turn.blip_caption}]" if turn.blip_caption else ""


def turn_key(date: str, turn: LocomoTurn) -> str:
    """The key text of a turn memory: '8 May 2023 Caroline: text [shares a photo: ...]'."""
    return f"{date} {turn.speaker}: {clean_text(turn.text)}{photo_suffix(turn)}"


def fresh_profile(agent: Agent, name: str) -> int:
    """Reset profile `name` (or create it), make it the agent's active profile; its id."""
    try:
        agent.reset_profile(name)
    except NotFoundError:
        agent.create_profile(name)
    agent.switch_profile(name)
    return agent.profile_id()


def turn_statements(sample: LocomoSample) -> list[list[Extracted]]:
    """The statements each turn makes, in the sample's turn order. The first speaker is the
    user; what the other says of themselves is about them (`said_by`): one speaker's diet or
    job never overwrites the other's."""
    turns = [t for s in sample.sessions for t in s.turns]
    user = sample.speaker_a or (turns[0].speaker if turns else "")
    return [
        [
            item if t.speaker == user else said_by(item, t.speaker)
            for item in extract(clean_text(t.text))
        ]
        for t in turns
    ]


def statement_vectors(
    encode: Callable[[list[str]], torch.Tensor],
    statements: list[list[Extracted]],
    sizes: Callable[[list[str]], list[int]] | None = None,
) -> Callable[[list[str]], torch.Tensor]:
    """An `encode` for `write_statements` that looks up vectors computed here for every
    statement's address and value text, in batches of similar length (one model call per
    batch instead of one per turn)."""
    texts = sorted({t for items in statements for t in statement_texts(items)})
    if not texts:
        return encode
    return vector_lookup(texts, encode_batched(encode, texts, sizes=sizes))


def turn_row(profile_id: int, session: tuple[int, datetime | None], turn: LocomoTurn) -> Turn:
    """The Turn row of a LoCoMo turn, dated with its `session`'s day (when known)."""
    session_id, day = session
    text = clean_text(turn.text) + photo_suffix(turn)
    return repo.new_turn(profile_id, session_id, "user", text, turn.speaker, day)


def ingest_turn(
    unit: Unit,
    row: Turn,
    turn: LocomoTurn,
    key: str,
    key_vec: torch.Tensor,
    statements: tuple[list[Extracted], Callable[[list[str]], torch.Tensor]],
) -> None:
    """What one turn writes besides its stored Turn `row`: its turn memory and the statements
    it makes (with their vectors' `encode`)."""
    write_turn_memory(unit, key, key_vec, row.id)
    items, encode = statements
    if items:
        write_statements(unit, clean_text(turn.text), row.id, encode, items)


def ingest_session(
    agent: Agent,
    profile_id: int,
    session: LocomoSession,
    vectors: torch.Tensor,
    statements: tuple[list[list[Extracted]], Callable[[list[str]], torch.Tensor]],
    on_turn: Callable[[], None] | None = None,
) -> dict[int, str]:
    """A LoCoMo session as one chat session, written in one transaction (a failure leaves
    none of it): its Turn rows in one batched INSERT, then each turn's memories. `vectors`
    (turns, d) are the turns' encoded keys; `statements` what each turn states and an `encode`
    that has their vectors. Returns Turn row id -> dialogue id."""
    with agent.sessions() as s, s.begin():
        label = session.date or f"session {session.number}"
        session_id = repo.start_session(s, profile_id, label).id
    keys = [turn_key(session.date, t) for t in session.turns]
    day = parse_day(session.date_time)
    items_per_turn, encode = statements
    dia_of_turn = {}
    with agent.store.unit(profile_id) as unit:
        rows = [turn_row(profile_id, (session_id, day), t) for t in session.turns]
        repo.add_turns(unit.session, rows)
        parts = zip(session.turns, rows, keys, vectors, items_per_turn, strict=True)
        for turn, row, key, vec, items in parts:
            ingest_turn(unit, row, turn, key, vec, (items, encode))
            dia_of_turn[row.id] = turn.dia_id
            if on_turn is not None:
                on_turn()
    return dia_of_turn


Where = TypeVar("Where")  # what a Turn row maps to: a dialogue id, a (session, turn) pair


def memory_map(
    agent: Agent, profile_id: int, dia_of_turn: dict[int, Where]
) -> tuple[dict[int, Where], dict[int, str]]:
    """(memory id -> where its source turn is, memory id -> key text) for every memory of the
    profile, given Turn row id -> where; extracted memories map to their source turn."""
    dia_of: dict[int, Where] = {}
    key_of: dict[int, str] = {}
    with agent.sessions() as s:
        for m in repo.list_memories(s, profile_id):
            key_of[m.id] = m.key_text
            if m.source_turn_id in dia_of_turn:
                dia_of[m.id] = dia_of_turn[m.source_turn_id]
    return dia_of, key_of


def ingest_sample(
    agent: Agent, sample: LocomoSample, on_turn: Callable[[], None] | None = None
) -> Ingested:
    """Every session of `sample` into a fresh profile `locomo-<sample_id>` (made active).

    Everything the model must encode (turn keys, statement addresses and values) is encoded
    first, in batches of similar length; then each session is written in one transaction."""
    profile_id = fresh_profile(agent, f"locomo-{sample.sample_id}")
    agent.store.cache(profile_id)  # loaded once: each write then updates it in place
    encoder = agent.store.encoder
    keys = [turn_key(s.date, t) for s in sample.sessions for t in s.turns]
    vectors = encode_batched(encoder.encode, keys, sizes=encoder.sizes)  # (turns, d)
    statements = turn_statements(sample)
    lookup = statement_vectors(encoder.encode, statements, encoder.sizes)
    dia_of_turn: dict[int, str] = {}
    start = 0
    for session in sample.sessions:
        end = start + len(session.turns)
        done = ingest_session(
            agent, profile_id, session, vectors[start:end], (statements[start:end], lookup), on_turn
        )
        dia_of_turn.update(done)
        start = end
    dia_of, key_of = memory_map(agent, profile_id, dia_of_turn)
    return Ingested(profile_id, dia_of, key_of, len(dia_of_turn), len(sample.sessions))
