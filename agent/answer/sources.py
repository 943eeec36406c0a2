"""Read memories as the grounded answer sees them: what was said, by whom, on which day."""

from __future__ import annotations

from sqlalchemy.orm import Session

from agent.answer.grounded import Remembered, sentences
from agent.memory.store import ReadItem
from storage import repo
from storage.models import Memory, Turn


def remembered_text(memory: Memory, turn: Turn | None) -> str:
    """A turn memory: what its turn said (not its key, which may carry a date and speaker); a
    statement: its key and value ("lives in" "Lyon" -> "lives in Lyon")."""
    if memory.kind == "turn":
        return turn.text if turn is not None else memory.value_text
    return f"{memory.key_text} {memory.value_text}"


def remembered(s: Session, profile_id: int, read: list[ReadItem]) -> list[Remembered]:
    """The read items that still exist, in read order, with their sources."""
    sources = repo.memory_sources(s, profile_id, [i.id for i in read])
    found = []
    for item in read:
        if item.id not in sources:
            continue  # forgotten since the read
        memory, turn = sources[item.id]
        said_at = turn.created_at if turn is not None else memory.created_at
        speaker = turn.speaker if turn is not None else ""
        text = remembered_text(memory, turn)
        found.append(Remembered(item.id, text, speaker, said_at.date(), item.weight))
    return found


def asked_before(item: ReadItem) -> bool:
    """Is `item` a question said before ("Where does my sister live?")? It answers nothing."""
    said = sentences(item.value)
    return item.kind == "turn" and bool(said) and all(x.endswith("?") for x in said)
