"""`memchat backup`'s storage and agent side: SQLite's online backup, made safely.

The command line's side (messages, exit statuses, progress) is in tests/test_cli.py.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.core import Agent
from agent.errors import UsageError
from storage import backup
from storage.backup import backup_database
from storage.db import StorageError, make_engine
from tests.conftest import make_fake_agent

SQLITE_HEADER = b"SQLite format 3\x00"


@pytest.fixture
def seeded(agent: Agent) -> Agent:
    """Two profiles with turns, memories, events and reads."""
    agent.ask("My name is Sam and I am vegetarian.")
    agent.ask("My sister is Alice and I like jazz.")
    agent.create_profile("bob")
    return agent


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The usual umask, under which a plain open() makes world-readable files."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def db_file(agent: Agent) -> Path:
    return agent.settings.home / "memchat.db"


def url(path: Path) -> str:
    return f"sqlite:///{path}"


def dump(path: Path) -> dict[str, list[tuple]]:
    """Every row of every table, in rowid order."""
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: db.execute(f'SELECT * FROM "{t}" ORDER BY rowid').fetchall() for t in tables}


def integrity(path: Path) -> str:
    with sqlite3.connect(path) as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0]


def leftovers(folder: Path) -> list[str]:
    """Temporary files a backup may have left in `folder`."""
    return sorted(p.name for p in folder.iterdir() if ".part" in p.name)


def fill_profiles(path: Path, n: int, prefix: str = "p") -> None:
    """Add `n` profiles straight through sqlite3 (enough rows for a backup of many pages)."""
    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT INTO profiles (name, created_at, memory_version) "
            "VALUES (?, '2026-01-01 00:00:00', 0)",
            [(f"{prefix}{i:06d}",) for i in range(1, n + 1)],
        )


def names(path: Path, prefix: str) -> list[str]:
    with sqlite3.connect(path) as db:
        query = "SELECT name FROM profiles WHERE name LIKE ? ORDER BY name"
        return [r[0] for r in db.execute(query, (prefix + "%",))]


# ------------------------------------------------------------ what a backup holds


def test_the_copy_has_every_row_and_opens_with_memchat(seeded: Agent, tmp_path: Path) -> None:
    target = tmp_path / "copy.db"
    result = seeded.backup(target)
    assert result.path == target and result.size == target.stat().st_size
    source_rows, copy_rows = dump(db_file(seeded)), dump(target)
    assert copy_rows == source_rows
    assert len(source_rows["memories"]) >= 4 and len(source_rows["memory_events"]) >= 4
    assert result.counts == {
        "profiles": 2,
        "memories": len(source_rows["memories"]),
        "turns": len(source_rows["turns"]),
    }
    assert integrity(target) == "ok"
    assert target.read_bytes()[:16] == SQLITE_HEADER
    # One self-contained file: not in WAL mode, so no -wal file is needed to read it.
    assert target.read_bytes()[18:20] == b"\x01\x01"
    reopened = make_fake_agent(tmp_path / "elsewhere", db=str(target))
    assert [(m.id, m.key_text, m.value_text) for m in reopened.list_memories()] == [
        (m.id, m.key_text, m.value_text) for m in seeded.list_memories()
    ]


def test_the_copy_is_owner_only_from_the_first_byte(
    seeded: Agent, tmp_path: Path, umask_022: None
) -> None:
    modes: list[int] = []

    def watch(_copied: int, _total: int) -> None:
        """While the copy is being written: the temporary file is already 0600."""
        modes.extend(stat.S_IMODE(p.stat().st_mode) for p in tmp_path.glob(".copy.db.*.part"))

    target = tmp_path / "copy.db"
    backup_database(url(db_file(seeded)), target, pages=1, progress=watch)
    assert modes and set(modes) == {0o600}
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    # A world-readable file replaced with --force: the new one is owner-only too.
    old = tmp_path / "old.db"
    old.write_text("old")
    old.chmod(0o644)
    seeded.backup(old, force=True)
    assert stat.S_IMODE(old.stat().st_mode) == 0o600


def test_an_existing_file_is_refused_and_force_replaces_it(seeded: Agent, tmp_path: Path) -> None:
    target = tmp_path / "copy.db"
    target.write_text("keep me")
    with pytest.raises(StorageError, match="already exists; use --force to replace it"):
        seeded.backup(target)
    assert target.read_text() == "keep me"
    seeded.backup(target, force=True)
    assert dump(target) == dump(db_file(seeded))


def test_the_live_database_is_refused(seeded: Agent, tmp_path: Path) -> None:
    live = db_file(seeded)
    before = dump(live)
    link = tmp_path / "link.db"
    link.symlink_to(live)
    hard = tmp_path / "hard.db"
    os.link(live, hard)
    for target in [live, link, hard, live.with_name("memchat.db-wal"), tmp_path / "." / live.name]:
        with pytest.raises(UsageError, match="is the database being backed up"):
            seeded.backup(target, force=True)
    assert dump(live) == before and integrity(live) == "ok"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("db_url", "message"),
    [
        (
            "mysql://sam@localhost/memchat",
            "SQLite and PostgreSQL databases only; this one is mysql",
        ),
        ("sqlite://", "in memory"),
        ("sqlite:///:memory:", "in memory"),
    ],
)
def test_a_database_without_a_file_is_refused(tmp_path: Path, db_url: str, message: str) -> None:
    with pytest.raises(StorageError, match=message):
        backup_database(db_url, tmp_path / "copy.db")
    assert list(tmp_path.iterdir()) == []


def test_a_missing_source_or_folder_is_refused(seeded: Agent, tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="does not exist; there is nothing to back up"):
        backup_database(url(tmp_path / "nothing.db"), tmp_path / "copy.db")
    assert not (tmp_path / "nothing.db").exists()
    with pytest.raises(StorageError, match="folder .*missing does not exist"):
        seeded.backup(tmp_path / "missing" / "copy.db")
    with pytest.raises(StorageError, match="it is a folder"):
        seeded.backup(tmp_path, force=True)


def test_a_stale_sidecar_next_to_the_target_is_refused(seeded: Agent, tmp_path: Path) -> None:
    """A -wal left next to the target would be replayed onto the new copy: refuse."""
    target = tmp_path / "copy.db"
    target.write_text("old")
    (tmp_path / "copy.db-wal").write_text("stale")
    with pytest.raises(StorageError, match="copy.db-wal exists"):
        seeded.backup(target, force=True)
    assert target.read_text() == "old"


def test_a_folder_that_refuses_the_file_is_one_error(
    seeded: Agent, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_args: object) -> int:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(backup.os, "open", refuse)
    with pytest.raises(StorageError, match="cannot write in .*: Permission denied"):
        seeded.backup(tmp_path / "copy.db")
    assert list(tmp_path.glob("copy.db*")) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes in read-only folders")
def test_an_unwritable_folder_is_refused(seeded: Agent, tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o500)
    with pytest.raises(StorageError, match="cannot write in .*Permission denied"):
        seeded.backup(folder / "copy.db")


# ------------------------------------------------------------ while another process writes


def test_a_write_between_steps_neither_restarts_nor_enters_the_copy(tmp_path: Path) -> None:
    """The copy is one snapshot: rows committed by another connection after the backup
    started are not in it, and they do not restart the copy (one report per step)."""
    source = tmp_path / "live.db"
    make_engine(url(source)).dispose()
    fill_profiles(source, 3000)
    writer = sqlite3.connect(source, isolation_level=None)
    calls: list[tuple[int, int]] = []

    def write_between_steps(copied: int, total: int) -> None:
        calls.append((copied, total))
        if len(calls) > 10:  # bounded: a backup that restarts on each write still ends
            return
        writer.execute(
            "INSERT INTO profiles (name, created_at, memory_version) "
            "VALUES (?, '2026-01-01 00:00:00', 0)",
            (f"late{len(calls):06d}",),
        )

    before = dump(source)
    result = backup_database(
        url(source), tmp_path / "copy.db", pages=4, progress=write_between_steps
    )
    writer.close()
    total = calls[0][1]
    assert total >= 20  # many steps, a write after each
    assert len(calls) == -(-total // 4)
    assert [c for c, _ in calls] == [min(4 * i, total) for i in range(1, len(calls) + 1)]
    assert dump(result.path) == before
    assert len(names(source, "late")) == 10  # the writes did happen, in the source


WRITER = """
import sqlite3, sys, pathlib
db, stop = sys.argv[1], pathlib.Path(sys.argv[2])
c = sqlite3.connect(db, timeout=10, isolation_level=None)
i = 0
while not stop.exists():
    i += 1
    c.execute(
        "INSERT INTO profiles (name, created_at, memory_version) "
        "VALUES (?, '2026-01-01 00:00:00', 0)",
        ("w%06d" % i,),
    )
