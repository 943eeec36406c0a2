"""Crash safety of the profile operations (issue 17, item 6): `profiles reset --export`,
`import` and `reindex`, each killed (SIGKILL) at random moments of its work.

After every kill: the profile reset is as it was or fully reset, never half, and an export on
disk is complete (it imports back to what was reset) or absent; an import is all there or not
at all; a reindexed profile holds all old vectors under the old encoder's name or all new ones
under the new name; the other profiles are untouched; no memory is half-written
(tests/workers/checks.py) and SQLite finds nothing wrong. The kills are seeded:
MEMCHAT_CRASH_SEED repeats a run. On SQLite and on PostgreSQL (each_engine): there a copy of
the source is a database made from it as a template.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import engines
from tests.engines import Database
from tests.workers import crash_turns
from tests.workers.checks import database_problems, rows
from tests.workers.common import fake_agent
from tests.workers.fork_server import Server
from tests.workers.profile_ops import PROFILE, SmallEncoder, open_agent

pytestmark = pytest.mark.usefixtures("each_engine")

KILLS = 8  # per operation
OLD = ("fake-hashed-words@64", 64)
NEW = (SmallEncoder.identity, SmallEncoder.dim)


def copy_db(source: Database, home: Path) -> Database:
    """A consistent copy of the database `source` as `home`'s database (engines.copy_of)."""
    return engines.copy_of(source, home)


def close(agent: Any) -> None:
    """Close the agent's connections: a database copied from (a PostgreSQL template) takes
    none."""
    agent.sessions.kw["bind"].dispose()


@pytest.fixture(scope="module")
def sources() -> dict[str, Database]:
    """The module's source database on each engine, made by the first test that asks."""
    return {}


@pytest.fixture
def source(
    sources: dict[str, Database], each_engine: str, tmp_path_factory: pytest.TempPathFactory
) -> Database:
    """A database with two chatted profiles: `default` (the one reset and imported) and
    `work` (which no operation may touch); 64-d vectors. Made once per engine."""
    if each_engine not in sources:
        home = tmp_path_factory.mktemp("source")
        db = engines.lasting_db_for(home)
        for profile, turns in ((PROFILE, 120), ("work", 40)):
            agent, generator = fake_agent(home, db, profile=profile)
            agent.profile_id(create=True)
            for turn in range(turns):
                generator.reply = crash_turns.reply(turn)
                agent.ask(crash_turns.message(turn))
            close(agent)
        sources[each_engine] = engines.database(home)
    return sources[each_engine]


