"""The temporal chain as one unit of writes extends it (storage/chain.py): the tail looked up
once, the forward links written in one statement, removals in the middle of a unit spliced."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from agent.memory.unit import Unit
from storage import repo
from storage.db import make_engine, session_factory
from storage.models import Memory
from tests import engines


def turn_memory(key: str) -> Memory:
    return Memory(kind="turn", key_text=key, value_text=key, key_emb=b"\0" * 8, value_emb=b"\0" * 8)


def links(sessions: sessionmaker[Session], profile_id: int) -> dict[str, tuple[str, str]]:
    """key -> (previous key, next key) of every memory as stored ('' for none)."""
    with sessions() as s:
        memories = repo.list_memories(s, profile_id)
    key = {m.id: m.key_text for m in memories}
    return {m.key_text: (key.get(m.prev_id, ""), key.get(m.next_id, "")) for m in memories}


def setup(tmp_path: Path) -> tuple[sessionmaker[Session], int, list[str]]:
    """Sessions, a profile, and a log of the SQL statements run from now on."""
    engine = make_engine(engines.url_for(tmp_path / "chain.db"))
    sessions = session_factory(engine)
    with sessions() as s, s.begin():
        profile_id = repo.create_profile(s, "alice").id
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2].split()[0]))
    return sessions, profile_id, statements


def test_a_unit_of_turns_links_them_with_one_update(tmp_path: Path) -> None:
    sessions, profile_id, statements = setup(tmp_path)
    with sessions() as s, s.begin():
        unit = Unit(s, profile_id)
        for key in "abcde":
            unit.add(turn_memory(key))
        unit.finish()
    assert links(sessions, profile_id) == {
        "a": ("", "b"),
        "b": ("a", "c"),
        "c": ("b", "d"),
        "d": ("c", "e"),
        "e": ("d", ""),
    }
    assert statements.count("UPDATE") == 1  # all four forward links at once
    with sessions() as s, s.begin():  # a later unit links after the stored tail
        unit = Unit(s, profile_id)
        unit.add(turn_memory("f"))
        unit.finish()
    assert links(sessions, profile_id)["e"] == ("d", "f")
    assert links(sessions, profile_id)["f"] == ("e", "")


def test_removals_within_a_unit_splice_the_chain(tmp_path: Path) -> None:
    sessions, profile_id, _ = setup(tmp_path)
    with sessions() as s, s.begin():
        unit = Unit(s, profile_id)
        a, b, c = (unit.add(turn_memory(key)) for key in "abc")
        unit.remove(b)  # the middle one, before its links were stored
        unit.remove(c)  # the tail: the next turn follows a
        unit.add(turn_memory("d"))
        unit.finish()
        assert (a.next_id, a.prev_id) == (a.id + 3, None)  # the loaded row has the link too
    assert links(sessions, profile_id) == {"a": ("", "d"), "d": ("a", "")}
