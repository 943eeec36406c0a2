"""Concurrency: the chat UI and the command line, two processes, write to one database at once
for a minute (MEMCHAT_CONCURRENCY_S seconds; CI uses the default, 60).

The UI process (tests/workers/ui_chat.py) drives the Textual app headless with a Pilot; the
command-line process (tests/workers/cli_loop.py) runs `memchat` commands in a loop. Each logs
what it wrote and every error its user saw. Afterwards: no error reached either user ("database
is locked" was one), everything reported written is in the database, the database is whole,
and the UI's reads found the memories the command line added while the UI was running. On
SQLite and on PostgreSQL (each_engine): both processes get the PostgreSQL database through
MEMCHAT_DB.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests import engines
from tests.engines import Database
from tests.workers.checks import database_problems, rows
from tests.workers.common import read_log

pytestmark = pytest.mark.usefixtures("each_engine")

ROOT = Path(__file__).resolve().parent.parent
DURATION_S = float(os.environ.get("MEMCHAT_CONCURRENCY_S", "60"))
START_S = 120.0  # on top of the duration: importing torch and textual, on a busy machine


def start(module: str, args: list[str], home: Path, output: Path) -> subprocess.Popen[bytes]:
    """Start a worker module with `home` as MEMCHAT_HOME (and the test's database as
    MEMCHAT_DB on PostgreSQL), its output going to `output`."""
    env = {**os.environ, "MEMCHAT_HOME": str(home), "OMP_NUM_THREADS": "1"}
    for name in ("MEMCHAT_DB", "MEMCHAT_PROFILE"):
        env.pop(name, None)
    env.update(engines.env_for(home))
    with output.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def run_both(home: Path) -> tuple[list[int | None], str]:
    """Run the UI and the command line at once for DURATION_S; their exit statuses, and the
    tail of what they printed."""
    ui_log, cli_log = home / "ui.jsonl", home / "cli.jsonl"
    outputs = [home / "ui.out", home / "cli.out"]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        ui_args = [str(home), str(DURATION_S), str(ui_log), str(cli_log)]
        processes.append(start("tests.workers.ui_chat", ui_args, home, outputs[0]))
        cli_args = [str(DURATION_S), str(cli_log), str(ui_log)]
        processes.append(start("tests.workers.cli_loop", cli_args, home, outputs[1]))
        for process in processes:
            process.wait(timeout=DURATION_S + START_S)
    finally:
        for process in processes:  # whatever happened, no worker outlives the test
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
    printed = "\n".join(f"--- {p.name}:\n{p.read_text(errors='replace')[-2000:]}" for p in outputs)
    return [p.returncode for p in processes], printed


Events = set[tuple[int, str, str | None]]  # (memory id, action, new value)


def events_of(db: Database) -> Events:
    """(memory id, action, new value) of every memory event."""
    return {
        (r["memory_id"], r["action"], r["new_value"])
        for r in rows(db, "SELECT memory_id, action, new_value FROM memory_events")
    }


def written_problems(events: Events, who: str, written: list[dict[str, Any]]) -> list[str]:
    """Each reported memory write without its event among `events` (the memory itself may be
    gone since)."""
    return [
        f"{who}: {w['action']} of memory {w['id']} = {w['value']!r} not stored"
        for w in written
        if (w["id"], w["action"], w["value"]) not in events
    ]


def ui_problems(db: Database, ui: list[dict[str, Any]]) -> list[str]:
    """The UI's turns (message and reply) and what they wrote and forgot, in the database."""
    turns = {r["id"]: r for r in rows(db, "SELECT id, role, text FROM turns")}
    events = events_of(db)
    memories = {r["id"] for r in rows(db, "SELECT id FROM memories")}
    problems = []
    for entry in (e for e in ui if e["event"] == "turn"):
        said = turns.get(entry["user_turn_id"]), turns.get(entry["reply_turn_id"])
        if [t and (t["role"], t["text"]) for t in said] != [
            ("user", entry["text"]),
            ("assistant", entry["reply"]),
        ]:
            problems.append(f"UI turn {entry['turn']} not stored as said: {entry['text']!r}")
        problems += written_problems(events, f"UI turn {entry['turn']}", entry["written"])
        for w in entry["forgotten"]:
            if (w["id"], "forget", None) not in events or w["id"] in memories:
                problems.append(f"UI turn {entry['turn']}: memory {w['id']} not forgotten")
    return problems


def cli_problems(db: Database, cli: list[dict[str, Any]]) -> list[str]:
    """The command line's additions, answers and forgettings, in the database; its probe
    memories (never forgotten) still there as added."""
    memories = {r["id"]: r for r in rows(db, "SELECT id, key_text, value_text FROM memories")}
    replies = {r["text"] for r in rows(db, "SELECT text FROM turns WHERE role = 'assistant'")}
    events = events_of(db)
    problems = []
    for entry in cli:
        if entry["event"] == "add":
            problems += written_problems(events, "CLI add", [entry])
            held = memories.get(entry["id"])
            kept = "probe" in entry or "keep" in entry  # never forgotten
            if kept and (held is None or held["value_text"] != entry["value"]):
                problems.append(f"CLI memory {entry['id']} (kept) is {held and tuple(held)}")
        elif entry["event"] == "ask":
            problems += written_problems(events, f"CLI ask {entry['text']!r}", entry["written"])
            if entry["reply"] not in replies:
                problems.append(f"CLI reply {entry['reply']!r} not stored")
        elif entry["event"] == "forget" and (
            entry["id"] in memories or (entry["id"], "forget", None) not in events
        ):
            problems.append(f"CLI forget of memory {entry['id']} not stored")
    return problems


def probe_problems(ui: list[dict[str, Any]], cli: list[dict[str, Any]]) -> list[str]:
    """The UI's read found each probe memory, added by the command line after the UI had
    loaded its key cache."""
    probes = [e for e in ui if e["event"] == "probe"]
    missed = [p["memory_id"] for p in probes if not p["found"]]
    added = {e["id"] for e in cli if e["event"] == "add" and "probe" in e}
    problems = [f"the UI's read missed the command line's new memories {missed}"] if missed else []
    if not probes or not {p["memory_id"] for p in probes} <= added:
        problems.append(f"probes {probes} are not the command line's probe memories {added}")
    return problems


def describe(error: dict[str, Any]) -> str:
    """One error a worker logged: where (or which command), and what the user saw."""
    where = error.get("where") or " ".join(error.get("argv", []))
    said = error.get("message") or error.get("stderr") or ""
    return f"{where}: {said[-3000:]}"


def test_ui_and_command_line_write_at_once(tmp_path: Path) -> None:
    statuses, printed = run_both(tmp_path)
    ui, cli = read_log(tmp_path / "ui.jsonl"), read_log(tmp_path / "cli.jsonl")
    errors = [e for e in ui + cli if e["event"] == "error"]
    shown = "\n".join(describe(e) for e in errors[:5]) + f"\n({len(errors)} errors in all)"
    assert errors == [] and statuses == [0, 0], f"statuses {statuses}\n{shown}\n{printed}"
    turns = sum(e["event"] == "turn" for e in ui)
    rounds = sum(e["event"] == "list" for e in cli)
    assert turns >= 5 and rounds >= 3, f"too little done: {turns} UI turns, {rounds} CLI rounds"
    db = engines.database(tmp_path)
    problems = database_problems(db, dim=64) + ui_problems(db, ui) + cli_problems(db, cli)
    problems += probe_problems(ui, cli)
    assert problems == [], "\n".join(problems)
    print(f"{turns} UI turns and {rounds} CLI rounds in {DURATION_S} s")