def profile_state(db: Database, name: str) -> dict[str, Any] | None:
    """What a profile holds (None when it does not exist): row counts, and each memory's texts
    and vector sizes, with the encoder recorded."""
    found = rows(db, "SELECT id, encoder, encoder_dim FROM profiles WHERE name = ?", (name,))
    if not found:
        return None
    pid = found[0]["id"]
    state: dict[str, Any] = {"encoder": (found[0]["encoder"], found[0]["encoder_dim"])}
    for table in ("memories", "turns", "sessions"):
        state[table] = rows(db, f"SELECT count(*) AS n FROM {table} WHERE profile_id = ?", (pid,))[
            0
        ]["n"]
    state["texts"] = sorted(
        (r["kind"], r["key_text"], r["value_text"])
        for r in rows(db, "SELECT * FROM memories WHERE profile_id = ?", (pid,))
    )
    state["dims"] = {
        (len(r["key_emb"]) // 4, len(r["value_emb"]) // 4)
        for r in rows(db, "SELECT key_emb, value_emb FROM memories WHERE profile_id = ?", (pid,))
    }
    return state


def run_op(server: Server, op: str, home: Path, file: str, delay: float | None) -> float:
    """Run `op` in a forked child and kill it `delay` s after it is ready (None: let it end).
    Returns how long its work took (to `done`, or to the kill)."""
    server.send(f"run {op} {home} {file} {engines.db_for(home) or '-'}")
    line = server.line()
    assert line is not None and line.startswith("child "), f"no child: {line}"
    server.child = int(line.split()[1])
    while (line := server.line()) != "ready":
        assert line is not None and not line.startswith("exit"), server.stderr_tail()
    started = time.monotonic()
    deadline = None if delay is None else started + delay
    took, status = None, None
    while status is None:
        wait = 60.0 if deadline is None else deadline - time.monotonic()
        line = server.line(wait)
        if line is None and deadline is not None:
            server.kill_child()
            took, deadline = time.monotonic() - started, None
            continue
        assert line is not None and line != "eof", server.stderr_tail()
        if line.startswith("done"):
            took = took or time.monotonic() - started
            assert line == "done 0", server.stderr_tail()
        if line.startswith("exit "):
            status = int(line[5:])
    server.child = None
    assert status in (0, -signal.SIGKILL), f"exit {status}:\n{server.stderr_tail()}"
    assert "Traceback" not in server.stderr_path.read_text(), server.stderr_tail()
    return took or 0.0


def delays(op: str, server: Server, source: Database, home: Path, file: str) -> Iterator[float]:
    """KILLS moments spread over the operation's duration, measured here once (unkilled)."""
    copy_db(source, home / "timing")
    duration = run_op(server, op, home / "timing", file, None)
    seed = int(os.environ.get("MEMCHAT_CRASH_SEED", random.randrange(2**32)))
    print(f"{op}: {duration:.3f} s unkilled; seed {seed} (MEMCHAT_CRASH_SEED)")
    rng = random.Random(seed)
    yield from (rng.uniform(0.0, 1.1 * duration) for _ in range(KILLS))


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    server = Server(tmp_path, "tests.workers.profile_ops")
    try:
        yield server
    finally:
        server.close()


def test_reset_with_export_killed_is_whole_or_nothing(
    source: Database, server: Server, tmp_path: Path
) -> None:
    before, work = profile_state(source, PROFILE), profile_state(source, "work")
    assert before is not None and before["memories"] > 100
    timing_export = tmp_path / "timing-export.jsonl"
    for trial, delay in enumerate(delays("reset", server, source, tmp_path, str(timing_export))):
        home = tmp_path / f"reset-{trial}"
        db = copy_db(source, home)
        export = home / "export.jsonl"
        run_op(server, "reset", home, str(export), delay)
        after = profile_state(db, PROFILE)
        assert after is not None
        reset = after["memories"] == after["turns"] == after["sessions"] == 0
        assert reset or after == before, f"trial {trial} ({delay:.3f} s): half reset"
        print(
            f"reset trial {trial} at {delay:.3f} s: {'reset' if reset else 'as it was'}, "
            f"export {'complete' if export.exists() else 'absent'}"
        )
        assert profile_state(db, "work") == work
        assert database_problems(db, dim=64) == []
        if reset:
            assert export.exists(), f"trial {trial}: reset without its export"
        if export.exists():  # complete: it imports back to the profile as it was
            back = copy_db(source, home / "back")
            agent, _ = fake_agent(home / "back", db=engines.url_of(back))
            agent.reset_profile(PROFILE)
            agent.import_file(export)
            close(agent)
            assert profile_state(back, PROFILE) == before, f"trial {trial}: export incomplete"


def test_import_killed_is_whole_or_nothing(
    source: Database, server: Server, tmp_path: Path
) -> None:
    exported = tmp_path / "default.jsonl"
    agent, _ = fake_agent(tmp_path / "exporter", db=engines.url_of(source))
    agent.export(exported, name=PROFILE)
    close(agent)
    before, work = profile_state(source, PROFILE), profile_state(source, "work")
    template = copy_db(source, tmp_path / "template")
    agent, _ = fake_agent(tmp_path / "template", db=engines.url_of(template))
    agent.delete_profile(PROFILE)
    close(agent)
    for trial, delay in enumerate(delays("import", server, template, tmp_path, str(exported))):
        home = tmp_path / f"import-{trial}"
        db = copy_db(template, home)
        run_op(server, "import", home, str(exported), delay)
        after = profile_state(db, PROFILE)
        assert after is None or after == before, f"trial {trial} ({delay:.3f} s): half imported"
        print(f"import trial {trial} at {delay:.3f} s: {'nothing' if after is None else 'all'}")
        assert profile_state(db, "work") == work
        assert database_problems(db, dim=64) == []


def test_reindex_killed_leaves_each_profile_old_or_new(
    source: Database, server: Server, tmp_path: Path
) -> None:
    before = {name: profile_state(source, name) for name in (PROFILE, "work")}
    for trial, delay in enumerate(delays("reindex", server, source, tmp_path, "-")):
        home = tmp_path / f"reindex-{trial}"
        db = copy_db(source, home)
        run_op(server, "reindex", home, "-", delay)
        dims = {}
        for name, old in before.items():
            after = profile_state(db, name)
            assert after is not None and old is not None
            assert after["texts"] == old["texts"], f"trial {trial}: {name}'s memories changed"
            old_or_new = [(a["encoder"], a["dims"]) for a in (after,)]
            assert old_or_new[0] in ((OLD, {(64, 64)}), (NEW, {(32, 32)})), (
                f"trial {trial} ({delay:.3f} s): {name} is half reindexed: {old_or_new}"
            )
            dims[rows(db, "SELECT id FROM profiles WHERE name = ?", (name,))[0]["id"]] = after[
                "encoder"
            ][1]
        assert database_problems(db, dim=dims) == []
        print(f"reindex trial {trial} at {delay:.3f} s: {sorted(dims.values())}")
        run_op(server, "reindex", home, "-", None)  # resumes: what was left is done now
        for name in before:
            assert profile_state(db, name)["encoder"] == NEW  # type: ignore[index]
        agent = open_agent(home, SmallEncoder, engines.db_for(home))
        assert agent.search("Where do I live?").results
        close(agent)
