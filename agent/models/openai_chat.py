"""A chat model served over the OpenAI chat-completions protocol (Ollama, llama.cpp's
llama-server or llama-cpp-python's server, vLLM, LM Studio), streamed over server-sent events.

Memories leave the process in every prompt, so only loopback addresses are used unless the
user allows others. The API key is read from the environment variable the settings name, at
each request, and appears nowhere else: not in errors (URLs are shown without credentials),
not in the database, not in any file.
"""

from __future__ import annotations

import ipaddress
import json
import math
import os
import threading
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from agent.errors import MemchatError, UsageError
from agent.settings import Settings

DEFAULT_CONTEXT = 4096
# Tokens a server's tokenizer makes of UTF-8 text are at least one per ~3 bytes in the models
# people run (English ~4); counting one per 3 bytes keeps the prompt inside the context.
BYTES_PER_TOKEN = 3


def shown_url(url: str) -> str:
    """`url` without user name and password, as errors may show it."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def is_loopback(url: str) -> bool:
    """Whether `url` names this machine: localhost or a loopback IP address."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name: it could resolve anywhere
        return False


def checked_base_url(url: str, allow_remote: bool) -> str:
    """The base URL without a trailing slash, or a UsageError for one memchat must not use."""
    base = url.strip().rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--base-url {shown_url(base)!r} is not an http(s) URL")
    if not allow_remote and not is_loopback(base):
        raise UsageError(
            f"{shown_url(base)} is not on this machine, and every prompt carries memories: "
            "pass --allow-remote (or allow_remote = true in config.toml) to use it"
        )
    return base


def sse_data(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """The JSON objects of a server-sent event stream's `data:` lines, until `[DONE]`."""
    for line in lines:
        if not line.startswith("data:"):
            continue  # comments, event names, keep-alive blank lines
        data = line[5:].strip()
        if data == "[DONE]":
            return
        try:
            yield json.loads(data)
        except json.JSONDecodeError as exc:
            raise MemchatError(f"the model server sent something that is not JSON: {exc}") from exc


class OpenAIChat:
    """Model `name` on the server at `base_url` (its `/v1` root)."""

    def __init__(self, name: str, base_url: str, settings: Settings) -> None:
        self.name = name
        self.base_url = base_url
        self.key_env = settings.api_key_env.strip()
        timeout = httpx.Timeout(settings.request_timeout_s)
        self.client = httpx.Client(timeout=timeout, trust_env=False)  # no proxy from the env
        self.context_given = settings.context_tokens > 0  # the user's limit wins
        self.context_tokens = settings.context_tokens or DEFAULT_CONTEXT

    def _headers(self) -> dict[str, str]:
        key = os.environ.get(self.key_env, "") if self.key_env else ""
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _failed(self, exc: Exception) -> MemchatError:
        """A one-line error for a request that failed (the URL shown without credentials)."""
        where = shown_url(self.base_url)
        if isinstance(exc, httpx.ConnectError):
            return MemchatError(f"cannot reach the model server at {where} ({exc})")
        if isinstance(exc, httpx.TimeoutException):
            return MemchatError(f"the model server at {where} did not answer in time")
        return MemchatError(f"the model server at {where} failed: {type(exc).__name__}: {exc}")

    def _models(self) -> list[dict[str, Any]]:
        """The server's `/models` entries."""
        try:
            response = self.client.get(f"{self.base_url}/models", headers=self._headers())
            response.raise_for_status()
            served = response.json().get("data", [])
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            raise self._failed(exc) from exc
        return [m for m in served if isinstance(m, dict)] if isinstance(served, list) else []

    def served(self) -> list[str]:
        """The names of the models the server offers."""
        return [str(m.get("id")) for m in self._models()]

    def check(self) -> None:
        """Ask the server which models it serves: unreachable, or without `name`, is one line.
        A context length it reports (vLLM's `max_model_len`) bounds the prompt."""
        served = self._models()
        names = [str(m.get("id")) for m in served]
        mine = next((m for m in served if m.get("id") == self.name), None)
        if mine is None:
            offered = ", ".join(names) or "nothing"
            raise MemchatError(
                f"the model server at {shown_url(self.base_url)} has no model {self.name!r} "
                f"(it offers: {offered})"
            )
        reported = mine.get("max_model_len") or mine.get("context_length")
        if isinstance(reported, int) and reported > 0 and not self.context_given:
            self.context_tokens = reported

    def count_tokens(self, text: str) -> int:
        """An upper estimate: the server's tokenizer is not here (see BYTES_PER_TOKEN)."""
        return math.ceil(len(text.encode("utf-8", "replace")) / BYTES_PER_TOKEN)

    def stream(
        self,
        messages: list[dict[str, str]],
        max_new_tokens: int,
        stop: threading.Event | None = None,
        avoid: Sequence[str] = (),
    ) -> Iterator[str]:
        """Yield the reply piece by piece (temperature 0). Setting `stop`, or abandoning the
        iterator, closes the connection: the server stops generating. `avoid` is not applied
        (the protocol has no portable way to ban words)."""
        body = {
            "model": self.name,
            "messages": messages,
            "max_tokens": max_new_tokens,
            "temperature": 0,
            "stream": True,
        }
        url = f"{self.base_url}/chat/completions"
        try:
            with self.client.stream("POST", url, json=body, headers=self._headers()) as response:
                if response.status_code != 200:
                    response.read()
                    raise MemchatError(
                        f"the model server at {shown_url(self.base_url)} answered "
                        f"{response.status_code}: {response.text[:200]}"
                    )
                for event in sse_data(response.iter_lines()):
                    if stop is not None and stop.is_set():
                        return  # leaving the `with` closes the connection
                    piece = _delta(event)
                    if piece:
                        yield piece
        except httpx.HTTPError as exc:
            raise self._failed(exc) from exc


def _delta(event: dict[str, Any]) -> str:
    """The text a chat-completion chunk adds ("" for role-only or final chunks)."""
    choices = event.get("choices") or [{}]
    delta = choices[0].get("delta") or {}
    content = delta.get("content")
    return content if isinstance(content, str) else ""
