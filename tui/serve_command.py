"""`memchat serve mcp|openai`: the memory for other programs (an MCP client over stdio, a chat
front end over an OpenAI-compatible HTTP API). The servers load only when one is started."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from tui.args import port_number

if TYPE_CHECKING:
    from agent.core import Agent

MakeAgent = Callable[[], "Agent"]

TOKEN_ENV = "MEMCHAT_SERVE_TOKEN"


def add_serve_parsers(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser(
        "serve",
        help="serve the memory to other programs: an MCP server, an OpenAI-compatible API",
        description="Serve this memory to the other tools you run. Nothing leaves the machine "
        "(unless the chat model itself is a remote --base-url).",
    )
    ssub = serve.add_subparsers(dest="action", required=True, metavar="SERVER")
    p = ssub.add_parser(
        "mcp",
        help="a Model Context Protocol server over stdio (an MCP client starts it)",
        description="A Model Context Protocol server over standard input and output: an MCP "
        "client (a coding agent, a desktop chat app, an editor) starts it as a subprocess. "
        "Tools: search_memory, remember, add_memory, forget_memory, list_memories, "
        "memory_history, profile; resource memchat://profile. Every call is recorded in a "
        "session labelled with the client's name, so the UI's inspector shows which tool read "
        "or wrote each memory.",
    )
    # SUPPRESS: absent here, the global --profile (before the command) still counts.
    p.add_argument("--profile", metavar="NAME", default=argparse.SUPPRESS, help="profile to serve")
    p.add_argument(
        "--read-only",
        action="store_true",
        help="offer only the reads (search_memory, list_memories, memory_history, profile)",
    )
    p = ssub.add_parser(
        "openai",
        help="an OpenAI-compatible chat API (POST /v1/chat/completions, GET /v1/models)",
        description="An OpenAI-compatible HTTP API: each request's last user message is one "
        "turn (read, answer, write), as `memchat ask` does it. The profile is the request's "
        "`user` field or its X-Memchat-Profile header (default: --profile). Loopback only "
        f"unless --allow-remote; when {TOKEN_ENV} is set, requests must send "
        f"`Authorization: Bearer <its value>`.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument(
        "--port",
        type=port_number,
        default=8000,
        help="port to listen on (default 8000; 0: any free port, printed when listening)",
    )
    p.add_argument(
        "--allow-remote",
        action="store_true",
        dest="listen_remote",  # not the global --allow-remote, which is about --base-url
        help="listen on an address other machines can reach (set a token: see above)",
    )


def serve_mcp(args: argparse.Namespace, make_agent: MakeAgent) -> int:
    from serve.mcp_server import run_mcp

    return run_mcp(make_agent(), read_only=args.read_only)


def serve_openai(args: argparse.Namespace, make_agent: MakeAgent) -> int:
    from serve.openai_api import run_openai

    return run_openai(make_agent(), args.host, args.port, args.listen_remote, TOKEN_ENV)


SERVE_HANDLERS = {("serve", "mcp"): serve_mcp, ("serve", "openai"): serve_openai}
