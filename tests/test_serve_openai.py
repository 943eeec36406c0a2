"""`memchat serve openai`: the OpenAI-compatible API, in process on fake models (the app over
httpx's ASGI transport, or driven by hand where a client must go away mid-reply), and once end
to end with the real models, the `openai` client and the command line."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.core import Agent
from agent.errors import MemchatError, UsageError
from agent.models_loading import Models
from serve.openai_api import check_host, run_openai
from serve.openai_app import MAX_BODY_BYTES, build_app
from serve.openai_wire import client_label
from storage import repo
from tests.conftest import make_fake_agent
from tests.fakes import FakeEncoder, FakeGenerator, said

ROOT = Path(__file__).resolve().parents[1]
DEADLINE_S = 60.0  # for what another thread does: far beyond the milliseconds it takes
TOKEN_ENV = "MEMCHAT_SERVE_TOKEN_TEST"
COMPLETIONS = "/v1/chat/completions"


# ---------------------------------------------------------------- helpers


@asynccontextmanager
async def api(agent: Agent, token: str = "", **headers: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app over `agent`, in process."""
    transport = httpx.ASGITransport(app=build_app(agent, token))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://127.0.0.1", headers=headers
    ) as client:
        yield client


def chat(text: Any, **fields: Any) -> dict[str, Any]:
    return {"model": "memchat", "messages": [{"role": "user", "content": text}], **fields}


def events(response: httpx.Response) -> list[Any]:
    """The server-sent events' data: each decoded from JSON, but "[DONE]"."""
    found = [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]
    return [d if d == "[DONE]" else json.loads(d) for d in found]


def turns(agent: Agent) -> list[tuple[str, str, str]]:
    """(role, text, status) of the profile's conversation turns, oldest first."""
    with agent.sessions() as s:
        return [(t.role, t.text, t.status) for t in repo.recent_turns(s, agent.profile_id(), 99)]


def said_turns(agent: Agent) -> list[str]:
    return sorted(said(m.value_text) for m in agent.list_memories("turn"))


def assert_error(response: httpx.Response, status: int, *words: str) -> dict[str, Any]:
    """The response is OpenAI's error shape with `status`; its error object."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str) and "\n" not in error["message"]
    for word in words:
        assert word in error["message"]
    return error


class WaitingGenerator(FakeGenerator):
    """Says its first word, then waits until the reply is stopped: a reply that is still
    going when the client goes away, whatever the timing."""

    def __init__(self) -> None:
        super().__init__("Once upon a time")
        self.started = threading.Event()

    def stream(
        self,
        messages: list[dict[str, str]],
        max_new_tokens: int,
        stop: threading.Event | None = None,
        avoid: Sequence[str] = (),
    ) -> Iterator[str]:
        self.started.set()
        yield "Once"
        assert stop is not None and stop.wait(DEADLINE_S), "the reply was never stopped"


def agent_with(agent: Agent, generator: FakeGenerator) -> Agent:
    """`agent`'s profile and database, answering with `generator`."""
    return Agent(agent.settings, agent.sessions, Models(FakeEncoder, lambda: generator))


# ---------------------------------------------------------------- models and replies


async def test_models_lists_memchat_with_the_chat_model(agent: Agent) -> None:
    async with api(agent) as client:
        listed = (await client.get("/v1/models")).json()
        one = (await client.get("/v1/models/memchat")).json()
        missing = await client.get("/v1/models/gpt-4")
    assert listed["object"] == "list"
    assert [(m["id"], m["object"], m["owned_by"]) for m in listed["data"]] == [
        ("memchat", "model", "memchat")
    ]
    assert listed["data"][0]["memchat"]["profile"] == "default"
    assert one["id"] == "memchat"
    assert_error(missing, 404, "gpt-4")


