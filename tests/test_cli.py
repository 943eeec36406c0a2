"""The command line with fake models: JSON contracts, exit statuses, confirmations."""

from __future__ import annotations

import io
import json
import sqlite3
import stat
import sys
from pathlib import Path

import pytest

from agent.text import counted
from tests.conftest import fake_build_agent
from tests.fakes import said
from tui import cli


class TerminalInput(io.TextIOWrapper):
    """Standard input that says it is a terminal (what a person typing gives)."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    monkeypatch.setenv("MEMCHAT_HOME", str(tmp_path))
    monkeypatch.delenv("MEMCHAT_PROFILE", raising=False)

    monkeypatch.setattr(cli, "build_agent", fake_build_agent)

    def invoke(*argv: str, stdin: bytes = b"", tty: bool = False) -> tuple[int, str, str]:
        stream = (TerminalInput if tty else io.TextIOWrapper)(io.BytesIO(stdin))
        monkeypatch.setattr("sys.stdin", stream)
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def test_ask_json_contract(run) -> None:
    code, out, _ = run("ask", "My name is Sam and I am vegetarian.", "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data) >= {"reply", "read", "written", "timings_ms", "model"}
    assert data["model"] == "fake-words"  # the chat model in use (issue 18)
    assert set(data["timings_ms"]) == {"encode", "read", "generate", "write", "total"}
    assert {(w["kind"], w["key"], w["value"], w["action"]) for w in data["written"]} >= {
        ("preference", "name", "Sam", "add"),
        ("preference", "diet", "vegetarian", "add"),
    }
    code, out, _ = run("ask", "What should I cook?", "--json")
    read = json.loads(out)["read"]
    assert read and set(read[0]) == {"id", "kind", "key", "value", "weight", "score", "hop_weights"}


def test_memories_list_search_show_history(run) -> None:
    run("ask", "I am vegetarian")
    run("ask", "I'm vegan now")
    code, out, _ = run("memories", "list", "--json")
    memories = json.loads(out)
    assert {
        "id",
        "kind",
        "key",
        "value",
        "usage",
        "pinned",
        "created_at",
        "updated_at",
        "source_turn_id",
    } <= set(memories[0])
    diet = next(m for m in memories if m["key"] == "diet")
    assert diet["value"] == "vegan"
    code, out, _ = run("memories", "list", "--kind", "preference", "--json")
    assert [m["key"] for m in json.loads(out)] == ["diet"]
    code, out, _ = run("memories", "search", "vegan diet", "--k", "2", "--hops", "2", "--json")
    data = json.loads(out)
    assert set(data) == {"query", "results", "hops", "elapsed_ms"}
    assert len(data["results"]) == 2 and len(data["hops"]) == 2
    weights = [r["weight"] for r in data["results"]]
    assert weights == sorted(weights, reverse=True)
    code, out, _ = run("memories", "history", str(diet["id"]), "--json")
    assert [(e["action"], e["old_value"], e["new_value"]) for e in json.loads(out)] == [
        ("add", None, "vegetarian"),
        ("update", "vegetarian", "vegan"),
    ]
    code, out, _ = run("memories", "show", str(diet["id"]))
    assert code == 0 and "vegetarian -> vegan" in out
    code, out, _ = run("memories", "pin", str(diet["id"]))
    assert "pinned" in out
    code, out, _ = run("memories", "forget", str(diet["id"]))
    assert code == 0
    code, _, err = run("memories", "forget", str(diet["id"]))
    assert code == 1 and err.count("\n") == 1 and "no memory" in err


def test_add_json(run) -> None:
    code, out, _ = run("memories", "add", "--key", "教父", "--value", "犯罪片", "--json")
    assert code == 0 and json.loads(out)["action"] == "add"
    code, out, _ = run("memories", "add", "--key", "教父", "--value", "黑帮片", "--json")
    assert json.loads(out)["action"] == "update"


@pytest.mark.parametrize(
    ("argv", "status", "message"),
    [
        (["ask", ""], 2, "message is empty"),
        (["ask", "\x01\x02"], 2, "message is empty"),
        (["memories", "show", "999"], 1, "no memory 999"),
        (["memories", "show", "abc"], 2, "not a whole number"),
        (["memories", "accept", str(10**30)], 2, "is too large"),  # was an OverflowError
        (["memories", "reject", str(2**63)], 2, "is too large"),
        (["--profile", "nobody", "memories", "list"], 1, "unknown profile 'nobody'"),
        (["profiles", "reset", "nobody", "--yes"], 1, "unknown profile"),
        (["memories", "add", "--key", "k", "--value", " "], 2, "value is empty"),
        (["import", "/nonexistent/file.jsonl"], 1, "cannot read"),
        (["ask", "hello", "--hops", "9"], 2, "9 hops is out of range (1 to 8)"),
        (["memories", "search", "x", "--hops", "1000000"], 2, "out of range (1 to 8)"),
        (["ask", "hello", "--hops", "0"], 2, "is not at least 1"),
        (["--db", "other.db", "eval", "locomo", "--data", "x.json"], 2, "--db and --profile"),
        (["--profile", "p", "eval", "locomo", "--data", "x.json"], 2, "do not apply to it"),
        (["--db", "x.db", "eval", "longmemeval", "--data", "x.json"], 2, "<out>/longmemeval.db"),
    ],
)
def test_errors_are_one_line_with_status(run, argv: list[str], status: int, message: str) -> None:
    code, _, err = run(*argv)
    assert code == status
    assert message in err
    assert err.strip().count("\n") == 0 or status == 2  # argparse prints usage first


def test_ask_reads_stdin_and_refuses_invalid_utf8(run) -> None:
    code, _, err = run("ask", "-", stdin=b"caf\xe9 au lait")
    assert code == 2 and "not valid UTF-8" in err
    code, out, _ = run("ask", "-", "--json", stdin="I love café au lait".encode())
    assert code == 0 and json.loads(out)["written"][1]["value"] == "café au lait"


def test_line_chat_survives_bad_lines(run) -> None:
    code, out, err = run("chat", stdin=b"I love tea\n\xff\xfe\n\nhello\n/quit\nnever read\n")
    assert code == 0
    assert out.count("Sure, here is a fine answer.") == 2
    assert "not valid UTF-8" in err


def test_reset_asks_and_defaults_to_no(run, tmp_path: Path) -> None:
    run("--profile", "alice", "ask", "My name is Alice")
    run("--profile", "bob", "ask", "My name is Bob")
    code, _, err = run("profiles", "reset", "alice", stdin=b"\n")
    assert code == 1 and "nothing changed" in err
    code, _, _ = run("profiles", "reset", "alice", stdin=b"")
    assert code == 1
    _, out, _ = run("profiles", "list", "--json")
    counts = {p["name"]: p["memories"] for p in json.loads(out)}
    assert counts["alice"] == 2
    export = tmp_path / "alice.jsonl"
    code, out, _ = run("profiles", "reset", "alice", "--export", str(export), stdin=b"y\n")
    assert code == 0 and export.exists()
    _, out, _ = run("profiles", "list", "--json")
    counts = {p["name"]: (p["memories"], p["turns"]) for p in json.loads(out)}
    assert counts["alice"] == (0, 0) and counts["bob"] == (2, 2)
    code, _, _ = run("profiles", "delete", "bob", "--yes")
    assert code == 0


def test_bad_db_paths(run, tmp_path: Path) -> None:
    not_db = tmp_path / "text.db"
    not_db.write_text("hello " * 1000)
    code, _, err = run("--db", str(not_db), "memories", "list")
    assert code == 1 and "not a database" in err and err.count("\n") == 1
    code, _, err = run("--db", str(tmp_path), "memories", "list")
    assert code == 1 and "directory" in err


def test_export_import_commands(run, tmp_path: Path) -> None:
    run("ask", "I love tea")
    path = tmp_path / "out.jsonl"
    code, out, _ = run("export", str(path))
    assert code == 0 and "2 memories" in out
    code, out, _ = run("--db", str(tmp_path / "new.db"), "import", str(path))
    assert code == 0 and "2 memories" in out


def test_one_megabyte_message_is_refused_in_one_line(run) -> None:
    code, out, err = run("ask", "-", stdin=b"a" * (1 << 20))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "1,048,576 characters; the limit is 200,000" in err
    _, out, _ = run("memories", "list", "--json")
    assert json.loads(out) == []


def test_markup_and_control_characters_are_stored_literally(run) -> None:
    code, out, _ = run("ask", "I love [bold]jazz[/bold]\x07\x1b[2J", "--json")
    assert code == 0
    written = json.loads(out)["written"]
    assert said(written[0]["key"]) == "I love [bold]jazz[/bold]"
    assert written[1]["value"] == "[bold]jazz[/bold]"


def test_review_commands(run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMCHAT_REVIEW", "1")
    code, out, _ = run("ask", "I'm vegetarian and I like jazz.", "--json")
    proposed = json.loads(out)["proposed"]
    assert code == 0 and {(p["key"], p["value"], p["status"]) for p in proposed} == {
        ("diet", "vegetarian", "pending"),
        ("likes", "jazz", "pending"),
    }
    diet = next(p["id"] for p in proposed if p["key"] == "diet")
    jazz = next(p["id"] for p in proposed if p["key"] == "likes")
    code, out, _ = run("memories", "accept", str(diet), "--value", "vegan", "--json")
    assert code == 0 and (json.loads(out)["value"], json.loads(out)["action"]) == ("vegan", "add")
    code, out, _ = run("memories", "reject", str(jazz))
    assert code == 0 and "nothing was stored" in out
    code, out, err = run("memories", "reject", str(jazz))
    assert code == 2 and "already rejected" in err
    code, out, _ = run("memories", "proposals")
    assert out.strip() == "(no proposals)"
    code, out, _ = run("memories", "proposals", "--all", "--json")
    assert {p["status"] for p in json.loads(out)} == {"accepted", "rejected"}
    code, out, err = run("memories", "accept", "99")
    assert code == 1 and "no proposal 99" in err


def test_forget_a_turn_with_or_without_its_derived_memories(run) -> None:
    _, out, _ = run("ask", "My sister is Alice and I like jazz.", "--json")
    turn = next(w["id"] for w in json.loads(out)["written"] if w["kind"] == "turn")
    code, out, err = run("memories", "forget", str(turn))  # no terminal: keeps, and says so
    assert code == 0 and "kept 2 memories extracted from it" in err
    _, out, _ = run("ask", "My brother is Tom.", "--json")
    turn = next(w["id"] for w in json.loads(out)["written"] if w["kind"] == "turn")
    code, out, _ = run("memories", "forget", str(turn), "--derived", "--json")
    assert code == 0 and len(json.loads(out)["forgotten"]) == 2
    _, out, _ = run("memories", "list", "--json")
    assert {m["value"] for m in json.loads(out)} == {"Alice", "jazz"}


def test_show_json_has_the_chain_and_ask_has_hops(run) -> None:
    run("ask", "Hello.")
    _, out, _ = run("ask", "My sister is Alice.", "--json", "--hops", "2")
    data = json.loads(out)
    assert len(data["hops"]) == 2 and all(len(r["hop_weights"]) == 2 for r in data["read"])
    fact = next(w["id"] for w in data["written"] if w["kind"] == "fact")
    _, out, _ = run("memories", "show", str(fact), "--json")
    shown = json.loads(out)
    assert shown["source_turn"]["text"] == "My sister is Alice."
    assert [m["kind"] for m in shown["derived"]] == ["turn"]
    turn = shown["derived"][0]["id"]
    _, out, _ = run("memories", "show", str(turn), "--json")
    assert said(json.loads(out)["previous"]["key"]) == "Hello."
    _, out, _ = run("memories", "show", str(turn))
    assert "previous turn:" in out and "from the same turn: #" in out


def profile_counts(run) -> dict[str, tuple[int, int]]:
    _, out, _ = run("profiles", "list", "--json")
    return {p["name"]: (p["memories"], p["turns"]) for p in json.loads(out)}


def seed_alice_and_bob(run) -> None:
    run("--profile", "alice", "ask", "My name is Alice")
    run("--profile", "bob", "ask", "My name is Bob")


def test_reset_at_a_terminal_offers_an_export_first(run, tmp_path: Path) -> None:
    seed_alice_and_bob(run)
    export = tmp_path / "alice.jsonl"
    code, out, err = run("profiles", "reset", "alice", stdin=f"{export}\ny\n".encode(), tty=True)
    assert code == 0
    assert err.index("Export profile 'alice' to a file before resetting? Enter a path") < err.index(
        f"Reset profile 'alice' (after exporting it to {export}): delete its 2 memories"
    )
    assert f"exported 2 memories to {export}" in out
    assert stat.S_IMODE(export.stat().st_mode) == 0o600
    rows = [json.loads(line) for line in export.read_text().splitlines()]
    assert sum(r["type"] == "memories" for r in rows) == 2
    assert profile_counts(run) == {"alice": (0, 0), "bob": (2, 2), "default": (0, 0)}


def test_reset_at_a_terminal_without_export_and_declined(run, tmp_path: Path) -> None:
    seed_alice_and_bob(run)
    code, _, err = run("profiles", "reset", "alice", stdin=b"\nn\n", tty=True)
    assert code == 1 and "nothing changed" in err and "after exporting" not in err
    code, _, err = run("profiles", "reset", "alice", stdin=b"", tty=True)  # end of input: no
    assert code == 1 and "nothing changed" in err
    assert profile_counts(run)["alice"] == (2, 2)
    assert list(tmp_path.glob("*.jsonl")) == []
    code, out, _ = run("profiles", "reset", "alice", stdin=b"\ny\n", tty=True)  # no export
    assert code == 0 and "exported" not in out and profile_counts(run)["alice"] == (0, 0)


def test_reset_asks_before_replacing_an_existing_export(run, tmp_path: Path) -> None:
    seed_alice_and_bob(run)
    old = tmp_path / "old.jsonl"
    old.write_text("keep me")
    new = tmp_path / "new.jsonl"
    answers = f"{old}\nn\n{new}\ny\n".encode()  # not that one; this one; yes, reset
    code, out, err = run("profiles", "reset", "alice", stdin=answers, tty=True)
    assert code == 0 and f"{old} exists. Replace it? [y/N]" in err
    assert old.read_text() == "keep me" and f"exported 2 memories to {new}" in out


def test_a_failed_export_resets_nothing(run, tmp_path: Path) -> None:
    seed_alice_and_bob(run)
    nowhere = tmp_path / "missing" / "alice.jsonl"
    code, _, err = run("profiles", "reset", "alice", stdin=f"{nowhere}\ny\n".encode(), tty=True)
    assert code == 1 and err.count("memchat: error:") == 1
    # (the answers are not echoed here as a terminal would: the error follows the prompt)
    error = err[err.index("memchat: error: ") :]
    assert error.startswith("memchat: error: cannot write") and error.count("\n") == 1
    assert error.endswith("profile 'alice' was not reset\n")
    code, _, err = run("profiles", "reset", "alice", "--yes", "--export", str(nowhere))
    assert code == 1 and err.count("\n") == 1 and "was not reset" in err
    assert profile_counts(run)["alice"] == (2, 2)


def test_reset_yes_and_export_flags_ask_nothing_more(run, tmp_path: Path) -> None:
    seed_alice_and_bob(run)
    code, _, err = run("profiles", "reset", "bob", "--yes", stdin=b"unread\n", tty=True)
    assert code == 0 and err == ""
    export = tmp_path / "alice.jsonl"
    code, _, err = run(
        "profiles", "reset", "alice", "--export", str(export), stdin=b"y\n", tty=True
    )
    assert code == 0 and "Export profile" not in err and "(after exporting it to" in err
    assert stat.S_IMODE(export.stat().st_mode) == 0o600
    assert profile_counts(run) == {"alice": (0, 0), "bob": (0, 0), "default": (0, 0)}


def test_reset_not_at_a_terminal_offers_no_export(run) -> None:
    """A script's piped answer stays the answer to the one confirmation, as before."""
    seed_alice_and_bob(run)
    code, _, err = run("profiles", "reset", "alice", stdin=b"y\n")
    assert code == 0 and "Export profile" not in err
    assert profile_counts(run)["alice"] == (0, 0)


