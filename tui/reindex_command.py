"""`memchat reindex`: re-encode memories with the encoder in use, with a progress bar."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from tqdm import tqdm

from agent.text import counted
from tui.render import dump

if TYPE_CHECKING:
    from agent.core import Agent

MakeAgent = Callable[[], "Agent"]


def add_reindex_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "reindex",
        help="re-encode memories with the encoder in use (after changing the encoder)",
        description="Re-encode every memory of each profile whose vectors were made by another "
        "encoder than the one in use (all profiles, or the one --profile names), one "
        "transaction per profile: an interrupted reindex leaves each profile all old or all "
        "new, and running it again goes on with the profiles not done.",
    )
    p.add_argument(
        "--force", action="store_true", help="re-encode even profiles already of this encoder"
    )
    p.add_argument("--json", action="store_true", help="print what was done as JSON")


class _Bars:
    """One tqdm bar per profile on stderr, for people at a terminal."""

    def __init__(self) -> None:
        self.bar: tqdm | None = None

    def __call__(self, profile: str, total: int) -> Callable[[int], None]:
        self.close()
        self.bar = tqdm(
            total=total, desc=f"reindex {profile!r}", unit="text", file=sys.stderr, leave=True
        )
        return self.bar.update

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


@contextmanager
def _bars() -> Iterator[_Bars | None]:
    bars = _Bars() if sys.stderr.isatty() else None
    try:
        yield bars
    finally:
        if bars is not None:
            bars.close()


def reindex(args: argparse.Namespace, make_agent: MakeAgent) -> int:
    agent = make_agent()
    with _bars() as bars:
        done = agent.reindex([args.profile] if args.profile else None, args.force, bars)
    if args.json:
        dump([r.as_json() for r in done])
        return 0
    for r in done:
        memories = counted(r.memories, "memory", "memories")
        if r.action == "reindexed":
            was = f" (was {r.previous})" if r.previous else ""
            print(f"{r.profile}: re-encoded {memories} with {r.encoder}{was}")
        elif r.memories:
            print(f"{r.profile}: {memories}, already encoded by {r.encoder}")
        else:
            print(f"{r.profile}: no memories")
    return 0
