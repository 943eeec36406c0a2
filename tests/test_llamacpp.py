"""Bring your own model, for real: the packaged SmolLM2 GGUF through llama.cpp, both in
process (`--model gguf:PATH`) and behind a real OpenAI-compatible server (`python -m
llama_cpp.server`, started here on a free loopback port), each `memchat` command in its own
process as users run it.

These need the `llamacpp` extra (`pip install -e '.[llamacpp]'`). Without it they are skipped,
unless MEMCHAT_REQUIRE_LLAMACPP=1 (CI sets it): then they fail.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from agent.errors import MemchatError
from agent.models.locate import GENERATOR, package_dir
from tests.waiting import until

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[1]

try:
    import llama_cpp  # noqa: F401

    HAVE_LLAMACPP = True
except ImportError:
    HAVE_LLAMACPP = False
if not HAVE_LLAMACPP:
    if os.environ.get("MEMCHAT_REQUIRE_LLAMACPP") == "1":
        raise RuntimeError("MEMCHAT_REQUIRE_LLAMACPP=1 but llama-cpp-python is not installed")
    pytestmark = [pytest.mark.integration, pytest.mark.skip(reason="needs the llamacpp extra")]

GGUF = package_dir(GENERATOR) / GENERATOR.relpath
ALIAS = "smollm2"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LlamaServer:
    """`python -m llama_cpp.server` with the packaged GGUF on a free loopback port."""

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        command = [sys.executable, "-m", "llama_cpp.server", "--model", str(GGUF), "--host",
                   "127.0.0.1", "--port", str(self.port), "--n_ctx", "2048", "--model_alias",
                   ALIAS]  # fmt: skip
        with log.open("w") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        self.log = log
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.process.poll() is None, log.read_text()[-2000:]
            try:
                if httpx.get(f"{self.url}/models", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
        raise AssertionError(f"the llama.cpp server did not start:\n{log.read_text()[-2000:]}")

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    started = LlamaServer(tmp_path_factory.mktemp("llama") / "server.log")
    try:
        yield started
    finally:
        started.kill()


@pytest.fixture
def memchat(tmp_path: Path, model_cache: Path):
    env = {**os.environ, "MEMCHAT_HOME": str(tmp_path), "MEMCHAT_CACHE": str(model_cache)}
    env["MEMCHAT_MAX_NEW_TOKENS"] = "24"
    for name in ("MEMCHAT_PROFILE", "MEMCHAT_DB", "MEMCHAT_MODEL", "MEMCHAT_BASE_URL"):
        env.pop(name, None)

    def run(*argv: str, status: int = 0, **extra: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "tui.cli", *argv],
            cwd=ROOT,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == status, done.stderr
        assert "Traceback" not in done.stderr
        return done

    run.home = tmp_path  # type: ignore[attr-defined]
    return run


def stored_replies(home: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(home / "memchat.db") as db:
        rows = db.execute("select text, status, model from turns where role = 'assistant'")
        return [tuple(r) for r in rows]


def test_a_gguf_file_answers_through_llama_cpp(memchat) -> None:
    done = memchat("--model", f"gguf:{GGUF}", "ask", "Tell me about cats.", "--json")
    result = json.loads(done.stdout)
    assert result["model"] == "SmolLM2-135M-Instruct.Q4_1" and result["reply"].strip()
    assert result["answered_from"] == "model"
    assert stored_replies(memchat.home) == [(result["reply"], "complete", result["model"])]


def test_a_missing_or_foreign_gguf_is_one_line(memchat, tmp_path: Path) -> None:
    missing = memchat("--model", "gguf:/nonexistent/model.gguf", "ask", "hi", status=1)
    assert missing.stderr.count("\n") == 1 and "does not exist" in missing.stderr
    foreign = tmp_path / "notes.gguf"
    foreign.write_text("not a model")
    refused = memchat("--model", f"gguf:{foreign}", "ask", "hi", status=1)
    assert refused.stderr.count("\n") == 1 and "is not a GGUF file" in refused.stderr
    damaged = tmp_path / "cut.gguf"
    damaged.write_bytes(GGUF.read_bytes()[:4096])  # a GGUF header, cut off
    cut = memchat("--model", f"gguf:{damaged}", "ask", "hi", status=1)
    assert cut.stderr.count("\n") == 1 and "cut.gguf" in cut.stderr


def test_a_served_model_answers_and_is_stored_with_the_turn(memchat, server) -> None:
    api = {"MEMCHAT_API_KEY_ENV": "MEMCHAT_TEST_KEY", "MEMCHAT_TEST_KEY": "sk-never-written-42"}
    done = memchat("--model", ALIAS, "--base-url", server.url, "ask", "Tell me about dogs.",
                   "--json", **api)  # fmt: skip
    result = json.loads(done.stdout)
    assert result["model"] == ALIAS and result["reply"].strip()
    assert stored_replies(memchat.home) == [(result["reply"], "complete", ALIAS)]
    memchat("export", str(memchat.home / "export.jsonl"))
    for path in memchat.home.rglob("*"):  # the database, its WAL, the export: no API key
        if path.is_file():
            assert b"sk-never-written-42" not in path.read_bytes(), path


def test_a_wrong_model_name_lists_what_the_server_offers(memchat, server) -> None:
    done = memchat("--model", "llama9", "--base-url", server.url, "ask", "hi", status=1)
    assert done.stderr.count("\n") == 1
    assert f"has no model 'llama9' (it offers: {ALIAS})" in done.stderr


def test_a_remote_url_is_refused_without_allow_remote(memchat) -> None:
    done = memchat("--model", "m", "--base-url", "http://192.0.2.1/v1", "ask", "hi", status=2)
    assert "--allow-remote" in done.stderr and done.stderr.count("\n") == 1
    assert not (memchat.home / "memchat.db").exists() or stored_replies(memchat.home) == []


def test_streaming_and_stop_through_the_server(server, tmp_path: Path) -> None:
    """In process: the reply arrives in pieces, and setting stop ends it early."""
    from tests.conftest import make_fake_agent

    agent = make_fake_agent(tmp_path, model=ALIAS, base_url=server.url)
    from agent.models.backends import load_chat_model

    agent.models._generator = load_chat_model(agent.settings, print)  # type: ignore[attr-defined]
    pieces: list[str] = []
    agent.ask("Write a long story about a dragon.", on_token=pieces.append)
    assert len(pieces) > 3
    stop = threading.Event()
    stopped: list[str] = []

    def stop_after_two(piece: str) -> None:
        stopped.append(piece)
        if len(stopped) == 2:
            stop.set()

    result = agent.ask("Write a long story about a dragon.", on_token=stop_after_two, stop=stop)
    assert result.stopped and len(stopped) <= 3


def test_a_server_killed_mid_reply_keeps_the_turn(tmp_path: Path) -> None:
    from agent.models.backends import load_chat_model
    from tests.conftest import make_fake_agent

    own = LlamaServer(tmp_path / "server.log")
    try:
        agent = make_fake_agent(tmp_path, model=ALIAS, base_url=own.url, max_new_tokens=200)
        agent.models._generator = load_chat_model(agent.settings, print)  # type: ignore[attr-defined]

        def kill_on_first(_piece: str) -> None:
            own.kill()

        with pytest.raises(MemchatError) as failed:
            agent.ask("Write a long story about a dragon.", on_token=kill_on_first)
    finally:
        own.kill()
    message = str(failed.value)
    assert "\n" not in message and "your message is saved" in message
    assert "cut" in message


def test_the_locomo_evaluation_runs_with_a_chosen_model(memchat, server, tmp_path: Path) -> None:
    """`--model` before `eval` picks the model that answers the QA (here both new kinds)."""
    from tests.test_eval_locomo import sample

    data = tmp_path / "tiny.json"
    data.write_text(json.dumps([sample()]), encoding="utf-8")
    kinds = [(["--model", f"gguf:{GGUF}"], f"gguf:{GGUF}"),
             (["--model", ALIAS, "--base-url", server.url], ALIAS)]  # fmt: skip
    for n, (options, model) in enumerate(kinds):
        out = tmp_path / f"report-{n}"
        done = memchat(*options, "eval", "locomo", "--data", str(data), "--out", str(out), "--json")
        report = json.loads((out / "report.json").read_text())
        assert report["settings"]["model"] == model
        assert report["questions"] == 5 and json.loads(done.stdout)["f1"] is not None


@pytest.mark.parametrize("kind", ["server", "gguf"])
async def test_the_ui_streams_the_reply_and_names_the_model(
    server, tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chat UI with a served model and with a GGUF file run by llama.cpp: the reply
    arrives in pieces, the header names the model once it is loaded, and the stored reply
    carries its name."""
    from agent.models.backends import load_chat_model
    from tests.conftest import make_fake_agent
    from tests.test_tui_chat import send, settle
    from tui.app import MemchatApp
    from tui.widgets.messages import Reply

    if kind == "server":
        agent = make_fake_agent(tmp_path, model=ALIAS, base_url=server.url, max_new_tokens=40)
    else:
        agent = make_fake_agent(tmp_path, model=f"gguf:{GGUF}", max_new_tokens=40)
    chat = load_chat_model(agent.settings, print)
    name = chat.name
    agent.models._load_generator = lambda: chat  # type: ignore[attr-defined]
    pieces: list[str] = []
    add = Reply.add

    async def recording_add(self: Reply, piece: str) -> None:
        pieces.append(piece)
        await add(self, piece)

    monkeypatch.setattr(Reply, "add", recording_add)
    app = MemchatApp(agent, load_models=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: f"model: {name}" in app.sub_title, "the header names it")
        await send(pilot, "Tell me a story about a lighthouse.")
        reply = app.screen.query_one(Reply)
        await until(pilot, lambda: reply.result is not None, "the reply ends")
        await settle(pilot)
        assert reply.result is not None and reply.result.model == name
        assert len(pieces) > 1 and "".join(pieces) == reply.text  # streamed piece by piece
    assert stored_replies(tmp_path)[-1][2] == name
