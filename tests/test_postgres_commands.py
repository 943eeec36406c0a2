"""Every command of the command line on PostgreSQL (`--db postgresql://...` and MEMCHAT_DB):
ask, memories, profiles, export and import, and eval, with the fake models."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.db import make_engine, session_factory
from storage.models import Profile
from tests import postgres
from tests.test_eval_locomo import sample

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield postgres.new_database()
    postgres.drop_created()


# `run`: the command line with fake models (tests/conftest.py)


def test_chat_memories_and_profiles_on_postgresql(run: Run, pg_url: str) -> None:
    db = ("--db", pg_url)
    assert run(*db, "ask", "My name is Ada and I am vegetarian.")[0] == 0
    code, out, _ = run(*db, "memories", "list", "--json")
    assert code == 0 and {m["value"] for m in json.loads(out)} >= {"Ada", "vegetarian"}
    code, out, _ = run(*db, "memories", "search", "vegetarian", "--json")
    found = json.loads(out)["results"]
    assert code == 0 and abs(sum(r["weight"] for r in found) - 1.0) < 0.2
    code, out, _ = run(*db, "memories", "add", "--key", "city", "--value", "Lisbon", "--json")
    added = json.loads(out)["id"]
    assert run(*db, "memories", "pin", str(added))[0] == 0
    assert run(*db, "memories", "forget", str(added))[0] == 0
    code, out, _ = run(*db, "memories", "history", str(added), "--json")
    assert [e["action"] for e in json.loads(out)] == ["add", "pin", "forget"]
    assert run(*db, "profiles", "create", "work")[0] == 0
    assert run(*db, "--profile", "work", "ask", "I live in Porto.")[0] == 0
    code, out, _ = run(*db, "profiles", "list", "--json")
    assert {p["name"] for p in json.loads(out)} == {"default", "work"}
    assert run(*db, "profiles", "delete", "work", "--yes")[0] == 0


def test_memchat_db_in_the_environment_is_used(
    run: Run, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEMCHAT_DB", pg_url)
    assert run("ask", "I am allergic to peanuts.")[0] == 0
    with session_factory(make_engine(pg_url))() as s:
        assert s.scalars(select(Profile.name)).all() == ["default"]


def test_export_then_import_into_another_postgresql_database(
    run: Run, pg_url: str, tmp_path: Path
) -> None:
    assert run("--db", pg_url, "ask", "My name is Ada and I am vegetarian.")[0] == 0
    export = tmp_path / "all.jsonl"
    assert run("--db", pg_url, "export", str(export), "--all")[0] == 0
    other = postgres.new_database()
    code, out, err = run("--db", other, "import", str(export))
    assert code == 0, err
    again = tmp_path / "again.jsonl"
    assert run("--db", other, "export", str(again), "--all")[0] == 0
    assert [json.loads(x)["type"] for x in again.read_text().splitlines()] == [
        json.loads(x)["type"] for x in export.read_text().splitlines()
    ]


def test_eval_runs_in_a_postgresql_database(run: Run, pg_url: str, tmp_path: Path) -> None:
    data = tmp_path / "locomo.json"
    data.write_text(json.dumps([sample()]), encoding="utf-8")
    out = tmp_path / "report"
    code, printed, err = run(
        "--db", pg_url, "eval", "locomo", "--data", str(data), "--out", str(out),
        "--retrieval-only", "--json",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(printed)["questions"] > 0 and not (out / "locomo.db").exists()
    with session_factory(make_engine(pg_url))() as s:
        assert "locomo-conv-t" in s.scalars(select(Profile.name)).all()


def test_eval_still_refuses_an_sqlite_db_and_a_profile(run: Run, tmp_path: Path) -> None:
    for option in (("--db", str(tmp_path / "mine.db")), ("--profile", "p")):
        code, _, err = run(*option, "eval", "locomo", "--data", "x.json")
        assert code == 2 and "do not apply to it" in err


def test_a_url_with_a_bad_port_is_one_line_without_its_password(run: Run) -> None:
    code, out, err = run("--db", "postgresql://me:pa55word@dbhost:port/memchat", "ask", "hi")
    assert code != 0 and out == "" and len(err.strip().splitlines()) == 1
    assert "not a database URL" in err and "pa55word" not in err