"""


def test_a_backup_while_another_process_keeps_writing(tmp_path: Path) -> None:
    """Another process commits row after row: the copy passes integrity_check, holds every row
    committed before the backup started, and is a snapshot (its rows are a prefix)."""
    source = tmp_path / "live.db"
    make_engine(url(source)).dispose()
    fill_profiles(source, 3000)
    stop = tmp_path / "stop"
    process = subprocess.Popen([sys.executable, "-c", WRITER, str(source), str(stop)])
    try:
        deadline = time.monotonic() + 30
        while len(names(source, "w")) < 20:
            assert time.monotonic() < deadline and process.poll() is None, "writer not writing"
            time.sleep(0.01)
        committed = names(source, "w")
        steps: list[int] = []

        def slowly(_copied: int, total: int) -> None:
            """Give the writer time between steps; fail (not hang) if the copy restarts."""
            steps.append(total)
            assert len(steps) <= steps[0], "the backup restarted"
            time.sleep(0.002)

        result = backup_database(url(source), tmp_path / "copy.db", pages=2, progress=slowly)
        during = len(names(source, "w")) - len(committed)
    finally:
        stop.touch()
        process.wait(timeout=30)
    assert process.returncode == 0
    assert during > 0  # the writer did write while the copy was made
    assert integrity(result.path) == "ok"
    copied = names(result.path, "w")
    assert copied[: len(committed)] == committed
    assert copied == [f"w{i:06d}" for i in range(1, len(copied) + 1)]
    assert len(names(result.path, "p")) == 3000


# ------------------------------------------------------------ failures leave nothing behind


class Interrupt(Exception):
    """Stands for whatever stops a copy half-way."""


@pytest.mark.parametrize("error", [Interrupt, KeyboardInterrupt])
def test_an_interrupted_copy_leaves_no_file(
    seeded: Agent, tmp_path: Path, error: type[BaseException]
) -> None:
    def stop_half_way(copied: int, total: int) -> None:
        if copied >= total // 2:
            raise error()

    target = tmp_path / "copy.db"
    with pytest.raises(error):
        backup_database(url(db_file(seeded)), target, pages=1, progress=stop_half_way)
    assert not target.exists() and leftovers(tmp_path) == []
    target.write_text("previous backup")  # with --force, a failure keeps the old file
    with pytest.raises(error):
        seeded.backup(target, force=True, progress=stop_half_way)
    assert target.read_text() == "previous backup" and leftovers(tmp_path) == []


def test_a_copy_that_fails_its_check_is_not_kept(
    seeded: Agent, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[Path] = []

    def corrupt(path: Path) -> str:
        checked.append(path)
        return "*** in database main ***"

    monkeypatch.setattr(backup, "integrity_problem", corrupt)
    target = tmp_path / "copy.db"
    with pytest.raises(StorageError, match="failed its integrity check"):
        seeded.backup(target)
    assert checked and checked[0].parent == tmp_path and checked[0] != target
    assert not target.exists() and leftovers(tmp_path) == []


def test_a_failed_rename_leaves_no_file(
    seeded: Agent, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_space(_src: object, _dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(backup.os, "replace", no_space)
    target = tmp_path / "copy.db"
    with pytest.raises(StorageError, match="cannot write .*copy.db: No space left on device"):
        seeded.backup(target)
    assert not target.exists() and leftovers(tmp_path) == []


def test_a_sqlite_failure_becomes_one_storage_error(
    seeded: Agent, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(*_args: object, **_kwargs: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(backup, "_copy", full)
    with pytest.raises(StorageError, match="failed: database or disk is full"):
        seeded.backup(tmp_path / "copy.db")
    assert leftovers(tmp_path) == [] and not (tmp_path / "copy.db").exists()


# ------------------------------------------------------------ layers


def test_storage_backup_loads_no_agent_tui_or_model_library() -> None:
    check = (
        "import sys, storage.backup; "
        "print(sorted({n.split('.')[0] for n in sys.modules} & "
        "{'torch', 'textual', 'agent', 'tui', 'transformers'}))"
    )
    out = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
