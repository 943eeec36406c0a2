"""Crash safety: a chat killed (SIGKILL) at random moments, from its first start on a fresh
database to its 200th turn, loses no reported turn, half-writes no memory, and starts again.

The worker (tests/workers/crash_turns.py) runs scripted turns through the real Agent with fake
models, printing each turn once it has returned; the test kills it at random moments (seeded:
MEMCHAT_CRASH_SEED repeats a run) and starts it again from the first unreported turn. What
"half-written" means is in tests/workers/checks.py.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import Engine, event

from storage.db import make_engine
from tests import engines
from tests.workers import crash_turns
from tests.workers.checks import database_problems, rows, schema_names
from tests.workers.common import fake_agent
from tests.workers.fork_server import LINE_TIMEOUT_S, Server

pytestmark = pytest.mark.usefixtures("each_engine")

MAX_KILLS = 20
EARLY_KILLS = 8  # the first kills land in the first start-up, mostly in the migration


@dataclass
class Kill:
    """When a run is to be killed: `after_turns` turns into it (0: during start-up), then
    `delay_s` seconds later (into the next turn, or into start-up)."""

    after_turns: int
    delay_s: float


@dataclass
class Run:
    """One child's life, for the failure report."""

    start: int
    plan: Kill | None
    reported: list[int] = field(default_factory=list)
    opened_at_s: float | None = None  # when the agent was ready (database migrated)
    killed_at_s: float | None = None
    status: int | None = None
    cut_off: str | None = None  # the line the kill cut in the middle, if it did

    def describe(self) -> str:
        plan = "none" if self.plan is None else f"{self.plan.after_turns}+{self.plan.delay_s:.3f}s"
        killed = "-" if self.killed_at_s is None else f"{self.killed_at_s:.3f}s"
        opened = "-" if self.opened_at_s is None else f"{self.opened_at_s:.3f}s"
        span = f"{self.reported[0]}..{self.reported[-1]}" if self.reported else "none"
        cut = "" if self.cut_off is None else f", line cut off: {self.cut_off!r}"
        return (
            f"from turn {self.start}: plan {plan}, opened at {opened}, killed at {killed}, "
            f"turns reported {span}, exit {self.status}{cut}"
        )

    def read(self, line: str, started: float, reported: dict[int, tuple[int, int]]) -> None:
        """Take one relayed line of the child's (see tests/workers/crash_turns.py); anything
        that is not the protocol fails the test."""
        words = line.split()
        if line == "opened":
            self.opened_at_s = time.monotonic() - started
        elif words[:1] == ["turn"] and len(words) == 4 and all(w.isdigit() for w in words[1:]):
            turn, user_id, reply_id = (int(w) for w in words[1:])
            reported[turn] = (user_id, reply_id)
            self.reported.append(turn)
        elif words[:1] == ["cut"] and self.killed_at_s is not None and self.cut_off is None:
            self.cut_off = line.removeprefix("cut ")  # our kill landed mid-line: not a turn
        elif line != "done":
            raise AssertionError(f"unexpected worker output {line!r}")

    @property
    def killed_in_start_up(self) -> bool:
        return self.status == -signal.SIGKILL and self.opened_at_s is None


def fresh_start_s(server: Server, home: Path) -> float:
    """How long a child takes to open a fresh database (creating and migrating it: most of
    that) here and now: the early kills are spread over it."""
    run = Run(crash_turns.TURNS, None)
    run_once(server, home, run, {})
    assert run.status == 0 and run.opened_at_s is not None, server.stderr_tail()
    return run.opened_at_s


def plan_kill(rng: random.Random, kills: int, fresh_s: float) -> Kill | None:
    """Where to kill the next run: the first few during a fresh start (`fresh_s` long); then
    mostly a few turns in and a little into the next turn (a turn takes some 30 ms here),
    sometimes in start-up again; none after MAX_KILLS."""
    if kills < EARLY_KILLS:
        return Kill(0, rng.uniform(0.3, 1.0) * fresh_s)  # the migration is its second half
    if kills >= MAX_KILLS:
        return None
    if rng.random() < 0.15:
        return Kill(0, rng.uniform(0.0, 0.1))
    return Kill(rng.randint(1, 20), rng.uniform(0.0, 0.05))


