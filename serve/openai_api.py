"""`memchat serve openai`: an OpenAI-compatible chat API over the memory, so any chat front
end (Open WebUI, an editor, the `openai` client) talks to memchat as to a model.

- `GET /v1/models` lists one model, "memchat"; `POST /v1/chat/completions` answers, streamed
  (server-sent events) or not. The model a request names is not used: memchat answers with
  its own chat model, whose name each reply's `model` gives.
- Each request is one turn, answered as `memchat ask` answers: the text of the request's LAST
  message with role "user" (its "text" parts, when it is a list) is read against the memory,
  answered, and stored with what it states. Earlier messages, system messages and sampling
  options (temperature, max_tokens, tools, n, ...) are not used: memchat keeps its own
  history and settings.
- The profile is the request's `user` field, else its `X-Memchat-Profile` header, else the
  served profile. An unknown profile is refused (404): a client cannot create one. Each
  profile (and each client, by User-Agent) has its own agent and chat session, labelled
  "openai: <client>" where the inspector shows who read a memory.
- Replies carry a "memchat" extension field: the turn's ids, the memories read (with their
  weights) and written, as `memchat ask --json` gives them (in a stream: the last chunk).
- When MEMCHAT_SERVE_TOKEN (`token_env`) is set, every request needs
  `Authorization: Bearer <token>`. Only loopback addresses unless `allow_remote`.

Turns run one at a time, off the event loop: the agent is not thread-safe, and a CPU model
generates one reply at a time. A client that goes away stops its reply (stored "stopped")."""

from __future__ import annotations

import errno
import ipaddress
import os
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING

import uvicorn

from agent.errors import UsageError
from serve.openai_app import Turns, build_app

if TYPE_CHECKING:
    from agent.core import Agent

SHUTDOWN_S = 10  # at most, for replies in flight to end once stopped


def check_host(host: str, allow_remote: bool) -> None:
    """Refuse an address other machines can reach, unless allowed: the memory is private."""
    if allow_remote or host.lower() == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise UsageError(
            f"--host {host} is not a loopback address (localhost, 127.0.0.0/8, ::1): other "
            "machines could read the memory; pass --allow-remote (and set a token) to allow it"
        )


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: any free port), before the models load, so a
    port in use fails at once; a request that comes early waits for them."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}: {exc.strerror or exc}") from exc
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(f"port {port} is in use; choose another with --port") from exc
        raise UsageError(f"cannot listen on {host} port {port}: {exc.strerror or exc}") from exc
    return sock


class Server(uvicorn.Server):
    """uvicorn's server that, when asked to exit (Ctrl-C, SIGTERM), first stops the replies
    in flight, so their connections end and it exits at once."""

    def __init__(self, config: uvicorn.Config, turns: Turns) -> None:
        super().__init__(config)
        self.turns = turns

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.turns.stop_all()
        super().handle_exit(sig, frame)


def run_openai(agent: Agent, host: str, port: int, allow_remote: bool, token_env: str) -> int:
    """Serve until Ctrl-C or SIGTERM (then 0). The port is taken and the models, the profile
    and its memories loaded before the one line saying where it serves."""
    check_host(host, allow_remote)
    token = os.environ.get(token_env, "")
    if allow_remote and not token:
        say(
            f"warning: anyone who can reach {host} can read and write this memory (set {token_env})"
        )
    sock = bind(host, port)
    try:
        agent.store.cache(agent.profile_id(create=True))
        agent.models.encoder, agent.models.generator  # noqa: B018
        app = build_app(agent, token)
        server = Server(
            uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=SHUTDOWN_S),
            app.state.turns,
        )
        where = f"[{host.strip('[]')}]" if ":" in host else host
        url = f"http://{where}:{sock.getsockname()[1]}/v1"
        say(f"serving profile {agent.profile_name!r} at {url} (OpenAI-compatible; Ctrl-C stops)")
        with exit_on_signals(server):
            server.run(sockets=[sock])
    finally:
        sock.close()
    return 0


def say(line: str) -> None:
    """One line on stderr, flushed at once: a script waiting for it reads whole lines."""
    print(f"memchat: {line}", file=sys.stderr, flush=True)


@contextmanager
def exit_on_signals(server: Server) -> Iterator[None]:
    """While serving, SIGINT and SIGTERM ask the server to exit. uvicorn raises each signal it
    caught again once it has stopped, to the handlers it found: these, so the process
    returns 0 rather than raising KeyboardInterrupt or dying of SIGTERM."""
    if threading.current_thread() is not threading.main_thread():  # signals: main thread only
        yield
        return

    def ask_to_exit(sig: int, frame: FrameType | None) -> None:
        server.should_exit = True

    saved = {sig: signal.signal(sig, ask_to_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
