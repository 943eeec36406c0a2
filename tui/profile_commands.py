"""`memchat profiles list | create | reset | delete`: profiles from the command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from agent.errors import MemchatError
from agent.text import counted
from storage.errors import StorageError
from tui import render
from tui.render import counts_text, dump
from tui.terminal import confirm

if TYPE_CHECKING:
    from agent.core import Agent

MakeAgent = Callable[[], "Agent"]


def profiles_list(args: argparse.Namespace, make_agent: MakeAgent) -> int:
    agent = make_agent()
    rows = agent.profiles()
    if args.json:
        dump(
            [
                {
                    "name": r.profile.name,
                    "memories": r.memories,
                    "turns": r.turns,
                    "created_at": render.iso(r.profile.created_at),
                    "active": r.profile.name == agent.profile_name,
                }
                for r in rows
            ]
        )
        return 0
    for r in rows:
        mark = "*" if r.profile.name == agent.profile_name else " "
        memories, turns = counted(r.memories, "memory", "memories"), counted(r.turns, "turn")
        print(f"{mark} {r.profile.name:<24} {memories:>16} {turns:>13}")
    return 0


def profiles_create(args: argparse.Namespace, make_agent: MakeAgent) -> int:
    make_agent().create_profile(args.name)
    print(f"created profile {args.name!r}")
    return 0


def _counts(agent: Agent, name: str) -> str:
    for r in agent.profiles():
        if r.profile.name == name:
            return counts_text(r)
    raise MemchatError(f"unknown profile {name!r}")


def _offer_export(name: str) -> Path | None:
    """At a terminal, before a reset: where to export the profile first (None: nowhere).
    An existing file is replaced only if the user says so; otherwise the question comes again."""
    while True:
        print(
            f"Export profile {name!r} to a file before resetting? "
            "Enter a path (empty: no export): ",
            end="",
            file=sys.stderr,
            flush=True,
        )
        answer = sys.stdin.readline().strip()
        if not answer:
            return None
        path = Path(answer).expanduser()
        if not path.exists() or confirm(f"{path} exists. Replace it?"):
            return path


def profiles_reset(args: argparse.Namespace, make_agent: MakeAgent) -> int:
    """Reset a profile: offer an export first (at a terminal), confirm, export, then reset.
    A failed export resets nothing."""
    agent = make_agent()
    counts = _counts(agent, args.name)
    export: Path | None = args.export
    if not args.yes:
        # Only a person at a terminal is offered an export: a piped "y" must stay a yes.
        if export is None and sys.stdin.isatty():
            export = _offer_export(args.name)
        first = f" (after exporting it to {export})" if export else ""
        if not confirm(f"Reset profile {args.name!r}{first}: delete its {counts}?"):
            print("not reset; nothing changed", file=sys.stderr)
            return 1
    if export:
        try:
            done = agent.export(export, name=args.name)
        except (MemchatError, StorageError) as exc:
            raise MemchatError(f"{exc}; profile {args.name!r} was not reset") from exc
        print(f"exported {counted(done['memories'], 'memory', 'memories')} to {export}")
    agent.reset_profile(args.name)
    print(f"reset profile {args.name!r} ({counts} deleted)")
    return 0


def profiles_delete(args: argparse.Namespace, make_agent: MakeAgent) -> int:
    agent = make_agent()
    counts = _counts(agent, args.name)
    if not args.yes and not confirm(f"Delete profile {args.name!r} with its {counts}?"):
        print("not deleted; nothing changed", file=sys.stderr)
        return 1
    agent.delete_profile(args.name)
    print(f"deleted profile {args.name!r}")
    return 0


PROFILE_HANDLERS = {
    ("profiles", "list"): profiles_list,
    ("profiles", "create"): profiles_create,
    ("profiles", "reset"): profiles_reset,
    ("profiles", "delete"): profiles_delete,
}
