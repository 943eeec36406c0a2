"""`memchat db copy` (issue 20): every profile from one database to another, SQLite <-> PostgreSQL,
lossless, from one snapshot of the source, in one transaction on the target.

PostgreSQL is a real server (tests/postgres.py), never a mock.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from agent.core import Agent
from storage.copy import (
    LINKS,
    TABLES,
    CopyProgress,
    SameDatabaseError,
    StorageError,
    TargetNotEmptyError,
    copy_database,
)
from storage.db import make_engine
from storage.models import Profile
from tests import postgres
from tests.conftest import make_fake_agent

TABLE_NAMES = [t.name for t in TABLES]
BAD_SERVER = "postgresql+psycopg://u:s3cret@/nodb?host=/nonexistent"


@pytest.fixture(autouse=True)
def _drop_databases():
    """Each test's PostgreSQL databases are dropped after it."""
    yield
    postgres.drop_created()


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def seed(home: Path, url: str) -> Agent:
    """Three profiles made through the agent with fake models: chat turns, extracted
    preferences and facts, a pinned memory, a forgotten one, freed ones, review proposals
    (pending, accepted, rejected), turn reads, temporal links."""
    sam = make_fake_agent(home, db=url)
    sam.ask("My name is Sam and I am vegetarian.")
    sam.ask("My sister is Alice and I like jazz.")
    sam.ask("What should I cook tonight?")
    note = sam.add_memory("bike", "a red bike with a bell", "note")
    sam.set_pinned(note.id, True)
    tea = sam.add_memory("drink", "green tea, no sugar", "preference")
    sam.forget(tea.id)
    sam.create_profile("bob")
    bob = make_fake_agent(home, "bob", db=url, review=True)
    bob.ask("I am vegan and I live in Lyon.")
    bob.ask("My brother is Tom and I love chess.")
    pending = bob.proposals()
    assert len(pending) >= 2
    bob.accept_proposal(pending[0].id)
    bob.reject_proposal(pending[1].id)
    bob.ask("Where do I live?")
    sam.create_profile("carol")
    carol = make_fake_agent(home, "carol", db=url, capacity=3)
    for sentence in ["I like rain.", "I play golf.", "I read novels.", "I hate noise."]:
        carol.ask(sentence)
    sam.create_profile("empty")
    return sam


def export_all(home: Path, url: str, name: str) -> bytes:
    """Every profile of the database at `url`, through `memchat export`'s function."""
    path = home / name
    make_fake_agent(home, db=url).export(path, all_profiles=True)
    return path.read_bytes()


def without_versions(export: bytes) -> list[dict]:
    """An export's rows without the profiles' memory versions."""
    rows = [json.loads(line) for line in export.splitlines()]
    return [{k: v for k, v in row.items() if k != "memory_version"} for row in rows]


def row_counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return {
                t.name: int(connection.scalar(select(func.count()).select_from(t))) for t in TABLES
            }
    finally:
        engine.dispose()


def seeded_sqlite(tmp_path: Path) -> tuple[Path, str]:
    home = tmp_path / "home"
    home.mkdir()
    url = sqlite_url(home / "memchat.db")
    seed(home, url)
    return home, url


# ------------------------------------------------------------ the acceptance test


def test_sqlite_to_postgres_to_sqlite_gives_a_byte_identical_export(tmp_path: Path) -> None:
    home, first = seeded_sqlite(tmp_path)
    before = export_all(home, first, "first.jsonl")
    counts = row_counts(first)
    assert all(counts.values()), counts  # every table has rows to copy
    server = postgres.new_database()
    to_server = copy_database(first, server)
    assert to_server.counts == counts and to_server.links > 0
    assert export_all(home, server, "server.jsonl") == before
    back = sqlite_url(tmp_path / "back" / "memchat.db")
    (tmp_path / "back").mkdir()
    copy_database(server, back)
    assert export_all(home, back, "back.jsonl") == before


def test_sqlite_to_sqlite_is_lossless_too(tmp_path: Path) -> None:
    home, first = seeded_sqlite(tmp_path)
    second = sqlite_url(tmp_path / "second.db")
    result = copy_database(first, second)
    assert export_all(home, second, "b.jsonl") == export_all(home, first, "a.jsonl")
    assert result.counts == row_counts(first) and sum(result.replaced.values()) == 0


