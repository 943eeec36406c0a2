"""`memchat import-chats` (past conversations from ChatGPT, Claude or a transcript) and
`memchat conversations list | forget`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from agent.callers import is_caller_label
from agent.errors import MemchatError
from agent.history.conversation import FORMATS, ExportError, naive_utc
from agent.history.formats import read_export
from agent.text import counted
from tui.args import positive_int
from tui.render import conversation_json, dump, one_line
from tui.terminal import confirm

if TYPE_CHECKING:
    from agent.core import Agent
    from storage.models import ChatSession

MakeAgent = Callable[[], "Agent"]

IMPORT_HELP = """\
Import past conversations: a ChatGPT data export (the zip, or its conversations.json), a
Claude data export (the zip, or its conversations.json), or a transcript (lines starting
User: / Assistant:, or the JSON Lines of memchat export). Each conversation becomes a chat
session of the active profile (--profile), its messages turns dated when they were said,
remembered as chat turns are, with the file, conversation id and message id kept as their
source. The user's messages state preferences and facts as in a chat (proposals in review
mode); an older statement never overwrites a newer one. Importing the same file again adds
nothing; a newer export adds only the new messages. A damaged conversation is skipped with
the reason, the others are imported (--strict: nothing is). Forget an imported conversation
with: memchat conversations forget ID."""


def since_date(text: str) -> datetime:
    """--since: an ISO date (2024-03-05) or date and time, as UTC."""
    try:
        return naive_utc(datetime.fromisoformat(text))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date (YYYY-MM-DD, or YYYY-MM-DDTHH:MM)"
        ) from None


def add_history_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import-chats", help="import past chats: ChatGPT or Claude exports, transcripts",
        description=IMPORT_HELP,
    )  # fmt: skip
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("--format", choices=FORMATS, help="the file's format (default: detected)")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="say what would be added and write nothing (each conversation counted as if "
        "imported alone)",
    )
    p.add_argument("--since", type=since_date, metavar="DATE", help="only messages from DATE on")
    p.add_argument(
        "--strict", action="store_true", help="import nothing if any conversation is damaged"
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument(
        "--profile", default=argparse.SUPPRESS, metavar="NAME", help="the profile to import into"
    )
    conversations = sub.add_parser(
        "conversations", help="list conversations, or forget one and what came from it"
    )
    csub = conversations.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = csub.add_parser("list", help="the active profile's conversations and their sources")
    p.add_argument("--json", action="store_true")
    p = csub.add_parser(
        "forget",
        help="forget a conversation: its turns and every memory that came from them",
        description="Forget a conversation (its id from conversations list): every memory "
        "that came from its turns (each forget logged, histories kept), its turns and its "
        "pending proposals. An imported conversation stays listed as forgotten, without its "
        "title, so importing its export again does not bring it back.",
    )
    p.add_argument("id", type=positive_int, metavar="ID")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--json", action="store_true")


class _Bar:
    """A tqdm bar on stderr (turns, rate) for people at a terminal."""

    def __init__(self) -> None:
        self.bar: tqdm | None = None

    def start(self, turns: int) -> None:
        if turns:  # nothing new: no bar
            self.bar = tqdm(total=turns, desc="import", unit=" turns", file=sys.stderr)

    def advance(self, turns: int) -> None:
        if self.bar is not None:
            self.bar.update(turns)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class _Lines:
    """For logs: a line on stderr at every tenth of the turns."""

    def __init__(self) -> None:
        self.total = self.done = self.said = 0

    def start(self, turns: int) -> None:
        self.total = turns

    def advance(self, turns: int) -> None:
        self.done += turns
        tenth = self.done * 10 // max(1, self.total)
        if tenth > self.said:
            self.said = tenth
            print(f"import: {self.done:,} of {self.total:,} turns", file=sys.stderr)

    def close(self) -> None:
        """Every line is whole."""


def import_chats(args: argparse.Namespace, make_agent: MakeAgent) -> int:
    if sys.stderr.isatty():  # a large export takes a few seconds to read, before the bar
        print(f"Reading {args.file} ...", file=sys.stderr, flush=True)
    try:
        export = read_export(args.file, args.format)
    except ExportError as exc:
        raise MemchatError(str(exc)) from exc
    from agent.history.importer import ImportOptions, import_export  # loads torch

    agent = make_agent()
    options = ImportOptions(str(args.file.resolve()), args.dry_run, args.since, args.strict)
    progress = _Bar() if sys.stderr.isatty() else _Lines()
    try:
        summary = import_export(agent, export, options, progress)
    finally:
        progress.close()
    if args.json:
        dump(summary.as_json())
        return 0
    head, *rest = summary.lines(agent.profile_name)
    print(head)
    for line in rest:
        print(line, file=sys.stderr if line.startswith("damaged") else sys.stdout)
    return 0


def conversations_list(args: argparse.Namespace, make_agent: MakeAgent) -> int:
    rows = make_agent().conversations()
    if args.json:
        dump(
            [
                {**conversation_json(r.session), "turns": r.turns, "memories": r.memories}
                for r in rows
            ]
        )
        return 0
    if not rows:
        print("(no conversations)")
        return 0
    print(f"{'id':>6}  {'source':<10} {'started':<16} {'turns':>5} {'memories':>8}  title")
    for r in rows:
        c = r.session
        name = "(forgotten)" if c.forgotten_at else one_line(c.title or c.label, 50)
        print(
            f"{c.id:>6}  {session_source(c):<10} {c.started_at:%Y-%m-%d %H:%M} "
            f"{r.turns:>5} {r.memories:>8}  {name}"
        )
    return 0


def conversations_forget(args: argparse.Namespace, make_agent: MakeAgent) -> int:
    agent = make_agent()
    if not args.yes:
        row = next((r for r in agent.conversations() if r.session.id == args.id), None)
        if row is None or row.session.forgotten_at is not None:
            agent.forget_conversation(args.id)  # says why, in one line
        assert row is not None
        title = one_line(row.session.title or row.session.label, 60)
        what = f"{counted(row.turns, 'turn')} and {counted(row.memories, 'memory', 'memories')}"
        if not confirm(f'Forget conversation {args.id} "{title}": its {what}?'):
            print("not forgotten; nothing changed", file=sys.stderr)
            return 1
    done = agent.forget_conversation(args.id)
    if args.json:
        dump(
            {
                "conversation": done.session_id,
                "turns": done.turns,
                "memories": [w.as_json() for w in done.memories],
            }
        )
        return 0
    memories = counted(len(done.memories), "memory", "memories")
    print(f"forgot conversation {done.session_id}: {counted(done.turns, 'turn')}, {memories}")
    return 0


HISTORY_HANDLERS = {
    ("import-chats", None): import_chats,
    ("conversations", "list"): conversations_list,
    ("conversations", "forget"): conversations_forget,
}


def session_source(c: ChatSession) -> str:
    """Where a session came from: an export's format, the server another program called
    through (mcp, openai), or the chat."""
    if c.source:
        return c.source
    return c.label.partition(":")[0] if is_caller_label(c.label) else "chat"
