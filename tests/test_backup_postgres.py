"""`memchat backup` of a PostgreSQL database (issue 20): a consistent row copy into an SQLite
file that `memchat --db FILE` opens and `db copy` restores. Against a real server
(tests/postgres.py). SQLite's own backup is tested in tests/test_backup.py."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from agent.core import Agent
from storage.backup import backup_database
from storage.copy import copy_database
from storage.db import StorageError
from tests import postgres
from tests.conftest import make_fake_agent

SQLITE_HEADER = b"SQLite format 3\x00"
BAD_SERVER = "postgresql+psycopg://u:s3cret@/nodb?host=/nonexistent"


@pytest.fixture(autouse=True)
def _drop_databases():
    yield
    postgres.drop_created()


@pytest.fixture
def server(tmp_path: Path) -> str:
    """A PostgreSQL database with two profiles: turns, memories, a pinned and a forgotten
    memory, reads and links."""
    url = postgres.new_database()
    sam = make_fake_agent(tmp_path, db=url)
    sam.ask("My name is Sam and I am vegetarian.")
    sam.ask("My sister is Alice and I like jazz.")
    sam.ask("What should I cook?")
    note = sam.add_memory("bike", "a red bike", "note")
    sam.set_pinned(note.id, True)
    sam.forget(sam.add_memory("drink", "tea", "preference").id)
    sam.create_profile("bob")
    make_fake_agent(tmp_path, "bob", db=url).ask("I love chess.")
    return url


def export_all(agent: Agent, path: Path) -> bytes:
    agent.export(path, all_profiles=True)
    return path.read_bytes()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".part" in p.name)


def test_the_backup_is_an_sqlite_file_with_every_row(server: str, tmp_path: Path) -> None:
    agent = make_fake_agent(tmp_path, db=server)
    target = tmp_path / "backup.db"
    result = agent.backup(target)
    assert result.path == target and result.size == target.stat().st_size
    assert result.counts == {"profiles": 2, "memories": 10, "turns": 8}
    assert target.read_bytes()[:16] == SQLITE_HEADER
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    with sqlite3.connect(target) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one file
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("backup")) == [
        "backup.db"
    ]
    copy = make_fake_agent(tmp_path, db=f"sqlite:///{target}")
    assert export_all(copy, tmp_path / "b.jsonl") == export_all(agent, tmp_path / "a.jsonl")


def test_db_copy_restores_the_backup_to_a_server(server: str, tmp_path: Path) -> None:
    agent = make_fake_agent(tmp_path, db=server)
    target = tmp_path / "backup.db"
    agent.backup(target)
    restored = postgres.new_database()
    copy_database(f"sqlite:///{target}", restored)
    again = make_fake_agent(tmp_path, db=restored)
    assert export_all(again, tmp_path / "b.jsonl") == export_all(agent, tmp_path / "a.jsonl")
    assert again.ask("I also like green tea.").written  # the restored server takes new turns


def test_an_existing_file_needs_force(server: str, tmp_path: Path) -> None:
    target = tmp_path / "backup.db"
    target.write_text("old")
    with pytest.raises(StorageError, match="already exists; use --force"):
        backup_database(server, target)
    assert target.read_text() == "old"
    backup_database(server, target, force=True)
    assert target.read_bytes()[:16] == SQLITE_HEADER and leftovers(tmp_path) == []


def test_progress_counts_rows_up_to_the_total(server: str, tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    backup_database(server, tmp_path / "b.db", progress=lambda c, t: seen.append((c, t)))
    total = seen[0][1]
    assert seen[0] == (0, total) and seen[-1] == (total, total) and total > 20
    assert [c for c, _ in seen] == sorted(c for c, _ in seen)


class Interrupt(Exception):
    """Stands for whatever stops a copy half-way."""


@pytest.mark.parametrize("error", [Interrupt, KeyboardInterrupt])
def test_an_interrupted_backup_leaves_no_file(
    server: str, tmp_path: Path, error: type[BaseException]
) -> None:
    def stop_half_way(copied: int, total: int) -> None:
        if copied >= total // 2:
            raise error()

    target = tmp_path / "backup.db"
    with pytest.raises(error):
        backup_database(server, target, progress=stop_half_way)
    assert not target.exists() and leftovers(tmp_path) == []
    target.write_text("previous backup")
    with pytest.raises(error):
        backup_database(server, target, force=True, progress=stop_half_way)
    assert target.read_text() == "previous backup" and leftovers(tmp_path) == []


def test_an_unreachable_server_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(StorageError) as failed:
        backup_database(BAD_SERVER, tmp_path / "backup.db")
    message = str(failed.value)
    assert "\n" not in message and "s3cret" not in message and "u:***@" in message
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------ the command line
# `run`: the command line with fake models (tests/conftest.py)


def test_cli_backup_of_a_server(run, server: str, tmp_path: Path) -> None:
    _, memories, _ = run("--db", server, "memories", "list", "--json")
    target = tmp_path / "pg-backup.db"
    code, out, err = run("--db", server, "backup", str(target))
    assert code == 0 and err == ""
    size = target.stat().st_size
    assert out == (
        f"backed up to {target} ({size:,} bytes, integrity ok): profiles 2, memories 10, turns 8\n"
    )
    code, copied, _ = run("--db", str(target), "memories", "list", "--json")
    assert code == 0 and copied == memories
    code, out, err = run("--db", server, "backup", str(tmp_path / "second.db"), tty=True)
    assert code == 0 and out.startswith("backed up to"), err
    steps = err.split("\r")[1:]
    assert steps[0].startswith("backup:   0% (0 of ") and steps[-1].endswith(" rows)\n")
    assert steps[-1].startswith("backup: 100% (")


def test_cli_backup_of_an_unreachable_server_is_one_line(run, tmp_path: Path) -> None:
    code, out, err = run("--db", BAD_SERVER, "backup", str(tmp_path / "b.db"))
    assert (code, out) == (1, "")
    assert err.startswith("memchat: error: cannot open postgresql+psycopg://u:***@")
    assert err.count("\n") == 1 and "s3cret" not in err
    assert not (tmp_path / "b.db").exists()


def test_cli_backup_help_says_postgresql(run) -> None:
    code, out, _ = run("backup", "--help")
    flat = " ".join(out.split())
    assert code == 0 and "a PostgreSQL one row by row" in flat and "db copy --from FILE" in flat
