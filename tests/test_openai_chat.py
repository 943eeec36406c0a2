"""The OpenAI-compatible chat backend against an in-process fake server (httpx.MockTransport):
fast checks of the protocol, the loopback rule and the errors. The real server is in
tests/test_llamacpp.py."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from agent.core import Agent, Models
from agent.errors import MemchatError, UsageError
from agent.models.backends import load_chat_model
from agent.models.openai_chat import OpenAIChat, checked_base_url, is_loopback, shown_url
from agent.settings import load_settings
from storage.db import make_engine, session_factory
from storage.models import Turn
from tests.fakes import FakeEncoder

BASE = "http://127.0.0.1:9/v1"


def chunk(text: str) -> str:
    return "data: " + json.dumps({"choices": [{"index": 0, "delta": {"content": text}}]})


def sse(*pieces: str) -> bytes:
    lines = ['data: {"choices": [{"index": 0, "delta": {"role": "assistant"}}]}']
    lines += [chunk(p) for p in pieces] + ["data: [DONE]"]
    return ("\n\n".join(lines) + "\n\n").encode()


def fake_server(
    pieces: list[str], seen: list[httpx.Request] | None = None
) -> Callable[[httpx.Request], httpx.Response]:
    def handle(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json={"data": [{"id": "small"}, {"id": "big"}]})
        return httpx.Response(200, content=sse(*pieces))

    return handle


def chat_with(handler: Callable[[httpx.Request], httpx.Response], **settings: object) -> OpenAIChat:
    chat = OpenAIChat("small", BASE, load_settings(environ={}, **settings))
    chat.client = httpx.Client(transport=httpx.MockTransport(handler))
    return chat


def test_a_reply_streams_piece_by_piece() -> None:
    seen: list[httpx.Request] = []
    chat = chat_with(fake_server(["Hello", " there", "."], seen))
    chat.check()
    pieces = list(chat.stream([{"role": "user", "content": "hi"}], 20))
    assert pieces == ["Hello", " there", "."]
    body = json.loads(seen[-1].content)
    assert (body["model"], body["max_tokens"], body["stream"]) == ("small", 20, True)


def test_stop_ends_the_stream() -> None:
    stop = threading.Event()
    chat = chat_with(fake_server(["one", " two", " three"]))
    got = []
    for piece in chat.stream([{"role": "user", "content": "hi"}], 20, stop):
        got.append(piece)
        stop.set()
    assert got == ["one"]


def test_an_unknown_model_lists_what_the_server_offers() -> None:
    chat = chat_with(fake_server([]))
    chat.name = "nope"
    with pytest.raises(MemchatError, match=r"has no model 'nope' \(it offers: small, big\)"):
        chat.check()


def test_an_unreachable_server_is_one_line_naming_it() -> None:
    chat = OpenAIChat("small", "http://127.0.0.1:9/v1", load_settings(environ={}))
    with pytest.raises(
        MemchatError, match=r"cannot reach the model server at http://127.0.0.1:9/v1"
    ):
        chat.check()


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://127.0.0.1:8080/v1", True),
        ("http://localhost:11434/v1", True),
        ("http://[::1]:8000/v1", True),
        ("http://127.9.9.9/v1", True),
        ("http://192.168.1.5:8000/v1", False),
        ("https://api.example.com/v1", False),
        ("http://localhost.example.com/v1", False),
    ],
)
def test_only_loopback_without_allow_remote(url: str, local: bool) -> None:
    assert is_loopback(url) is local
    if local:
        assert checked_base_url(url + "/", False) == url
    else:
        with pytest.raises(UsageError, match="--allow-remote"):
            checked_base_url(url, False)
        assert checked_base_url(url, True) == url


def test_credentials_in_a_url_are_never_shown() -> None:
    assert shown_url("http://user:s3cret@127.0.0.1:8000/v1?key=s3cret") == (
        "http://127.0.0.1:8000/v1"
    )
    with pytest.raises(UsageError) as refused:
        checked_base_url("http://user:s3cret@10.0.0.1/v1", False)
    assert "s3cret" not in str(refused.value)


def test_the_api_key_comes_from_the_named_variable_only(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[httpx.Request] = []
    monkeypatch.setenv("MY_SERVER_KEY", "key-123")
    chat = chat_with(fake_server(["ok"], seen), api_key_env="MY_SERVER_KEY")
    list(chat.stream([{"role": "user", "content": "hi"}], 5))
    assert seen[-1].headers["authorization"] == "Bearer key-123"
    assert "authorization" not in chat_with(fake_server(["ok"], seen)).client.headers


def test_a_model_without_a_base_url_and_the_reverse_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="needs --base-url"):
        load_chat_model(load_settings(environ={}, model="llama3.1"), print)
    with pytest.raises(UsageError, match="needs --model"):
        load_chat_model(load_settings(environ={}, base_url=BASE), print)
    with pytest.raises(UsageError, match="--allow-remote"):
        load_chat_model(load_settings(environ={}, model="m", base_url="http://10.1.1.1/v1"), print)


def dying_server(pieces: list[str]) -> Callable[[httpx.Request], httpx.Response]:
    """Streams `pieces`, then the connection drops (a server killed mid-reply)."""

    def body() -> Iterator[bytes]:
        for piece in pieces:
            yield (chunk(piece) + "\n\n").encode()
        raise httpx.RemoteProtocolError("peer closed connection without sending complete body")

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json={"data": [{"id": "small"}]})
        return httpx.Response(200, content=body())

    return handle


def test_a_server_that_dies_mid_reply_keeps_the_turn_and_the_partial_reply(
    tmp_path: Path,
) -> None:
    config = load_settings(environ={"MEMCHAT_HOME": str(tmp_path)})
    chat = chat_with(dying_server(["Once upon", " a time"]))
    agent = Agent(
        config, session_factory(make_engine(config.db_url)), Models(FakeEncoder, lambda: chat)
    )
    with pytest.raises(MemchatError) as failed:
        agent.ask("Tell me a story about a cat.")
    message = str(failed.value)
    assert "\n" not in message and "your message is saved" in message and "cut" in message
    with agent.sessions() as s:
        turns = [(t.role, t.text, t.status, t.model) for t in s.scalars(select(Turn))]
    assert turns == [
        ("user", "Tell me a story about a cat.", "complete", ""),
        ("assistant", "Once upon a time", "cut", "small"),
    ]


def test_a_server_that_does_not_answer_in_time_is_one_line() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    chat = chat_with(slow)
    with pytest.raises(MemchatError, match=r"^the model server at http://127.0.0.1:9/v1 did not"):
        list(chat.stream([{"role": "user", "content": "hi"}], 5))