# ------------------------------------------------------------ backup


def test_backup_command_copies_what_memchat_shows(run, tmp_path: Path) -> None:
    run("ask", "I love tea and my sister is Alice.")
    run("--profile", "bob", "ask", "I am vegetarian")
    _, memories, _ = run("memories", "list", "--json")
    target = tmp_path / "backups" / "memchat-backup.db"
    target.parent.mkdir()
    code, out, err = run("backup", str(target))
    assert code == 0 and err == ""  # no progress when stderr is not a terminal
    size = target.stat().st_size
    assert out == (
        f"backed up to {target} ({size:,} bytes, integrity ok): profiles 2, memories 5, turns 4\n"
    )
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    code, copied, _ = run("--db", str(target), "memories", "list", "--json")
    assert code == 0 and json.loads(copied) == json.loads(memories)
    code, out, _ = run("--db", str(target), "--profile", "bob", "memories", "list", "--json")
    assert {said(m["value"]) for m in json.loads(out)} == {"vegetarian", "I am vegetarian"}


def test_backup_force_replaces_and_relative_paths_work(
    run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run("ask", "I love tea")
    monkeypatch.chdir(tmp_path)
    Path("copy.db").write_text("old")
    code, _, err = run("backup", "copy.db")
    assert code == 1 and Path("copy.db").read_text() == "old"
    code, out, _ = run("backup", "copy.db", "--force")
    assert code == 0 and str(tmp_path / "copy.db") in out
    with sqlite3.connect(tmp_path / "copy.db") as db:
        assert db.execute("SELECT count(*) FROM memories").fetchone()[0] == 2


@pytest.mark.parametrize(
    ("argv", "status", "message"),
    [
        (["backup", "{home}/copy.db"], 1, "copy.db already exists; use --force to replace it"),
        (["backup", "{home}/memchat.db", "--force"], 2, "is the database being backed up"),
        (["backup", "{home}/missing/copy.db"], 1, "folder {home}/missing does not exist"),
        (["backup", "{home}", "--force"], 1, "it is a folder"),
        (
            ["--db", "mysql://sam@localhost/memchat", "backup", "{home}/my.db"],
            1,
            "backup copies SQLite and PostgreSQL databases only; this one is mysql",
        ),
        (["--db", "sqlite://", "backup", "{home}/mem.db"], 1, "in memory"),
        (["--db", "{home}/none.db", "backup", "{home}/x.db"], 1, "there is nothing to back up"),
    ],
)
def test_backup_refusals_are_one_line(
    run, tmp_path: Path, argv: list[str], status: int, message: str
) -> None:
    run("ask", "I love tea")
    (tmp_path / "copy.db").write_text("old")
    code, out, err = run(*[a.format(home=tmp_path) for a in argv])
    assert (code, out) == (status, "")
    assert err.startswith("memchat: error: ") and err.count("\n") == 1
    assert message.format(home=tmp_path) in err
    # Nothing was made, not even none.db (SQLite's -wal / -shm come and go with connections).
    made = {p.name for p in tmp_path.iterdir() if not p.name.endswith(("-wal", "-shm"))}
    assert made == {"copy.db", "memchat.db"} and (tmp_path / "copy.db").read_text() == "old"


def test_backup_usage_errors(run) -> None:
    code, _, err = run("backup")
    assert code == 2 and "FILE" in err
    code, _, err = run("backup", "x.db", "--overwrite")
    assert code == 2 and "unrecognized arguments: --overwrite" in err


def test_backup_progress_only_at_a_terminal(run, tmp_path: Path, monkeypatch) -> None:
    run("ask", "I love tea")
    monkeypatch.setattr("storage.backup.STEP_PAGES", 4)
    code, _, err = run("backup", str(tmp_path / "quiet.db"))
    assert code == 0 and err == ""
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code, out, err = run("backup", str(tmp_path / "shown.db"))
    assert code == 0 and out.startswith("backed up to")
    steps = err.split("\r")[1:]
    assert len(steps) >= 3 and steps[0].startswith("backup:  ")
    assert steps[-1].startswith("backup: 100% (") and steps[-1].endswith(" pages)\n")


def test_an_unexpected_database_error_is_one_line(run, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.exc import OperationalError

    def full_disk(*_args: object, **_kwargs: object) -> None:
        raise OperationalError("INSERT ...", {}, Exception("database or disk is full"))

    monkeypatch.setattr("agent.core.Agent.add_memory", full_disk)
    code, out, err = run("memories", "add", "--key", "k", "--value", "v")
    assert (code, out) == (1, "")
    assert err == "memchat: error: database error: database or disk is full\n"


def test_counts_read_one_memory_and_two_memories(run) -> None:
    run("memories", "add", "--key", "city", "--value", "Lyon")
    _, out, _ = run("profiles", "list")
    assert "1 memory" in out and "0 turns" in out and "1 memories" not in out
    run("memories", "add", "--key", "pet", "--value", "cat")
    _, out, _ = run("profiles", "list")
    assert "2 memories" in out


def test_counted_agrees_with_its_number() -> None:
    assert [counted(n, "memory", "memories") for n in (0, 1, 2)] == [
        "0 memories",
        "1 memory",
        "2 memories",
    ]
    assert counted(1, "turn") == "1 turn" and counted(3, "turn") == "3 turns"


# Erase the screen, set the clipboard (OSC 52), a hidden link (OSC 8), an 8-bit CSI, a bidi
# override: a reply or a memory holding them must not reach the terminal as controls.
HOSTILE = "ok \x1b[2J\x1b]52;c;aGk=\x07\x1b]8;;http://x\x07link\x1b]8;;\x07 \x9b31m \u202eevil"


def _no_controls(text: str) -> bool:
    return not any(c in text for c in "\x1b\x07\x9b\u202e")


def test_replies_and_memories_cannot_drive_the_terminal(run, monkeypatch, tmp_path) -> None:
    monkeypatch.setattr("tests.fakes.FakeGenerator.__init__.__defaults__", (HOSTILE,))
    code, out, err = run("ask", "Tell me a story")
    assert code == 0 and _no_controls(out + err) and "\\u001b]52;c;aGk=" in out
    code, out, _ = run("ask", "Tell me a story", "--json")
    assert _no_controls(out) and json.loads(out)["reply"] == HOSTILE  # the same once parsed
    code, out, _ = run("chat", "--plain", stdin=b"Tell me a story\n")
    assert code == 0 and _no_controls(out) and "\\u202eevil" in out
    code, out, _ = run("memories", "add", "--key", "note", "--value", "plain", "--json")
    memory_id = json.loads(out)["id"]
    with sqlite3.connect(tmp_path / "memchat.db") as db:  # as an import or a model could store it
        db.execute("UPDATE memories SET value_text = ? WHERE id = ?", (HOSTILE, memory_id))
    for argv in (["memories", "list"], ["memories", "show", str(memory_id)]):
        code, out, _ = run(*argv)
        assert code == 0 and _no_controls(out) and "\\u001b[2J" in out, argv
    code, out, _ = run("memories", "list", "--json")
    assert any(m["value"] == HOSTILE for m in json.loads(out))  # the database keeps it as it was


def test_a_reply_that_fails_unexpectedly_is_one_line_and_keeps_the_message(
    run, monkeypatch
) -> None:
    def broken(self, *args, **kwargs):
        raise RuntimeError("cannot allocate memory")
        yield ""

    monkeypatch.setattr("tests.fakes.FakeGenerator.stream", broken)
    code, _, err = run("ask", "Tell me a story")
    assert code == 1 and err.count("\n") == 1
    assert "RuntimeError: cannot allocate memory" in err and "your message is saved" in err
    _, out, _ = run("memories", "list", "--kind", "turn", "--json")
    assert [said(m["key"]) for m in json.loads(out)] == ["Tell me a story"]


def test_models_lists_the_model_in_use_and_gguf_files_found(run, tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "tiny.gguf").write_bytes(b"GGUF")
    code, out, err = run("--model", "gguf:/x/y.gguf", "models", "--json")
    assert code == 0, err
    listed = json.loads(out)
    assert listed["configured"] == "gguf:/x/y.gguf (llama.cpp)"
    assert str(tmp_path / "models" / "tiny.gguf") in listed["found"]
    assert listed["packaged"].endswith("SmolLM2-135M-Instruct.Q4_1.gguf")
    code, out, _ = run("models")
    assert code == 0 and "in use:   the packaged SmolLM2-135M-Instruct" in out
    code, out, _ = run("--model", "m", "--base-url", "http://127.0.0.1:9/v1", "models")
    assert code == 0 and "cannot reach the model server at http://127.0.0.1:9/v1" in out
