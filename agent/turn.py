"""Pieces of a chat turn: recording the user turn and its reads, writing memories, generating."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import torch

from agent.errors import MemchatError, ReplyCutError
from agent.extraction import Extracted, conflicting_slots, extract
from agent.memory.store import ReadItem, ReadResult, Written
from agent.memory.unit import Unit
from agent.memory.write import address_text, retire_slots, write_slot, write_turn
from agent.text import storable_text
from storage import repo
from storage.models import Proposal


class Generator(Protocol):
    """A chat model (agent/models/backends.py picks one): `name` is shown and stored with
    each reply; `context_tokens` bounds the prompt."""

    name: str
    context_tokens: int

    def count_tokens(self, text: str) -> int: ...

    def stream(
        self,
        messages: list[dict[str, str]],
        max_new_tokens: int,
        stop: threading.Event | None = None,
        avoid: Sequence[str] = (),
    ) -> Iterator[str]: ...


@dataclass(frozen=True)
class Answered:
    """A reply and what it rests on."""

    reply: str
    # memory: stated from a remembered sentence; nothing: no memory read supports an answer;
    # model: generated; forget: the report of a request to forget
    source_kind: str
    cited: list[int] = field(default_factory=list)  # the memories it rests on
    source: str = ""  # for an answer from memory: who said it, when, and the sentence


@dataclass(frozen=True)
class TurnResult:
    reply: str
    read: list[ReadItem]
    hops: list[list[ReadItem]]
    written: list[Written]
    timings_ms: dict[str, float]
    stopped: bool
    user_turn_id: int
    reply_turn_id: int
    prompt_tokens: int
    forgotten: list[Written] = field(default_factory=list)  # asked for, or retracted
    proposed: list[Proposal] = field(default_factory=list)  # review mode: waiting for the user
    freed: list[Written] = field(default_factory=list)  # freed at capacity (least used first)
    answered: Answered = field(default_factory=lambda: Answered("", "model"))
    model: str = ""  # the chat model in use (`answered_from` says whether it wrote the reply)

    @property
    def cited(self) -> list[int]:
        return self.answered.cited

    def as_json(self) -> dict[str, Any]:
        return {
            "reply": self.reply,
            "read": [i.as_json() for i in self.read],
            "hops": [{"results": [i.as_json() for i in hop]} for hop in self.hops],
            "written": [w.as_json() for w in self.written],
            "forgotten": [w.as_json() for w in self.forgotten],
            "proposed": [proposal_json(p) for p in self.proposed],
            "freed": [w.as_json() for w in self.freed],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
            "stopped": self.stopped,
            "model": self.model,
            "answered_from": self.answered.source_kind,
            "cited": self.answered.cited,
            "source": self.answered.source,
        }


def proposal_json(p: Proposal) -> dict[str, Any]:
    return {
        "id": p.id,
        "kind": p.kind,
        "key": p.key_text,
        "value": p.value_text,
        "status": p.status,
        "source_turn_id": p.source_turn_id,
    }


def elapsed_ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def record_user_turn(
    unit: Unit, session_id: int, text: str, read: ReadResult, role: str = "user"
) -> int:
    """The user turn (or another program's call, role "tool") and what it read: the weights of
    each hop, and the DNC usage update."""
    turn = repo.add_turn(unit.session, repo.new_turn(unit.profile_id, session_id, role, text))
    repo.record_reads(
        unit.session,
        turn.id,
        [
            (item.id, hop, rank, item.weight, item.score)
            for hop, items in enumerate(read.hops)
            for rank, item in enumerate(items)
        ],
    )
    unit.touch({item.id: item.weight for item in read.results})  # DNC usage after a read
    return turn.id


def statement_texts(items: list[Extracted]) -> list[str]:
    """What `write_statements` encodes for `items`: their address texts (the keys), then their
    values."""
    return [address_text(i.key, i.value, True) for i in items] + [i.value for i in items]


def vector_lookup(texts: list[str], vectors: torch.Tensor) -> Callable[[list[str]], torch.Tensor]:
    """An `encode` that answers from vectors already computed for `texts` (rows of `vectors`),
    so a turn's or a conversation's texts go through the model in one call."""
    table = dict(zip(texts, vectors, strict=True))

    def lookup(wanted: list[str]) -> torch.Tensor:
        return torch.stack([table[t] for t in wanted])  # (len(wanted), d)

    return lookup


def write_statements(
    unit: Unit,
    text: str,
    turn_id: int,
    encode: Callable[[list[str]], torch.Tensor],
    items: list[Extracted] | None = None,
) -> list[Written]:
    """Preferences and facts stated in `text` (or the `items` given), each updating its slot or
    allocating a memory."""
    items = extract(text) if items is None else items
    if not items:
        return []
    n = len(items)
    vectors = encode(statement_texts(items))  # rows 0..n-1: address texts (keys); n..2n-1: values
    written = []
    for i, item in enumerate(items):
        retire_slots(unit, conflicting_slots(item))
        done = write_slot(
            unit,
            kind=item.kind,
            slot=item.slot,
            key=item.key,
            value=item.value,
            key_vec=vectors[i],
            value_vec=vectors[n + i],
            turn_id=turn_id,
        )
        if done is not None:
            written.append(done)
    return written


# Who says the user's chat messages, in their turn memories' keys.
USER_SPEAKER = "User"


def turn_key(day: datetime, speaker: str, text: str) -> str:
    """A chat turn memory's key (and value): '6 December 2026 User: text', the day and the
    speaker before the words, as the evaluation's turn keys have them, so a question about
    when or who is matched by the key's own words too."""
    return f"{day.day} {day:%B %Y} {speaker}: {text}"


def write_turn_memory(
    unit: Unit,
    key: str,
    vec: torch.Tensor,
    turn_id: int,
    said: tuple[str, torch.Tensor] | None = None,
) -> Written:
    """The turn's episodic memory: `key` and its vector; `said`, the value text and vector
    when they are not the key's (see `write_turn`)."""
    memory = write_turn(unit, key, vec, turn_id, said)
    return Written(memory.id, "turn", memory.key_text, memory.value_text, "add")


# The end of a sentence: . ! ? (and closing quotes or brackets) before a space, but not the
# dot of an initial or a title ("C.S. Lewis", "Dr. Smith").
_SENTENCE_END = re.compile(
    r"(?<!\b[A-Z])(?<!\bDr)(?<!\bMr)(?<!\bMs)(?<!\bSt)(?<!\bMrs)[.!?…][\"')\]]*(?=\s)"
)


def sentences_end(text: str, count: int) -> int | None:
    """Where the `count`-th sentence of `text` ends (None while it has fewer, or the last one
    may still go on)."""
    ends = list(_SENTENCE_END.finditer(text))
    return ends[count - 1].end() if len(ends) >= count else None


def generate(
    generator: Generator,
    messages: list[dict[str, str]],
    max_new_tokens: int,
    on_token: Callable[[str], None] | None,
    stop: threading.Event | None,
    avoid: Sequence[str] = (),
    max_sentences: int | None = None,
) -> str:
    """Stream the reply, handing each piece to `on_token`, never saying a word of `avoid`,
    ending after `max_sentences` sentences when given; returns the whole reply."""
    text = ""
    try:
        for said in generator.stream(messages, max_new_tokens, stop, avoid):
            piece = storable_text(said)
            end = sentences_end(text + piece, max_sentences) if max_sentences else None
            if end is not None:
                piece = piece[: max(0, end - len(text))]
            text += piece
            if on_token is not None and piece:
                on_token(piece)
            if end is not None:
                break  # abandoning the stream stops decoding
    except MemchatError as exc:
        if text.strip():  # what was said is kept, marked as cut
            raise ReplyCutError(str(exc), text.strip()) from exc
        raise
    return text.strip()
