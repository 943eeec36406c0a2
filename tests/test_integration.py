"""End to end with the real packaged models, each command in its own process (as users run it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import said

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def memchat(tmp_path_factory: pytest.TempPathFactory, model_cache: Path):
    home = tmp_path_factory.mktemp("home")
    env = {
        **os.environ,
        "MEMCHAT_HOME": str(home),
        "MEMCHAT_CACHE": str(model_cache),
        "MEMCHAT_MAX_NEW_TOKENS": "24",
    }
    env.pop("MEMCHAT_PROFILE", None)
    env.pop("MEMCHAT_DB", None)

    def run(*argv: str, stdin: str = "", status: int = 0) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "tui.cli", *argv],
            cwd=ROOT,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == status, done.stderr
        return done

    def run_json(*argv: str) -> Any:
        return json.loads(run(*argv, "--json").stdout)

    run.json = run_json  # type: ignore[attr-defined]
    return run


def test_seed_worked_example(memchat) -> None:
    pairs = {
        "教父": "犯罪片，马龙·白兰度主演",
        "星球大战": "科幻片，哈里森·福特主演",
        "泰坦尼克号": "爱情片，莱昂纳多·迪卡普里奥主演",
    }
    for key, value in pairs.items():
        memchat("--profile", "movies", "memories", "add", "--key", key, "--value", value)
    memchat("profiles", "create", "unused")  # another profile never changes the weights
    found = memchat.json("--profile", "movies", "memories", "search", "星球大战")
    top = found["results"][0]
    assert (top["key"], top["value"]) == ("星球大战", "科幻片，哈里森·福特主演")
    assert top["weight"] >= 0.9
    assert sum(r["weight"] for r in found["results"]) == pytest.approx(1.0, abs=1e-4)
    assert len(found["hops"]) == 1


def test_preferences_across_processes(memchat) -> None:
    first = memchat.json("--profile", "sam", "ask", "My name is Sam and I am vegetarian.")
    assert first["reply"]
    second = memchat.json("--profile", "sam", "ask", "What should I cook for dinner tonight?")
    non_turn = [r for r in second["read"] if r["kind"] != "turn"]
    assert (non_turn[0]["key"], non_turn[0]["value"]) == ("diet", "vegetarian")
    listed = memchat.json("--profile", "sam", "memories", "list")
    prefs = {(m["key"], m["value"]) for m in listed if m["kind"] == "preference"}
    assert {("name", "Sam"), ("diet", "vegetarian")} <= prefs


def test_diet_update_and_history(memchat) -> None:
    memchat("--profile", "pat", "ask", "I am vegetarian.")
    result = memchat.json("--profile", "pat", "ask", "Actually I eat fish now, I'm pescatarian.")
    diet = [w for w in result["written"] if w["key"] == "diet"]
    assert [(w["value"], w["action"]) for w in diet] == [("pescatarian", "update")]
    history = memchat.json("--profile", "pat", "memories", "history", str(diet[0]["id"]))
    assert [(e["old_value"], e["new_value"]) for e in history][-1] == ("vegetarian", "pescatarian")
    text = memchat("--profile", "pat", "memories", "history", str(diet[0]["id"])).stdout
    assert "vegetarian -> pescatarian" in text


def test_reset_one_profile_and_round_trip(memchat, tmp_path: Path) -> None:
    for name in ("alice", "bob"):
        memchat("--profile", name, "memories", "add", "--key", "city", "--value", f"{name} town")
    no = memchat("profiles", "reset", "alice", stdin="\n", status=1)
    assert "nothing changed" in no.stderr
    export = tmp_path / "bob.jsonl"
    memchat("--profile", "bob", "export", str(export))
    memchat("profiles", "reset", "alice", "--yes")
    counts = {p["name"]: p["memories"] for p in memchat.json("profiles", "list")}
    assert counts["alice"] == 0 and counts["bob"] == 1
    other = tmp_path / "other.db"
    memchat("--db", str(other), "import", str(export))
    found = memchat.json("--db", str(other), "--profile", "bob", "memories", "search", "city")
    assert found["results"][0]["value"] == "bob town"
    assert found["results"][0]["weight"] == pytest.approx(1.0)


SISTER_SCRIPT = [
    "My sister is Alice.",
    "I had pasta for lunch today.",
    "The weather has been rainy all week.",
    "I'm reading a novel about pirates.",
    "My laptop is getting slow.",
    "The train was late again this morning.",
    "I finally fixed the leaking tap.",
    "We watched a documentary about whales.",
    "Alice moved to Lyon last year.",
    "I should call the plumber tomorrow.",
    "The cat knocked over a plant.",
]


def test_two_hop_read_finds_where_the_sister_lives(memchat) -> None:
    """DESIGN section 1: "where does my sister live?" -> "my sister is Alice" -> "Alice moved
    to Lyon". The second hop's query carries what the first hop read (Alice)."""
    memchat("--profile", "sis", "chat", "--plain", stdin="\n".join(SISTER_SCRIPT) + "\n")
    found = memchat.json(
        "--profile", "sis", "memories", "search", "Where does my sister live?", "--hops", "2"
    )
    first, second = (hop["results"] for hop in found["hops"])
    assert any(said(r["key"]) == "My sister is Alice." for r in first[:3])  # hop 1: the sister

    moved = "Alice moved to Lyon last year."

    def lyon_rank(results: list[dict]) -> int:
        return next((i for i, r in enumerate(results) if said(r["key"]) == moved), len(results))

    assert found["results"] == second
    assert lyon_rank(second) < len(second) and lyon_rank(second) < lyon_rank(first)
    hop1, hop2 = second[lyon_rank(second)]["hop_weights"]
    assert hop2 > 1.5 * hop1  # the second hop found it through Alice
    assert any(r["value"] == "Alice" for r in second)  # and the sister is still there


def test_imported_chatgpt_history_is_searchable_with_its_source(memchat, tmp_path: Path) -> None:
    """A ChatGPT export through the real encoder: the fact the user stated there is found by a
    search (weight shown) and shows the conversation it came from; a second import adds
    nothing."""
    from tests.history_exports import chatgpt_conversation, write_chatgpt_zip

    chat = chatgpt_conversation(
        "trip",
        "Planning a trip",
        [
            ("user", "I live in Lyon and I am vegetarian."),
            ("assistant", "Then the bouchons of Lyon have a few dishes for you."),
            ("user", "My sister is called Alice."),
        ],
    )
    path = write_chatgpt_zip(tmp_path / "chatgpt.zip", [chat])
    done = memchat.json("--profile", "past", "import-chats", str(path))
    assert (done["conversations"], done["turns"]) == (1, 3)
    again = memchat.json("--profile", "past", "import-chats", str(path))
    assert (again["turns"], again["memories"], again["skipped"]) == (0, 0, 1)
    found = memchat.json("--profile", "past", "memories", "search", "Where do I live?")
    fact = next(r for r in found["results"] if r["kind"] == "fact")
    assert (fact["key"], fact["value"]) == ("lives in", "Lyon") and fact["weight"] > 0
    shown = memchat.json("--profile", "past", "memories", "show", str(fact["id"]))
    assert (shown["conversation"]["source"], shown["conversation"]["title"]) == (
        "chatgpt",
        "Planning a trip",
    )
