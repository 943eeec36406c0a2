"""`memchat models`: the chat model in use, the packaged one, GGUF files found, and what a
configured server offers."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from agent.settings import load_settings
from tui.render import dump

if TYPE_CHECKING:
    from agent.core import Agent

MakeAgent = Callable[[], "Agent"]


def models(args: argparse.Namespace, _make_agent: MakeAgent) -> int:
    from agent.models.catalog import catalog  # loads torch: only for this command

    settings = load_settings(
        db=args.db,
        profile=args.profile,
        model=args.model,
        base_url=args.base_url,
        allow_remote=args.allow_remote,
    )
    listed = catalog(settings)
    if args.json:
        dump(listed.as_json())
        return 0
    print(f"in use:   {listed.configured}")
    print(f"packaged: {listed.packaged}")
    print("GGUF files found (use one with --model gguf:PATH):")
    for path in listed.found or ["(none in the Hugging Face cache or <home>/models)"]:
        print(f"  {path}")
    if listed.served or listed.server_error:
        print("served at --base-url:")
        for name in listed.served:
            print(f"  {name}")
        if listed.server_error:
            print(f"  ({listed.server_error})")
    return 0