def run_once(server: Server, home: Path, run: Run, reported: dict[int, tuple[int, int]]) -> None:
    """Start a child on `home` from `run.start`, kill it as planned, and read everything it
    reported."""
    server.send(f"run {home} {run.start} {engines.db_for(home) or '-'}")
    line = server.line()
    assert line is not None and line.startswith("child "), f"no child started: {line}"
    server.child = int(line.split()[1])
    started = time.monotonic()
    deadline = started + run.plan.delay_s if run.plan and run.plan.after_turns == 0 else None
    while True:
        wait = LINE_TIMEOUT_S if deadline is None else deadline - time.monotonic()
        line = server.line(wait)
        if line is None and deadline is not None:  # the planned moment: kill
            server.kill_child()
            run.killed_at_s, deadline = time.monotonic() - started, None
            continue
        assert line is not None, "the worker hangs"
        assert line != "eof", f"the worker server ended:\n{server.stderr_tail()}"
        if line.startswith("exit ") and line[5:].lstrip("-").isdigit():
            run.status = int(line[5:])
            server.child = None
            return
        run.read(line, started, reported)
        if run.plan and run.killed_at_s is None and len(run.reported) == run.plan.after_turns:
            deadline = deadline or time.monotonic() + run.plan.delay_s


def drive(
    server: Server, home: Path, rng: random.Random, fresh_s: float, runs: list[Run]
) -> dict[int, tuple[int, int]]:
    """Run, kill and restart until every turn is reported; returns turn -> (user, reply) ids."""
    reported: dict[int, tuple[int, int]] = {}
    kills = 0
    while len(reported) < crash_turns.TURNS:
        run = Run(max(reported, default=-1) + 1, plan_kill(rng, kills, fresh_s))
        runs.append(run)
        run_once(server, home, run, reported)
        killed = run.status == -signal.SIGKILL
        assert killed or run.status == 0, f"the worker failed:\n{server.stderr_tail()}"
        kills += killed
        assert len(runs) < 3 * MAX_KILLS, "no progress"
    return reported


def lost_turns(db: engines.Database, reported: dict[int, tuple[int, int]]) -> list[str]:
    """Each reported turn whose message or reply is not in the database as reported (a forget
    request's reply is the agent's own, not the generator's)."""
    turns = {r["id"]: r for r in rows(db, "SELECT * FROM turns")}
    lost = []
    for turn, (user_id, reply_id) in sorted(reported.items()):
        user, answer = turns.get(user_id), turns.get(reply_id)
        message = crash_turns.message(turn)
        expected = None if message.startswith("Forget") else crash_turns.reply(turn)
        if user is None or (user["role"], user["text"]) != ("user", message):
            lost.append(f"turn {turn}: message {user_id} is {user and tuple(user)}")
            continue
        if (
            answer is None
            or (answer["role"], answer["session_id"]) != ("assistant", user["session_id"])
            or answer["text"] != (expected or answer["text"])
        ):
            lost.append(f"turn {turn}: reply {reply_id} is {answer and tuple(answer)}")
    return lost


def next_start_problems(home: Path) -> list[str]:
    """A fresh agent opens the database, answers, lists memories, and its read finds the
    oldest statement memory (written by the first runs, all killed)."""
    db = engines.database(home)
    statements = rows(db, "SELECT * FROM memories WHERE kind != 'turn' ORDER BY id")
    if not statements:
        return ["no statement memory survived to be read"]
    oldest = statements[0]
    agent, _ = fake_agent(home, engines.db_for(home), capacity=crash_turns.CAPACITY)
    result = agent.ask(f"What do you know about {oldest['key_text']} {oldest['value_text']}?")
    problems = []
    if oldest["id"] not in [item.id for item in result.read]:
        problems.append(f"the read misses memory {oldest['id']}: {result.read}")
    listed = {m.id for m in agent.list_memories()}
    stored = {r["id"] for r in rows(db, "SELECT id FROM memories")}
    if listed != stored:
        problems.append(f"listed {len(listed)} memories, stored {len(stored)}")
    said = rows(db, "SELECT text FROM turns WHERE id = ?", (result.reply_turn_id,))
    if [r["text"] for r in said] != [result.reply]:
        problems.append("the new turn's reply is not stored")
    return problems + database_problems(db, dim=64)


def describe(seed: int, fresh_s: float, runs: list[Run]) -> str:
    """What happened, to repeat it: the seed, and each run with its kill."""
    kills = sum(r.status == -signal.SIGKILL for r in runs)
    in_start_up = sum(r.killed_in_start_up for r in runs)
    cut = sum(r.cut_off is not None for r in runs)
    head = f"seed {seed} (MEMCHAT_CRASH_SEED), fresh start {fresh_s:.3f} s, {kills} kills "
    head += f"({in_start_up} in start-up, {cut} mid-line); runs:\n"
    return head + "\n".join(r.describe() for r in runs)


