"""Capacity and usage (DNC): past a profile's capacity the unpinned memories with the lowest
usage are freed, each freeing logged; pinned memories stay; usage decays with time."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

import storage.models
from storage.models import Memory, MemoryEvent
from tests.conftest import make_fake_agent

pytestmark = pytest.mark.usefixtures("each_engine")

N = 200


def test_n_plus_100_writes_free_exactly_the_100_least_used(tmp_path: Path) -> None:
    agent = make_fake_agent(tmp_path, capacity=N)
    ids = [agent.add_memory(f"key {i}", f"value {i}").id for i in range(N)]
    rng = random.Random(7)
    usage = dict(zip(ids, rng.sample(range(1, 1000), N), strict=True))  # distinct, in thousandths
    pinned = set(sorted(ids, key=usage.get)[:10])  # the ten least used, but pinned
    with agent.sessions() as s, s.begin():
        for memory_id, u in usage.items():
            s.execute(update(Memory).where(Memory.id == memory_id).values(usage=u / 1000))
    for memory_id in pinned:
        agent.set_pinned(memory_id, True)

    new = [agent.add_memory(f"new {i}", f"new value {i}").id for i in range(100)]

    unpinned = sorted((i for i in ids if i not in pinned), key=usage.get)
    expected_freed = set(unpinned[:100])
    remaining = {m.id for m in agent.list_memories()}
    assert len(remaining) == N
    assert remaining == (set(ids) - expected_freed) | set(new)
    assert pinned <= remaining
    with agent.sessions() as s:
        freed_events = s.scalars(select(MemoryEvent).where(MemoryEvent.action == "free")).all()
    assert sorted(e.memory_id for e in freed_events) == sorted(expected_freed)
    assert all(e.old_value and e.new_value is None for e in freed_events)
    # the read cache forgot them too: a search only finds what is left
    found = agent.search("key value", k=N + 100)
    assert {i.id for i in found.results} <= remaining


def test_no_capacity_frees_nothing(tmp_path: Path) -> None:
    agent = make_fake_agent(tmp_path)
    for i in range(30):
        agent.add_memory(f"key {i}", f"value {i}")
    assert len(agent.list_memories()) == 30


def test_when_all_are_pinned_nothing_is_freed(tmp_path: Path) -> None:
    agent = make_fake_agent(tmp_path, capacity=2)
    for i in range(2):
        agent.set_pinned(agent.add_memory(f"key {i}", "v").id, True)
    agent.add_memory("key 3", "v")
    assert len(agent.list_memories()) == 3  # over capacity rather than lose a pinned memory


def test_usage_decays_so_old_memories_go_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [datetime(2026, 1, 1)]
    monkeypatch.setattr(storage.models, "CLOCK", lambda: now[0])
    agent = make_fake_agent(tmp_path, capacity=2, usage_half_life_days=10)
    old = agent.add_memory("old", "written sixty days ago").id
    now[0] += timedelta(days=50)
    recent = agent.add_memory("recent", "written ten days ago").id
    now[0] += timedelta(days=10)
    (memory,) = [m for m in agent.list_memories() if m.id == old]
    assert memory.usage == pytest.approx(2**-6)  # six half-lives since the write
    assert memory.used_at == datetime(2026, 1, 1)  # shown as of now, last use kept
    newest = agent.add_memory("newest", "written now").id
    assert {m.id for m in agent.list_memories()} == {recent, newest}


def test_a_read_raises_usage_in_the_dnc_form(tmp_path: Path) -> None:
    agent = make_fake_agent(tmp_path, usage_half_life_days=0)
    memory_id = agent.add_memory("diet", "vegetarian").id
    with agent.sessions() as s, s.begin():
        s.execute(update(Memory).where(Memory.id == memory_id).values(usage=0.5))
    turn = agent.remember("what is my diet")
    weight = next(i.weight for i in turn.read.results if i.id == memory_id)
    (memory,) = [m for m in agent.list_memories() if m.id == memory_id]
    assert memory.usage == pytest.approx(0.5 + weight - 0.5 * weight)


def test_a_chat_turn_reports_what_it_freed(tmp_path: Path) -> None:
    agent = make_fake_agent(tmp_path, capacity=2)
    first = agent.ask("Hello there.")
    agent.ask("How are you?")
    result = agent.ask("Fine, thanks.")
    freed = [(w.id, w.action) for w in result.freed]
    first_turn = next(w.id for w in first.written if w.kind == "turn")
    assert freed == [(first_turn, "free")]
    assert result.as_json()["freed"][0]["id"] == first_turn
