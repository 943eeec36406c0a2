"""`memchat import-chats` and `memchat conversations` on the command line (fake models, both
engines), on exports built in their documented layouts (tests/history_exports.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.history_exports import (
    BRANCHED_CURRENT,
    BRANCHED_DISCARDED,
    chatgpt_branched_conversation,
    chatgpt_conversation,
    claude_conversation,
    write_chatgpt_zip,
    write_claude_zip,
    write_json,
    write_transcript,
)

pytestmark = pytest.mark.usefixtures("each_engine")

Run = Callable[..., tuple[int, str, str]]
COUNTS = ("conversations", "turns", "memories", "skipped")


def counts(out: str) -> tuple[int, ...]:
    done = json.loads(out)
    return tuple(done[k] for k in COUNTS)


def turn_texts(run: Run, *profile: str) -> list[str]:
    code, out, err = run(*profile, "memories", "list", "--kind", "turn", "--json")
    assert code == 0, err
    return [m["value"] for m in json.loads(out)]


def facts_export(tmp_path: Path) -> Path:
    """A ChatGPT zip: the branched conversation, and one where the user states two facts."""
    facts = chatgpt_conversation(
        "facts", "About me", [("user", "I live in Lyon and I like jazz."), ("assistant", "Nice.")]
    )
    return write_chatgpt_zip(tmp_path / "export.zip", [chatgpt_branched_conversation(), facts])


def test_a_chatgpt_export_imports_exactly_the_current_branch_once(run: Run, tmp_path: Path) -> None:
    path = facts_export(tmp_path)
    code, out, err = run("import-chats", str(path), "--json")
    assert code == 0, err
    assert counts(out) == (2, 8, 10, 0)  # 8 turn memories, "lives in" and "likes"
    texts = turn_texts(run)
    assert texts[:6] == [text for _, _, text in BRANCHED_CURRENT]
    assert not set(BRANCHED_DISCARDED) & set(texts)
    assert not any("NOISE" in t for t in texts)
    code, out, _ = run("import-chats", str(path), "--json")  # again: nothing is added
    assert (code, counts(out)) == (0, (0, 0, 0, 2))
    assert len(turn_texts(run)) == 8


def test_a_claude_export_and_transcripts_import(run: Run, tmp_path: Path) -> None:
    claude = write_claude_zip(
        tmp_path / "claude.zip",
        [
            claude_conversation(
                "c1", "Plants", [("user", "I grow tomatoes."), ("assistant", "Great.")]
            )
        ],
    )
    text = write_transcript(
        tmp_path / "chat.txt", ["User: My sister is Alice.", "Assistant: Hello Alice's sibling."]
    )
    for path, profile in ((claude, "claude"), (text, "text")):
        run("profiles", "create", profile)
        code, out, err = run("--profile", profile, "import-chats", str(path), "--json")
        assert code == 0, err
        assert counts(out)[:2] == (1, 2)
    assert turn_texts(run, "--profile", "claude")[0] == "I grow tomatoes."
    assert turn_texts(run, "--profile", "text")[0] == "My sister is Alice."
    run("--profile", "text", "export", str(tmp_path / "text.jsonl"))
    run("profiles", "create", "copy")
    code, out, err = run("--profile", "copy", "import-chats", str(tmp_path / "text.jsonl"))
    assert code == 0, err  # a memchat export's turns are a transcript too
    assert turn_texts(run, "--profile", "copy") == turn_texts(run, "--profile", "text")


def test_profile_after_the_command_and_the_summary_line(run: Run, tmp_path: Path) -> None:
    path = facts_export(tmp_path)
    run("profiles", "create", "past")
    code, out, _ = run("import-chats", str(path), "--profile", "past")
    assert code == 0
    assert out.startswith("imported 2 conversations into profile 'past': 8 turns, 10 memories in ")
    assert len(turn_texts(run, "--profile", "past")) == 8 and turn_texts(run) == []


def test_dry_run_says_what_would_be_added_and_writes_nothing(run: Run, tmp_path: Path) -> None:
    path = facts_export(tmp_path)
    code, out, _ = run("import-chats", str(path), "--dry-run", "--json")
    assert code == 0 and json.loads(out)["dry_run"] is True
    assert counts(out) == (2, 8, 10, 0)
    assert turn_texts(run) == []
    code, out, _ = run("conversations", "list", "--json")
    assert json.loads(out) == []


def test_a_cut_file_imports_the_conversations_before_the_cut(run: Run, tmp_path: Path) -> None:
    whole = write_json(tmp_path / "whole.json", [
        chatgpt_conversation("one", "One", [("user", "I like tea.")]),
        chatgpt_conversation("two", "Two", [("user", "I like coffee.")]),
    ])  # fmt: skip
    cut = tmp_path / "conversations.json"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) - 40])
    code, out, err = run("import-chats", str(cut), "--strict", "--json")
    assert code == 1 and "nothing was imported" in err and len(err.splitlines()) == 1
    assert turn_texts(run) == []
    code, out, err = run("import-chats", str(cut), "--json")
    assert code == 0, err
    done = json.loads(out)
    assert (done["conversations"], done["skipped_because"]["damaged"]) == (1, 1)
    assert "cut" in done["damaged"][0]["reason"]
    code, out, err = run("import-chats", str(cut))
    assert "damaged: conversation" in err and "skipped 2 conversations" in out


def test_bad_files_and_formats_get_one_line(run: Run, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("just some notes\n")
    code, _, err = run("import-chats", str(notes))
    assert code == 1 and len(err.splitlines()) == 1
    assert "chatgpt" in err.lower() and "claude" in err.lower() and "transcript" in err
    code, _, err = run("import-chats", str(notes), "--format", "whatsapp")
    assert code == 2 and "chatgpt, claude, transcript" in err.replace("'", "")
    code, _, err = run("import-chats", str(tmp_path / "missing.zip"))
    assert code == 1 and len(err.splitlines()) == 1
    code, _, err = run("import-chats", str(notes), "--since", "last week")
    assert code == 2 and "not a date" in err


def test_since_and_forgetting_a_conversation(run: Run, tmp_path: Path) -> None:
    path = facts_export(tmp_path)
    code, out, _ = run("import-chats", str(path), "--since", "2030-01-01", "--json")
    assert counts(out) == (0, 0, 0, 2)
    assert json.loads(out)["skipped_because"]["before --since"] == 2
    run("import-chats", str(path))
    code, out, _ = run("conversations", "list", "--json")
    rows = {c["source_id"]: c for c in json.loads(out)}
    facts = rows["facts"]
    assert (facts["source"], facts["title"], facts["turns"], facts["memories"]) == (
        "chatgpt", "About me", 2, 4,
    )  # fmt: skip
    code, out, _ = run("memories", "search", "Lyon", "--json")
    fact = next(r for r in json.loads(out)["results"] if r["kind"] == "fact")
    code, out, _ = run("memories", "show", str(fact["id"]), "--json")
    shown = json.loads(out)
    assert shown["conversation"]["source_id"] == "facts"
    assert shown["source_turn"]["created_at"].startswith("2023-11-14T22:13")
    code, _, err = run("conversations", "forget", str(facts["id"]))
    assert code == 1 and "nothing changed" in err  # no terminal answer is no
    code, out, err = run("conversations", "forget", str(facts["id"]), "--yes")
    assert code == 0 and "2 turns, 4 memories" in out, err
    assert "I live in Lyon and I like jazz." not in turn_texts(run)
    code, out, _ = run("memories", "list", "--json")
    assert not [m for m in json.loads(out) if "Lyon" in m["value"]]
    code, _, err = run("conversations", "forget", str(facts["id"]), "--yes")
    assert code == 1 and "forgotten already" in err
    code, out, _ = run("import-chats", str(path), "--json")
    assert json.loads(out)["skipped_because"]["forgotten"] == 1
