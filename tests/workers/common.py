"""What the workers share: an agent with the fake models of tests/fakes.py on a given database,
and the JSON Lines log each keeps of what it did."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from agent.core import Agent, Models
from agent.settings import load_settings
from storage.db import make_engine, session_factory
from tests.fakes import FakeEncoder, FakeGenerator


def fake_agent(
    home: Path, db: str | None = None, **settings: object
) -> tuple[Agent, FakeGenerator]:
    """An agent with fake models on `db` (default `home`/memchat.db) with `settings` changed,
    and its generator (whose `reply` a worker sets). The environment is not read: only `home`,
    `db` and `settings` count."""
    config = load_settings(environ={"MEMCHAT_HOME": str(home)}, db=db, **settings)
    generator = FakeGenerator()
    engine = make_engine(config.db_url)
    agent = Agent(config, session_factory(engine), Models(FakeEncoder, lambda: generator))
    return agent, generator


class JsonLog:
    """What a worker did, as JSON lines flushed one by one: it survives the worker's crash,
    and another process can follow it while it grows."""

    def __init__(self, path: Path) -> None:
        self.file = path.open("a", encoding="utf-8")

    def write(self, event: str, **fields: Any) -> None:
        self.file.write(json.dumps({"event": event, "time": time.time(), **fields}) + "\n")
        self.file.flush()


class LogTail:
    """Follows a `JsonLog` another process writes: each `new()` returns the entries written
    since the last call (a line still being written waits for the next)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def new(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with self.path.open("rb") as file:
            file.seek(self.offset)
            data = file.read()
        complete = data[: data.rfind(b"\n") + 1]
        self.offset += len(complete)
        return [json.loads(line) for line in complete.decode("utf-8").splitlines()]


def read_log(path: Path) -> list[dict[str, Any]]:
    """Every complete entry of a `JsonLog` file."""
    return LogTail(path).new()