def test_a_chat_turn_after_a_copy_to_postgres_gets_fresh_ids(tmp_path: Path) -> None:
    home, first = seeded_sqlite(tmp_path)
    server = postgres.new_database()
    copy_database(first, server)
    sam = make_fake_agent(home, db=server)
    top = max(m.id for m in sam.list_memories())
    result = sam.ask("My favourite colour is green.")  # a turn, memories, events, reads
    assert result.written and min(w.id for w in result.written) > top
    sam.create_profile("dave")
    dave = make_fake_agent(home, "dave", db=server, review=True)
    dave.ask("I am vegetarian.")
    assert dave.proposals()
    counts = row_counts(server)
    assert counts["profiles"] == row_counts(first)["profiles"] + 1


def test_the_memory_sequence_skips_ids_of_forgotten_memories(tmp_path: Path) -> None:
    """A forgotten memory's history names its id: a new memory on the copy never takes it."""
    home = tmp_path / "home"
    home.mkdir()
    first = sqlite_url(home / "memchat.db")
    sam = make_fake_agent(home, db=first)
    sam.ask("I like jazz.")
    gone = sam.add_memory("drink", "tea", "preference")
    sam.forget(gone.id)
    server = postgres.new_database()
    copy_database(first, server)
    written = make_fake_agent(home, db=server).add_memory("colour", "green", "preference")
    assert written.id > gone.id


# ------------------------------------------------------------ refusals and --force


def test_a_target_with_data_is_refused_and_force_replaces_it(tmp_path: Path) -> None:
    home, first = seeded_sqlite(tmp_path)
    server = postgres.new_database()
    other = make_fake_agent(tmp_path, db=server)
    other.ask("I am a different person with a different memory.")
    other_export = export_all(tmp_path, server, "other.jsonl")
    with pytest.raises(TargetNotEmptyError) as refused:
        copy_database(first, server)
    message = str(refused.value)
    assert "\n" not in message and "already holds data" in message and "--force" in message
    assert "***" in message or "@" not in message  # named without a password
    assert export_all(tmp_path, server, "still.jsonl") == other_export
    held = row_counts(server)
    result = copy_database(first, server, force=True)
    assert result.replaced == held
    # The same rows, but for the memory version of a profile that replaced one of its id.
    replaced = export_all(home, server, "replaced.jsonl")
    assert without_versions(replaced) == without_versions(export_all(home, first, "first.jsonl"))


def test_force_moves_a_replaced_profiles_memory_version_past_the_old_one(
    tmp_path: Path,
) -> None:
    """Another process may cache the replaced profile's keys under (id, version): the copy's
    profile with that id must not come with a version that cache would take for its own."""
    home, first = seeded_sqlite(tmp_path)
    target = sqlite_url(tmp_path / "target.db")
    make_fake_agent(tmp_path, db=target).ask("I like tea.")
    with sqlite3.connect(tmp_path / "home" / "memchat.db") as db:
        source_versions = dict(db.execute("SELECT id, memory_version FROM profiles"))
    old = source_versions[1] + 1000
    with sqlite3.connect(tmp_path / "target.db") as db:
        db.execute("UPDATE profiles SET memory_version = ? WHERE id = 1", (old,))
    copy_database(first, target, force=True)
    with sqlite3.connect(tmp_path / "target.db") as db:
        copied = dict(db.execute("SELECT id, memory_version FROM profiles"))
    assert copied[1] == old + 1
    assert {k: v for k, v in copied.items() if k != 1} == {
        k: v for k, v in source_versions.items() if k != 1
    }


def test_a_database_is_not_copied_onto_itself(tmp_path: Path) -> None:
    _, first = seeded_sqlite(tmp_path)
    link = tmp_path / "link.db"
    link.symlink_to(tmp_path / "home" / "memchat.db")
    for target in (first, sqlite_url(link)):
        with pytest.raises(SameDatabaseError, match="both the source and the target"):
            copy_database(first, target, force=True)
    server = postgres.new_database()
    with pytest.raises(SameDatabaseError):
        copy_database(server, server, force=True)


