"""Several writers on PostgreSQL: two processes (standing for two machines) chat 500 turns each
into one profile at once. Nothing is lost and nothing is doubled: every turn each reported is
stored once, the turn memories form one unbroken chain, the shared slot has one memory whose
history is an unbroken chain of old -> new values (a lost update would break it), and the
profile's memory version counted every write."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from storage.db import make_engine, session_factory
from storage.models import Memory, MemoryEvent, Profile, Turn
from tests import postgres

ROOT = Path(__file__).resolve().parent.parent
TURNS = int(os.environ.get("MEMCHAT_WRITER_TURNS", "500"))
WRITERS = ("a", "b")


@pytest.fixture
def pg_url() -> Iterator[str]:
    url = postgres.new_database()
    make_engine(url).dispose()  # the schema exists before the writers race to make it
    yield url
    postgres.drop_created()


def run_writers(url: str, folder: Path) -> list[list[dict[str, Any]]]:
    """Start every writer at once, wait for all; each one's log entries."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    logs = [folder / f"{name}.jsonl" for name in WRITERS]
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.postgres_writer", url, name, str(TURNS), str(log)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for name, log in zip(WRITERS, logs, strict=True)
    ]
    try:
        outputs = [p.communicate(timeout=600)[0].decode(errors="replace") for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
    for p, out in zip(processes, outputs, strict=True):
        assert p.returncode == 0, out[-3000:]
    return [[json.loads(line) for line in log.read_text().splitlines()] for log in logs]


def chain(memories: dict[int, Memory]) -> list[int]:
    """The turn memories' ids in link order from the one without a previous turn."""
    heads = [m.id for m in memories.values() if m.prev_id is None]
    assert len(heads) == 1, f"{len(heads)} chains"
    order, at = [], heads[0]
    while at is not None and len(order) <= len(memories):
        order.append(at)
        at = memories[at].next_id
    return order


def test_two_writers_lose_nothing_and_double_nothing(pg_url: str, tmp_path: Path) -> None:
    logs = run_writers(pg_url, tmp_path)
    reported = [e for log in logs for e in log if e["event"] == "turn"]
    assert len(reported) == TURNS * len(WRITERS)
    assert all(log[-1]["event"] == "done" for log in logs)
    sessions = session_factory(make_engine(pg_url))
    with sessions() as s:
        (profile,) = s.scalars(select(Profile)).all()
        user_turns = s.scalars(select(Turn.id).where(Turn.role == "user")).all()
        assert sorted(user_turns) == sorted(e["turn"] for e in reported)  # each once
        replies = s.scalar(select(func.count()).where(Turn.role == "assistant"))
        assert replies == len(reported)
        turns = {m.id: m for m in s.scalars(select(Memory).where(Memory.kind == "turn"))}
        assert len(turns) == len(reported)
        assert sorted(chain(turns)) == sorted(turns)  # one chain through every turn memory
        names = s.scalars(
            select(Memory).where(Memory.profile_id == profile.id, Memory.slot == "name")
        ).all()
        assert len(names) == 1  # one memory for the slot, never two
        history = s.scalars(
            select(MemoryEvent).where(MemoryEvent.memory_id == names[0].id).order_by(MemoryEvent.id)
        ).all()
    assert history[0].action == "add"
    for before, after in zip(history, history[1:], strict=False):
        assert after.old_value == before.new_value, "an update was made from a stale value"
    assert history[-1].new_value == names[0].value_text
    # each add or update a writer reported is in the history, once, and nothing else is
    name_writes = [w for e in reported for w in e["written"] if w[2] == names[0].id]
    assert len(name_writes) == len(history) > len(reported) // 2
    assert profile.memory_version >= len(reported)