async def test_a_request_is_one_turn_with_what_it_read_and_wrote(agent: Agent) -> None:
    async with api(agent, **{"User-Agent": "OpenAI/Python 1.54.0"}) as client:
        first = (await client.post(COMPLETIONS, json=chat("I am vegetarian."))).json()
        asked = chat([{"type": "text", "text": "What do I eat?"}, {"type": "image_url"}])
        second = (await client.post(COMPLETIONS, json=asked)).json()
    assert first["object"] == "chat.completion" and first["model"] == "fake-words"
    choice = first["choices"][0]
    assert choice["message"]["role"] == "assistant" and choice["finish_reason"] == "stop"
    assert set(first["usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens"}
    ext = first["memchat"]
    assert first["id"] == f"chatcmpl-{ext['reply_turn_id']}"
    assert ext["profile"] == "default" and ext["turn_id"] < ext["reply_turn_id"]
    diet = [w for w in ext["written"] if w["kind"] == "preference"]
    assert [(w["key"], w["value"]) for w in diet] == [("diet", "vegetarian")]
    # the second turn read the first one's preference, with its weight
    read = {(r["kind"], r["key"], r["value"]): r for r in second["memchat"]["read"]}
    assert {"id", "weight"} <= set(read[("preference", "diet", "vegetarian")])
    stored = turns(agent)
    assert [(role, text) for role, text, _ in stored] == [
        ("user", "I am vegetarian."),
        ("assistant", choice["message"]["content"]),
        ("user", "What do I eat?"),
        ("assistant", second["choices"][0]["message"]["content"]),
    ]
    assert said_turns(agent) == ["I am vegetarian.", "What do I eat?"]
    assert [c.session.label for c in agent.conversations()] == ["openai: OpenAI"]


async def test_a_streamed_reply_is_the_stored_reply(agent: Agent) -> None:
    agent.models = Models(FakeEncoder, lambda: FakeGenerator("Here is a long story for you."))
    body = chat("Tell me a story about boats.", stream=True, stream_options={"include_usage": True})
    async with api(agent) as client:
        response = await client.post(COMPLETIONS, json=body)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    got = events(response)
    assert got[-1] == "[DONE]"
    chunks = got[:-1]
    assert len({c["id"] for c in chunks}) == 1
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    pieces = [c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"]]
    assert len([p for p in pieces if p]) > 1  # piece by piece, as the model says them
    end = [c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert [e["choices"][0]["finish_reason"] for e in end] == ["stop"]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] > 0
    reply = "".join(pieces)
    assert reply == "Here is a long story for you."
    assert turns(agent)[-1] == ("assistant", reply, "complete")
    assert end[0]["memchat"]["reply_turn_id"] > end[0]["memchat"]["turn_id"]
    assert said_turns(agent) == ["Tell me a story about boats."]
    assert agent.conversations()[0].session.label.startswith("openai: ")


def test_the_client_label_is_the_user_agents_first_word() -> None:
    assert client_label("OpenAI/Python 1.54.0") == "openai: OpenAI"
    assert client_label("python-httpx/0.28.1") == "openai: python-httpx"
    assert client_label("Open\x1b[31mWebUI extra") == "openai: OpenWebUI"
    assert client_label("") == client_label(None) == "openai: client"
    assert len(client_label("x" * 500)) == len("openai: ") + 60


# ---------------------------------------------------------------- profiles


async def test_the_profile_comes_from_user_then_the_header(tmp_path: Path) -> None:
    agent = make_fake_agent(tmp_path)
    for name in ("sam", "zoë"):
        agent.create_profile(name)
    async with api(agent) as client:
        client.headers["X-Memchat-Profile"] = "zoë"  # sent as UTF-8
        by_user = await client.post(COMPLETIONS, json=chat("I like jazz.", user="sam"))
        by_header = await client.post(COMPLETIONS, json=chat("I like tea."))
        blank_user = await client.post(COMPLETIONS, json=chat("I like rain.", user=" "))
    assert by_user.json()["memchat"]["profile"] == "sam"
    assert by_header.json()["memchat"]["profile"] == "zoë"
    assert blank_user.json()["memchat"]["profile"] == "zoë"  # a blank `user` names none
    for name, turns_said in {
        "sam": ["I like jazz."],
        "zoë": ["I like rain.", "I like tea."],
    }.items():
        assert said_turns(make_fake_agent(tmp_path, name)) == turns_said
    assert said_turns(agent) == []  # the default profile


@pytest.mark.usefixtures("each_engine")
async def test_profiles_stay_isolated(tmp_path: Path) -> None:
    agent = make_fake_agent(tmp_path)
    agent.create_profile("alice")
    agent.create_profile("bob")
    async with api(agent) as client:
        stated = await client.post(COMPLETIONS, json=chat("I am vegetarian.", user="alice"))
        alice_ids = {w["id"] for w in stated.json()["memchat"]["written"]}
        asked = await client.post(COMPLETIONS, json=chat("Am I vegetarian?", user="bob"))
        streamed = await client.post(
            COMPLETIONS,
            json=chat("What do I eat? vegetarian?", stream=True),
            headers={"X-Memchat-Profile": "bob"},
        )
        unknown = await client.post(COMPLETIONS, json=chat("Hello there.", user="carol"))
        unknown_stream = await client.post(
            COMPLETIONS, json=chat("Hello there.", user="carol", stream=True)
        )
    assert asked.status_code == streamed.status_code == 200
    ends = [asked.json()["memchat"], events(streamed)[-2]["memchat"]]
    for ext in ends:
        assert ext["profile"] == "bob"
        assert not alice_ids & {r["id"] for r in ext["read"]}
        assert all("vegetarian" not in r["value"] or r["kind"] == "turn" for r in ext["read"])
        assert all(r["key"] != "diet" for r in ext["read"])
    bob = make_fake_agent(tmp_path, "bob")
    assert all(m.key_text != "diet" for m in bob.list_memories())
    assert [m.key_text for m in make_fake_agent(tmp_path, "alice").list_memories("preference")]
    assert_error(unknown, 404, "unknown profile 'carol'", "memchat profiles create carol")
    assert_error(unknown_stream, 404, "unknown profile 'carol'")
    assert "carol" not in {p.profile.name for p in agent.profiles()}


@pytest.mark.parametrize(
    "name", ["\x1b[31mbob", "bob\x1b]0;title\x07", "bo\x00b", "\x9b2J", "x" * 201, "\ud800"]
)
async def test_a_profile_name_with_escapes_is_refused(tmp_path: Path, name: str) -> None:
    agent = make_fake_agent(tmp_path)
    agent.create_profile("bob")
    async with api(agent) as client:
        body = json.dumps(chat("I like jazz.", user=name))  # "\ud800" escaped, as JSON may
        response = await client.post(COMPLETIONS, content=body)
    assert_error(response, 400)
    assert said_turns(make_fake_agent(tmp_path, "bob")) == []
    assert said_turns(agent) == []


async def test_a_header_profile_that_is_not_utf8_is_refused(agent: Agent) -> None:
    async with api(agent) as client:
        response = await client.post(
            COMPLETIONS, json=chat("Hello."), headers={"X-Memchat-Profile": b"\xff\xfe"}
        )
    assert_error(response, 400, "UTF-8")


# ---------------------------------------------------------------- hostile input


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"{not json", ["not valid JSON"]),
        (b'{"messages": [{"role": "user", "content": "caf\xe9"}]}', ["not valid UTF-8"]),
        (b"[" * 100_000 + b"]" * 100_000, ["not valid JSON"]),
        (b'"just a string"', ["JSON object"]),
        (json.dumps({"model": "memchat"}).encode(), ["messages"]),
        (json.dumps({"messages": "hello"}).encode(), ["messages"]),
        (json.dumps({"messages": []}).encode(), ["messages"]),
        (json.dumps({"messages": ["hello"]}).encode(), ["messages[0]"]),
        (json.dumps(chat(42)).encode(), ["messages[0].content"]),
        (json.dumps(chat([{"type": "text", "text": 42}])).encode(), ["text"]),
        (json.dumps(chat(["hello"])).encode(), ["messages[0].content[0]"]),
        (json.dumps(chat([{"type": "image_url", "image_url": {}}])).encode(), ["no text"]),
        (json.dumps(chat("   ")).encode(), ["no text"]),
        (json.dumps(chat(None)).encode(), ["no text"]),
        (json.dumps({"messages": [{"role": "system", "content": "Hi"}]}).encode(), ["user"]),
        (json.dumps(chat("Hello.", stream="yes")).encode(), ["stream"]),
        (json.dumps(chat("Hello.", user=7)).encode(), ["user"]),
        (json.dumps(chat("Hello.", stream_options=[1])).encode(), ["stream_options"]),
        (json.dumps(chat("\x1b[31m\x00")).encode(), ["empty"]),
        (json.dumps(chat("\ud800 lone")).encode(), ["UTF-8"]),
    ],
)
async def test_bad_requests_are_400_in_openais_shape(
    agent: Agent, body: bytes, words: list[str]
) -> None:
    async with api(agent) as client:
        response = await client.post(
            COMPLETIONS, content=body, headers={"Content-Type": "application/json"}
        )
    error = assert_error(response, 400, *words)
    assert error["type"] == "invalid_request_error"
    assert turns(agent) == []