@pytest.mark.parametrize("side", ["source", "target"])
def test_an_unreachable_server_is_one_line_without_the_password(tmp_path: Path, side: str) -> None:
    _, first = seeded_sqlite(tmp_path)
    urls = (BAD_SERVER, first) if side == "source" else (first, BAD_SERVER)
    with pytest.raises(StorageError) as failed:
        copy_database(*urls)
    message = str(failed.value)
    assert "\n" not in message and "s3cret" not in message
    assert "cannot open postgresql+psycopg://u:***@/nodb" in message


def test_a_missing_source_file_is_refused_and_not_created(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="does not exist; there is nothing to copy"):
        copy_database(sqlite_url(tmp_path / "none.db"), sqlite_url(tmp_path / "copy.db"))
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------ failures leave the target as it was


def _bad_proposal(path: Path) -> None:
    """A proposal PostgreSQL refuses (a NUL character), in the last table copied."""
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO proposals (profile_id, kind, slot, key_text, value_text, status, "
            "created_at) VALUES (1, 'fact', 'x', 'x', ?, 'pending', "
            "'2026-01-01 00:00:00.000000')",
            ("bad\x00value",),
        )


def test_a_row_the_target_refuses_rolls_everything_back(tmp_path: Path) -> None:
    _, first = seeded_sqlite(tmp_path)
    _bad_proposal(tmp_path / "home" / "memchat.db")
    server = postgres.new_database()
    with pytest.raises(StorageError) as failed:
        copy_database(first, server)
    message = str(failed.value)
    assert "\n" not in message and "the target is unchanged" in message
    assert "NUL" in message
    assert set(row_counts(server).values()) == {0}


def test_a_failure_keeps_what_a_forced_target_held(tmp_path: Path) -> None:
    _, first = seeded_sqlite(tmp_path)
    _bad_proposal(tmp_path / "home" / "memchat.db")
    server = postgres.new_database()
    make_fake_agent(tmp_path, db=server).ask("Keep me, I am the old contents.")
    before = export_all(tmp_path, server, "before.jsonl")
    with pytest.raises(StorageError, match="the target is unchanged"):
        copy_database(first, server, force=True)
    assert export_all(tmp_path, server, "after.jsonl") == before


def test_a_failed_copy_removes_the_target_file_it_created(tmp_path: Path) -> None:
    """A row SQLite's own foreign keys refuse (a read of a turn that does not exist)."""
    _, first = seeded_sqlite(tmp_path)
    with sqlite3.connect(tmp_path / "home" / "memchat.db") as db:  # foreign keys off here
        db.execute(
            "INSERT INTO turn_reads (turn_id, memory_id, hop, rank, weight, score) "
            "VALUES (999999, 1, 0, 0, 0.5, 0.5)"
        )
    target = tmp_path / "new" / "copy.db"
    with pytest.raises(StorageError, match="FOREIGN KEY constraint failed"):
        copy_database(first, sqlite_url(target))
    assert not target.exists() and list(target.parent.iterdir()) == []


class Interrupt(Exception):
    """Stands for whatever stops a copy half-way."""


class StopHalfWay(CopyProgress):
    def __init__(self, error: type[BaseException]) -> None:
        self.error = error

    def rows(self, step: str, copied: int, total: int) -> None:
        if step == "memories" and copied:
            raise self.error()


@pytest.mark.parametrize("error", [Interrupt, KeyboardInterrupt])
def test_an_interrupted_copy_leaves_the_target_as_it_was(
    tmp_path: Path, error: type[BaseException]
) -> None:
    _, first = seeded_sqlite(tmp_path)
    target = tmp_path / "copy.db"
    with pytest.raises(error):
        copy_database(first, sqlite_url(target), progress=StopHalfWay(error), batch=2)
    assert not target.exists()
    make_fake_agent(tmp_path, db=sqlite_url(target)).ask("I was here before.")
    before = export_all(tmp_path, sqlite_url(target), "before.jsonl")
    with pytest.raises(error):
        copy_database(first, sqlite_url(target), force=True, progress=StopHalfWay(error))
    assert export_all(tmp_path, sqlite_url(target), "after.jsonl") == before