def test_killed_at_random_moments_loses_and_half_writes_nothing(tmp_path: Path) -> None:
    seed = int(os.environ.get("MEMCHAT_CRASH_SEED", random.randrange(2**32)))
    runs: list[Run] = []
    fresh_s = 0.0
    server = Server(tmp_path)
    try:
        fresh_s = fresh_start_s(server, tmp_path / "timing")
        reported = drive(server, tmp_path, random.Random(seed), fresh_s, runs)
    except BaseException as exc:
        raise AssertionError(describe(seed, fresh_s, runs)) from exc
    finally:
        server.close()
    report = describe(seed, fresh_s, runs)
    print(report)
    assert sum(r.status == -signal.SIGKILL for r in runs) >= 10, report
    db = engines.database(tmp_path)
    problems = database_problems(db, dim=64) + lost_turns(db, reported)
    assert problems == [], report + "\n" + "\n".join(problems)
    problems = next_start_problems(tmp_path)
    assert problems == [], report + "\n" + "\n".join(problems)


def test_a_child_killed_mid_line_is_relayed_as_cut_off_not_glued() -> None:
    """The harness flake: with PYTHONUNBUFFERED=1 `print` wrote "opened" and its newline in two
    calls, the kill landed between them, and the test read "openedexit -9". Here a real child
    is killed after a whole line and half of the next: the relay gives the whole line, then
    the half as `cut`, and the reader counts it for a run it killed and fails one it did not."""
    read_end, write_end = os.pipe()
    ready_read, ready_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never back into pytest, whatever happens
        try:
            crash_turns.say("turn 7 15 16", fd=write_end)
            os.write(write_end, b"opened")  # the text, and then the kill before its newline
            os.write(ready_write, b"!")
            time.sleep(60)
        finally:
            os._exit(0)
    for fd in (write_end, ready_write):
        os.close(fd)
    assert os.read(ready_read, 1) == b"!"
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    lines = list(crash_turns.relay(read_end))
    for fd in (read_end, ready_read):
        os.close(fd)
    assert lines == ["turn 7 15 16", "cut opened"]

    killed, reported = Run(0, Kill(0, 0.0), killed_at_s=0.1), {}
    for line in lines:
        killed.read(line, 0.0, reported)
    assert reported == {7: (15, 16)} and killed.cut_off == "opened"
    assert "0 kills (0 in start-up, 1 mid-line)" in describe(1, 0.0, [killed])
    for line, run in [
        ("cut opened", Run(0, None)),  # a child we did not kill ends mid-line: a real fault
        ("openedexit -9", killed),
        ("turn 12 5", killed),
        ("245exit", killed),
    ]:
        with pytest.raises(AssertionError, match="unexpected worker output"):
            run.read(line, 0.0, {})


HALF_FIRST_START = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA cache_size = 1")  # spill: the database file is written mid-transaction
db.execute("BEGIN IMMEDIATE")
db.execute("CREATE TABLE profiles (id INTEGER PRIMARY KEY, name TEXT)")
db.executemany("INSERT INTO profiles (name) VALUES (?)", [("x" * 500,)] * 200)
print("written", flush=True)
time.sleep(60)
"""


@pytest.mark.sqlite_only("SQLite's rollback journal")
def test_a_first_start_killed_mid_transaction_opens_next_time(tmp_path: Path) -> None:
    """Found by 200 random-kill runs: a first start killed in its first transaction (before the
    database is in WAL mode) leaves a hot rollback journal; the foreign-file check opened the
    database read-only, could not roll it back, and every later start failed with "attempt to
    write a readonly database". Now the next start rolls it back and migrates."""
    db = tmp_path / "memchat.db"
    db.touch()
    child = subprocess.Popen(
        [sys.executable, "-c", HALF_FIRST_START, str(db)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == "written\n"
    finally:
        child.kill()
        child.wait(timeout=30)
    assert db.stat().st_size > 0 and Path(f"{db}-journal").stat().st_size > 0  # hot journal
    make_engine(f"sqlite:///{db}").dispose()
    agent, _ = fake_agent(tmp_path)
    assert agent.ask("I live in Paris.").written
    assert database_problems(db, dim=64) == []


class Interrupted(Exception):
    """Stands for the process dying at that statement."""


def test_a_migration_interrupted_halfway_leaves_the_schema_as_it_was(tmp_path: Path) -> None:
    """The deterministic twin of the random kills in start-up: the migration stops after some
    tables exist (the driver used to commit each CREATE TABLE on its own, and the next start
    failed with "table profiles already exists"); the next start migrates from scratch."""

    def stop_at_turns(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().startswith("CREATE TABLE turns"):
            raise Interrupted

    db = engines.database(tmp_path)
    url = engines.db_for(tmp_path) or f"sqlite:///{db}"
    event.listen(Engine, "before_cursor_execute", stop_at_turns)
    try:
        with pytest.raises(Interrupted):
            make_engine(url)
    finally:
        event.remove(Engine, "before_cursor_execute", stop_at_turns)
    assert schema_names(db) == []
    make_engine(url)
    agent, _ = fake_agent(tmp_path, engines.db_for(tmp_path))
    assert agent.ask("I live in Paris.").written
    assert database_problems(db, dim=64) == []