@pytest.mark.parametrize("stream", [False, True])
async def test_a_1mb_message_is_refused_and_nothing_stored(agent: Agent, stream: bool) -> None:
    async with api(agent) as client:
        response = await client.post(COMPLETIONS, json=chat("a" * 1_000_000, stream=stream))
    assert_error(response, 400, "1,000,000 characters", "200,000")
    assert turns(agent) == [] and agent.list_memories() == []


async def test_a_body_over_the_cap_is_413(agent: Agent) -> None:
    async with api(agent) as client:
        response = await client.post(COMPLETIONS, json=chat("a" * (MAX_BODY_BYTES + 1)))
    assert_error(response, 413)
    assert turns(agent) == []


async def test_markup_is_kept_and_escape_sequences_are_cleaned(agent: Agent) -> None:
    """The message is stored as every message is (agent.text.clean_message: markup kept as
    typed, terminal escape sequences removed); the reply comes back as the model said it."""
    reply = "[bold]Yes[/bold] \x1b[31mred"
    agent.models = Models(FakeEncoder, lambda: FakeGenerator(reply))
    async with api(agent) as client:
        plain = await client.post(COMPLETIONS, json=chat("Tell me: [bold]x[/bold] \x1b[31mred"))
        streamed = await client.post(COMPLETIONS, json=chat("Tell [i]me[/i] more.", stream=True))
    assert plain.json()["choices"][0]["message"]["content"] == reply
    pieces = [c["choices"][0]["delta"].get("content", "") for c in events(streamed)[:-1]]
    assert "".join(pieces) == reply
    assert said_turns(agent) == ["Tell [i]me[/i] more.", "Tell me: [bold]x[/bold] red"]
    assert [t[1] for t in turns(agent) if t[0] == "assistant"] == [reply, reply]


