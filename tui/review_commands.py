"""`memchat memories proposals | accept | reject`: review mode from the command line."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from tui import render
from tui.args import positive_int
from tui.render import dump

if TYPE_CHECKING:
    from agent.core import Agent

MakeAgent = Callable[[], "Agent"]


def add_review_parsers(msub: argparse._SubParsersAction) -> None:
    p = msub.add_parser(
        "proposals", help="review mode: extracted memories waiting for accept or reject"
    )
    p.add_argument("--all", action="store_true", help="also the accepted and rejected ones")
    p.add_argument("--json", action="store_true")
    p = msub.add_parser("accept", help="accept a proposal (edited with --key/--value)")
    p.add_argument("id", type=positive_int, metavar="ID")
    p.add_argument("--key", help="accept with this key instead")
    p.add_argument("--value", help="accept with this value instead")
    p.add_argument("--json", action="store_true")
    p = msub.add_parser("reject", help="reject a proposal: nothing is stored")
    p.add_argument("id", type=positive_int, metavar="ID")
    p.add_argument("--json", action="store_true")


def proposals(args: argparse.Namespace, make_agent: MakeAgent) -> int:
    from agent.turn import proposal_json  # loaded with the agent; not by the parser

    found = make_agent().proposals(None if args.all else "pending")
    if args.json:
        dump([proposal_json(p) for p in found])
        return 0
    if not found:
        print("(no proposals)")
    for p in found:
        print(
            f"#{p.id:<5} {p.status:<9} {p.kind:<10} {render.one_line(p.key_text, 24)} = "
            f"{render.one_line(p.value_text, 50)}  (turn {p.source_turn_id})"
        )
    return 0


def accept(args: argparse.Namespace, make_agent: MakeAgent) -> int:
    written = make_agent().accept_proposal(args.id, args.key, args.value)
    if args.json:
        dump(written.as_json())
    else:
        verb = "added" if written.action == "add" else "updated"
        print(f"accepted proposal #{args.id}: {verb} memory #{written.id}")
    return 0


def reject(args: argparse.Namespace, make_agent: MakeAgent) -> int:
    from agent.turn import proposal_json

    proposal = make_agent().reject_proposal(args.id)
    if args.json:
        dump(proposal_json(proposal))
    else:
        print(f"rejected proposal #{proposal.id}; nothing was stored")
    return 0


REVIEW_HANDLERS = {
    ("memories", "proposals"): proposals,
    ("memories", "accept"): accept,
    ("memories", "reject"): reject,
}