# ------------------------------------------------------------ snapshot, batches, progress


class Recorder(CopyProgress):
    def __init__(self) -> None:
        self.totals: dict[str, int] = {}
        self.calls: list[tuple[str, int, int]] = []
        self.ended = False

    def begin(self, totals) -> None:
        self.totals = dict(totals)

    def rows(self, step: str, copied: int, total: int) -> None:
        self.calls.append((step, copied, total))

    def end(self) -> None:
        self.ended = True


class WriteDuringCopy(Recorder):
    """Another process writes to the source while the copy reads it."""

    def __init__(self, home: Path, url: str) -> None:
        super().__init__()
        self.writer = make_fake_agent(home, db=url)
        self.wrote = False

    def rows(self, step: str, copied: int, total: int) -> None:
        super().rows(step, copied, total)
        if step == "turns" and not self.wrote:
            self.writer.ask("A message written while the copy runs.")
            self.wrote = True


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_the_copy_reads_one_snapshot_in_batches(tmp_path: Path, engine: str) -> None:
    home = tmp_path / "home"
    home.mkdir()
    source = sqlite_url(home / "memchat.db") if engine == "sqlite" else postgres.new_database()
    seed(home, source)
    before = export_all(home, source, "before.jsonl")
    progress = WriteDuringCopy(home, source)
    target = sqlite_url(tmp_path / "copy.db")
    result = copy_database(source, target, progress=progress, batch=3)
    assert progress.wrote and export_all(home, target, "copy.jsonl") == before
    assert list(progress.totals) == [*TABLE_NAMES, LINKS] and progress.ended
    memories = [c for c in progress.calls if c[0] == "memories"]
    total = result.counts["memories"]
    assert memories[0] == ("memories", 0, total) and memories[-1] == ("memories", total, total)
    assert len(memories) == 1 + -(-total // 3)  # one report per batch of 3


# ------------------------------------------------------------ the command line


# `run`: the command line with fake models (tests/conftest.py)


def test_cli_copies_to_postgres_and_back(run, tmp_path: Path) -> None:
    run("ask", "My name is Sam and I am vegetarian.")
    run("--profile", "bob", "ask", "I like chess and my sister is Alice.")
    _, memories, _ = run("--profile", "bob", "memories", "list", "--json")
    server = postgres.new_database()
    code, out, err = run("db", "copy", "--from", str(tmp_path / "memchat.db"), "--to", server)
    assert code == 0, err
    assert out.startswith(f"copied {tmp_path / 'memchat.db'} to postgresql+psycopg://")
    assert "profiles 2, sessions 2, turns 4, memories " in out and out.count("\n") == 1
    code, copied, _ = run("--db", server, "--profile", "bob", "memories", "list", "--json")
    assert code == 0 and copied == memories
    code, _, err = run("--db", server, "ask", "And I like green tea.")
    assert code == 0, err
    back = tmp_path / "back.db"
    code, out, _ = run("db", "copy", "--from", server, "--to", str(back))
    assert code == 0 and f"to {back}: profiles 2, sessions 3, turns 6" in out
    code, again, _ = run("--db", str(back), "--profile", "bob", "memories", "list", "--json")
    assert again == memories


def test_cli_progress_per_table_on_stderr(run, tmp_path: Path) -> None:
    run("ask", "My name is Sam and I am vegetarian.")
    source = str(tmp_path / "memchat.db")
    code, out, err = run("db", "copy", "--from", source, "--to", str(tmp_path / "a.db"))
    assert code == 0 and out.startswith("copied ")
    lines = err.splitlines()
    assert [line.split(":")[0] for line in lines] == [f"copy {s}" for s in [*TABLE_NAMES, LINKS]]
    assert "copy memories: 3 rows in " in err and " rows/s" in err
    code, out, err = run("db", "copy", "--from", source, "--to", str(tmp_path / "b.db"), tty=True)
    assert code == 0 and out.startswith("copied ")
    for step in [*TABLE_NAMES, LINKS]:
        assert f"\rcopy {step}: " in err  # a tqdm bar per table, left on screen
    assert "copy memories: 100%" in err and "3/3 [" in err and "rows/s]" in err


def test_cli_refuses_a_target_with_data_then_force_replaces_it(run, tmp_path: Path) -> None:
    run("ask", "My name is Sam.")
    target = tmp_path / "other.db"
    run("--db", str(target), "ask", "I am somebody else.")
    source = str(tmp_path / "memchat.db")
    code, out, err = run("db", "copy", "--from", source, "--to", str(target))
    assert (code, out) == (1, "")
    assert err.startswith("memchat: error: ") and err.count("\n") == 1
    assert f"{target} already holds data (profiles 1, memories 1, turns 2)" in err
    code, out, _ = run("db", "copy", "--from", source, "--to", str(target), "--force")
    assert code == 0 and "; replaced the target's " in out
    _, memories, _ = run("memories", "list", "--json")
    _, copied, _ = run("--db", str(target), "memories", "list", "--json")
    assert copied == memories


@pytest.mark.parametrize(
    ("argv", "status", "message"),
    [
        (
            ["--from", BAD_SERVER, "--to", "{home}/x.db"],
            1,
            "cannot open postgresql+psycopg://u:***@",
        ),
        (["--from", "{home}/memchat.db", "--to", BAD_SERVER], 1, "cannot open postgresql"),
        (["--from", "{home}/none.db", "--to", "{home}/x.db"], 1, "nothing to copy"),
        (["--from", "{home}/memchat.db", "--to", "sqlite://"], 1, "in-memory database"),
        (["--from", "nosuchdb://u:s3cret@h/d", "--to", "{home}/x.db"], 1, "cannot use database"),
        (["--from", "postgresql://u:s3cret@h:port/d", "--to", "{home}/x.db"], 1, "not a database"),
        (["--from", "{home}/memchat.db", "--to", "{home}/memchat.db"], 2, "both the source and"),
        (["--from", "{home}/memchat.db"], 2, "the following arguments are required: --to"),
    ],
)
def test_cli_errors_are_one_line_without_a_password(
    run, tmp_path: Path, argv: list[str], status: int, message: str
) -> None:
    run("ask", "My name is Sam.")
    code, out, err = run("db", "copy", *[a.format(home=tmp_path) for a in argv])
    assert (code, out) == (status, "")
    assert err.count("\n") == 1 or status == 2
    assert message in err and "s3cret" not in err
    assert not (tmp_path / "x.db").exists() and not (tmp_path / "none.db").exists()


def test_cli_db_copy_refuses_db_and_profile(run, tmp_path: Path) -> None:
    code, _, err = run("--db", "x.db", "db", "copy", "--from", "a.db", "--to", "b.db")
    assert code == 2 and "--db and --profile do not apply" in err


def test_cli_help_says_what_it_does(run) -> None:
    code, out, _ = run("db", "copy", "--help")
    assert code == 0
    flat = " ".join(out.split())
    assert "Copy every profile" in flat and "one transaction" in flat
    assert "--force" in flat and "delete all of it" in flat
    code, out, _ = run("--help")
    assert "db" in out


# ------------------------------------------------------------ layers


def test_storage_copy_loads_no_agent_tui_or_model_library() -> None:
    check = (
        "import sys, storage.copy; "
        "print(sorted({n.split('.')[0] for n in sys.modules} & "
        "{'torch', 'textual', 'agent', 'tui', 'transformers', 'tqdm'}))"
    )
    out = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_sequences_are_set_past_the_largest_ids(tmp_path: Path) -> None:
    _, first = seeded_sqlite(tmp_path)
    server = postgres.new_database()
    copy_database(first, server)
    engine = make_engine(server)
    try:
        with engine.begin() as connection:
            for table in TABLES:
                top = connection.scalar(select(func.max(table.c.id))) or 0
                sequence = connection.scalar(
                    text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name}
                )
                last = connection.scalar(text(f"SELECT last_value FROM {sequence}"))
                assert last >= top, table.name
            assert connection.scalar(select(func.count()).select_from(Profile.__table__)) == 4
    finally:
        engine.dispose()