async def test_unknown_routes_and_methods(agent: Agent) -> None:
    async with api(agent) as client:
        unknown = await client.get("/v1/embeddings")
        wrong = await client.get(COMPLETIONS)
    assert_error(unknown, 404, "/v1/embeddings")
    error = assert_error(wrong, 405, "GET")
    assert error["code"] == "method_not_allowed"
    assert "POST" in wrong.headers["allow"]


async def test_a_failing_model_is_a_500_with_one_line(agent: Agent) -> None:
    class Failing(FakeGenerator):
        def stream(self, *args: Any, **kwargs: Any) -> Iterator[str]:
            raise MemchatError("the model server went away")
            yield ""

    agent.models = Models(FakeEncoder, lambda: Failing())
    async with api(agent) as client:
        plain = await client.post(COMPLETIONS, json=chat("Tell me a story about boats."))
        streamed = await client.post(COMPLETIONS, json=chat("Tell me a story.", stream=True))
    assert_error(plain, 500, "the model server went away")
    got = events(streamed)
    assert got[-1]["error"]["message"] == "the model server went away"
    assert "[DONE]" not in got


# ---------------------------------------------------------------- bearer token


async def test_a_token_is_required_when_set(agent: Agent) -> None:
    async with api(agent, token="s3cret") as client:
        missing = await client.get("/v1/models")
        wrong = await client.get("/v1/models", headers={"Authorization": "Bearer s3cre"})
        other = await client.post(
            COMPLETIONS, json=chat("Hi."), headers={"Authorization": "s3cret"}
        )
        unknown = await client.get("/nowhere")
        right = {"Authorization": "Bearer s3cret"}
        models = await client.get("/v1/models", headers=right)
        replied = await client.post(COMPLETIONS, json=chat("Hello there."), headers=right)
    for refused in (missing, wrong, other, unknown):
        assert_error(refused, 401, "bearer token")
        assert refused.headers["www-authenticate"] == "Bearer"
    assert models.status_code == replied.status_code == 200
    assert said_turns(agent) == ["Hello there."]


