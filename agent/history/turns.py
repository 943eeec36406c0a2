"""A turn of a past conversation (a LongMemEval haystack session's, an imported chat's),
written as the chat writes one: the Turn row dated when it was said, its episodic memory and,
for the user's words, the preferences and facts they state. The evaluation and `import-chats`
share it, so an evaluated history is stored exactly as an imported one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import torch

from agent.extraction import Extracted, extract
from agent.memory.hybrid import ASSISTANT_SPEAKER
from agent.memory.store import Written
from agent.memory.unit import Unit
from agent.turn import USER_SPEAKER, statement_texts, turn_key, write_statements, write_turn_memory
from storage import repo
from storage.models import Turn

Encode = Callable[[list[str]], torch.Tensor]


@dataclass(frozen=True)
class PastTurn:
    """A cleaned, non-empty message ready to write."""

    role: str  # user | assistant
    said: str
    at: datetime  # when it was said (naive UTC)
    items: list[Extracted]  # what it states about the user (none for the assistant's words)
    source_id: str | None = None  # its id in an export

    @property
    def key(self) -> str:
        """Its turn memory's key: the day and the speaker before the words, as a chat turn's."""
        speaker = USER_SPEAKER if self.role == "user" else ASSISTANT_SPEAKER
        return turn_key(self.at, speaker, self.said)

    def texts(self) -> list[str]:
        """What the model encodes for it: the words (its turn memory's one vector) and the
        statements' addresses and values."""
        return [self.said, *statement_texts(self.items)]


def past_turn(role: str, said: str, at: datetime, source_id: str | None = None) -> PastTurn:
    """The turn with its statements: only the user's (what the assistant says is not about
    the user)."""
    items = extract(said) if role == "user" else []
    return PastTurn(role, said, at, items, source_id)


def write_past_turn(
    unit: Unit, session_id: int, turn: PastTurn, encode: Encode
) -> tuple[Turn, list[Written]]:
    """The Turn row (the assistant's named as such, so the read can tell whose words a memory
    holds), its turn memory (key: day and speaker before the words; value and vector: the
    words') and its statements, each updating its slot or allocating a memory. `encode` has
    the vectors of `turn.texts()`. Returns the row and what was written."""
    speaker = "" if turn.role == "user" else ASSISTANT_SPEAKER
    row = repo.add_turn(
        unit.session,
        repo.new_turn(unit.profile_id, session_id, turn.role, turn.said, speaker, turn.at),
    )
    row.source_id = turn.source_id
    vector = encode([turn.said])[0]  # (d,)
    written = [write_turn_memory(unit, turn.key, vector, row.id, (turn.said, vector))]
    if turn.items:
        written += write_statements(unit, turn.said, row.id, encode, turn.items)
    return row, written