# ---------------------------------------------------------------- a client that goes away


def asgi_scope(body: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": COMPLETIONS,
        "raw_path": COMPLETIONS.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def drive(app: Any, body: bytes, gone: asyncio.Event, sent: list[dict[str, Any]]) -> None:
    """Call the app as a server does: the body, then the client's leaving once `gone` is set;
    what the app sends goes to `sent`."""
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await asyncio.wait_for(app(asgi_scope(body), receive, send), DEADLINE_S)


async def test_a_client_gone_mid_stream_stops_the_reply(agent: Agent) -> None:
    generator = WaitingGenerator()
    app = build_app(agent_with(agent, generator))
    gone, sent = asyncio.Event(), []
    body = json.dumps(chat("Tell me a story about boats.", stream=True)).encode()
    task = asyncio.ensure_future(drive(app, body, gone, sent))
    deadline = time.monotonic() + DEADLINE_S
    while not any(b'"Once"' in m.get("body", b"") for m in sent):
        assert time.monotonic() < deadline and not task.done(), "the first word never came"
        await asyncio.sleep(0.01)
    gone.set()
    await task
    # the turn's thread holds the lock until its reply is stored
    turn_lock = app.state.turns.lock
    assert await asyncio.to_thread(turn_lock.acquire, True, DEADLINE_S)
    turn_lock.release()
    assert turns(agent)[-1] == ("assistant", "Once", "stopped")
    assert not any(b"[DONE]" in m.get("body", b"") for m in sent)
    assert app.state.turns.running == set()


async def test_a_client_gone_before_a_plain_reply_stops_it(agent: Agent) -> None:
    generator = WaitingGenerator()
    app = build_app(agent_with(agent, generator))
    gone, sent = asyncio.Event(), []
    body = json.dumps(chat("Tell me a story about boats.")).encode()
    task = asyncio.ensure_future(drive(app, body, gone, sent))
    assert await asyncio.to_thread(generator.started.wait, DEADLINE_S)
    gone.set()
    await task  # the reply, stopped, is answered to nobody
    reply = json.loads(b"".join(m.get("body", b"") for m in sent))
    assert reply["memchat"]["stopped"] is True
    assert turns(agent)[-1] == ("assistant", "Once", "stopped")


async def test_turns_take_their_turn(agent: Agent) -> None:
    async with api(agent) as client:
        replies = await asyncio.gather(
            *(client.post(COMPLETIONS, json=chat(f"I like song {i}.")) for i in range(4))
        )
    assert [r.status_code for r in replies] == [200] * 4
    roles = [t[0] for t in turns(agent)]
    assert roles == ["user", "assistant"] * 4  # never two turns at once


# ---------------------------------------------------------------- run_openai


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.2", "::", "example.com"])
def test_a_host_others_can_reach_is_refused(agent: Agent, host: str) -> None:
    with pytest.raises(UsageError, match="--allow-remote"):
        run_openai(agent, host, 0, False, TOKEN_ENV)
    assert not agent.models.loaded


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "127.5.6.7", "::1", "[::1]"])
def test_loopback_hosts_are_allowed(host: str) -> None:
    check_host(host, False)


def test_a_port_in_use_is_one_line(agent: Agent) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(
            UsageError, match=f"^port {port} is in use; choose another with --port$"
        ):
            run_openai(agent, "127.0.0.1", port, False, TOKEN_ENV)
    assert not agent.models.loaded  # refused before the models load


def test_listening_for_others_without_a_token_warns(
    agent: Agent, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        with pytest.raises(UsageError, match="in use"):
            run_openai(agent, "0.0.0.0", taken.getsockname()[1], True, TOKEN_ENV)
    warning = capsys.readouterr().err
    assert warning.count("\n") == 1 and TOKEN_ENV in warning


# ---------------------------------------------------------------- end to end


SERVING = re.compile(r"^memchat: serving profile 'default' at http://127\.0\.0\.1:(\d+)/v1 ")


def serving_port(server: subprocess.Popen[str], deadline_s: float) -> int:
    """The port from the server's "serving" line, read line by line until it comes."""
    assert server.stderr is not None
    deadline = time.monotonic() + deadline_s
    seen = []
    while time.monotonic() < deadline:
        line = server.stderr.readline()  # whole lines, however the child's writes split them
        if not line and server.poll() is not None:
            break
        seen.append(line)
        if found := SERVING.match(line):
            return int(found.group(1))
    raise AssertionError(f"no serving line within {deadline_s:.0f} s: {''.join(seen)[-2000:]}")


@pytest.mark.integration
def test_a_chat_front_end_talks_to_memchat(tmp_path: Path, model_cache: Path) -> None:
    import openai

    db = tmp_path / "memchat.db"
    env = {
        **os.environ,
        "MEMCHAT_HOME": str(tmp_path / "home"),
        "MEMCHAT_CACHE": str(model_cache),
        "MEMCHAT_MAX_NEW_TOKENS": "24",
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("MEMCHAT_DB", "MEMCHAT_PROFILE", "MEMCHAT_SERVE_TOKEN"):
        env.pop(name, None)
    command = [sys.executable, "-m", "tui.cli", "--db", str(db), "serve", "openai", "--port", "0"]
    server = subprocess.Popen(
        command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        port = serving_port(server, 300.0)
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x", timeout=300)
        assert [m.id for m in client.models.list().data] == ["memchat"]
        first = client.chat.completions.create(
            model="memchat",
            messages=[{"role": "user", "content": "My name is Sam and I am vegetarian."}],
        )
        assert first.choices[0].message.content.strip()
        stream = client.chat.completions.create(
            model="memchat",
            messages=[{"role": "user", "content": "What should I cook for dinner tonight?"}],
            stream=True,
        )
        pieces = [c.choices[0].delta.content or "" for c in stream if c.choices]
        assert "".join(pieces).strip()
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=30) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=30)
        assert server.stderr is not None
        server.stderr.close()
    listed = subprocess.run(
        [sys.executable, "-m", "tui.cli", "--db", str(db), "memories", "list", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert listed.returncode == 0, listed.stderr
    memories = json.loads(listed.stdout)
    user_turns = {said(m["value"]) for m in memories if m["kind"] == "turn"}
    asked = {"My name is Sam and I am vegetarian.", "What should I cook for dinner tonight?"}
    assert asked <= user_turns
    stated = {(m["key"], m["value"]) for m in memories if m["kind"] != "turn"}
    assert {("name", "Sam"), ("diet", "vegetarian")} & stated
    assert "".join(pieces).strip() == replies_in(db)[-1]


def replies_in(db: Path) -> list[str]:
    """The assistant turns' texts in an SQLite database, oldest first."""
    import sqlite3

    with closing(sqlite3.connect(db)) as connection:
        rows = connection.execute("SELECT text FROM turns WHERE role = 'assistant' ORDER BY id")
        return [text for (text,) in rows]
