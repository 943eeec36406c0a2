"""The `memchat` command line (DESIGN section 6). Exit 0 on success, 1 on a runtime failure,
2 on bad usage; errors are one line on stderr."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from agent.errors import MemchatError, UsageError
from agent.settings import Settings, load_settings
from storage.errors import StorageError
from tui import commands
from tui.args import hop_count, positive_int
from tui.db_command import add_db_parser
from tui.eval_command import add_eval_parser
from tui.history_command import add_history_parsers
from tui.reindex_command import add_reindex_parser
from tui.review_commands import add_review_parsers
from tui.serve_command import add_serve_parsers
from tui.terminal import TerminalSafe

if TYPE_CHECKING:
    from agent.core import Agent

# This module imports no torch, SQLAlchemy or textual: `memchat chat` shows its input first and
# builds the agent (which loads them) in the background; see tui/app.py.


def _memory_commands(sub: argparse._SubParsersAction) -> None:
    memories = sub.add_parser("memories", help="list, search, add and manage memories")
    msub = memories.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = msub.add_parser("list", help="the active profile's memories")
    p.add_argument("--kind", choices=["turn", "preference", "fact", "note"])
    p.add_argument("--json", action="store_true")
    p = msub.add_parser("search", help="an attention read without generation")
    p.add_argument("query")
    p.add_argument("--k", type=positive_int, help="results to show (default: setting read_k)")
    p.add_argument("--hops", type=hop_count, help="read hops, 1 to 8 (default: setting hops)")
    p.add_argument("--json", action="store_true")
    p = msub.add_parser("add", help="add a memory (the same key updates it)")
    p.add_argument("--key", required=True)
    p.add_argument("--value", required=True)
    p.add_argument("--kind", default="fact", choices=["fact", "preference", "note"])
    p.add_argument("--json", action="store_true")
    for name, text in [
        ("show", "one memory with its chain: source turn, derived memories, links, history"),
        ("history", "every change of a memory, also after it was forgotten"),
        ("forget", "delete a memory (its history is kept)"),
        ("pin", "never free this memory"),
        ("unpin", "allow freeing again"),
    ]:
        p = msub.add_parser(name, help=text)
        p.add_argument("id", type=positive_int, metavar="ID")
        p.add_argument("--json", action="store_true")
        if name == "forget":
            group = p.add_mutually_exclusive_group()
            group.add_argument(
                "--derived",
                action="store_true",
                help="for a turn: also forget the memories extracted from it (asked otherwise)",
            )
            group.add_argument(
                "--keep-derived", action="store_true", help="for a turn: keep them, do not ask"
            )
    add_review_parsers(msub)


def _profile_commands(sub: argparse._SubParsersAction) -> None:
    profiles = sub.add_parser("profiles", help="list, create, reset and delete profiles")
    psub = profiles.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = psub.add_parser("list", help="profiles with their counts")
    p.add_argument("--json", action="store_true")
    p = psub.add_parser("create", help="a new, empty profile")
    p.add_argument("name")
    p = psub.add_parser("reset", help="delete a profile's memories and turns; others untouched")
    p.add_argument("name")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--export", type=Path, metavar="FILE", help="export the profile first")
    p = psub.add_parser("delete", help="delete a profile and everything in it")
    p.add_argument("name")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="memchat",
        description="A local, offline chat agent with a persistent, inspectable memory.",
        epilog="Environment: MEMCHAT_HOME (data folder), MEMCHAT_DB, MEMCHAT_PROFILE, "
        "MEMCHAT_MODEL, MEMCHAT_BASE_URL, MEMCHAT_API_KEY_ENV (the name of the variable holding "
        "a server's API key), "
        "MEMCHAT_CACHE (converted models), MEMCHAT_GENERATOR / MEMCHAT_ENCODER (a local "
        "Hugging Face folder or .gguf file). Settings can also go in $MEMCHAT_HOME/config.toml.",
    )
    parser.add_argument("--db", metavar="PATH|URL", help="database file or SQLAlchemy URL")
    parser.add_argument("--profile", metavar="NAME", help="profile to use (default: default)")
    parser.add_argument(
        "--model",
        metavar="gguf:PATH|NAME",
        help="the chat model: gguf:PATH (a GGUF file run by llama.cpp) or NAME served at "
        "--base-url (default: the packaged SmolLM2-135M)",
    )
    parser.add_argument(
        "--base-url",
        metavar="URL",
        help="an OpenAI-compatible server's /v1 root, e.g. http://127.0.0.1:11434/v1 (Ollama)",
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        default=None,
        help="allow a --base-url that is not on this machine (every prompt carries memories)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("chat", help="open the chat UI (the default command)")
    p.add_argument(
        "--plain",
        action="store_true",
        help="line-by-line chat without the UI (automatic when not at a terminal)",
    )
    p = sub.add_parser("ask", help="one turn without the UI (MESSAGE '-' reads stdin)")
    p.add_argument("message", metavar="MESSAGE")
    p.add_argument("--hops", type=hop_count, help="read hops, 1 to 8 (default: setting hops)")
    p.add_argument("--json", action="store_true")
    _memory_commands(sub)
    _profile_commands(sub)
    add_eval_parser(sub)
    p = sub.add_parser("export", help="write profiles to a JSON Lines file")
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("--all", action="store_true", help="every profile, not just the active one")
    p = sub.add_parser("import", help="read a JSON Lines export (nothing is written if it is bad)")
    p.add_argument("file", type=Path, metavar="FILE")
    p = sub.add_parser(
        "backup",
        help="copy the whole database to the SQLite file FILE, safely while the UI runs",
        description="Copy the whole database, every profile, to the SQLite file FILE: an "
        "SQLite database with SQLite's online backup, a PostgreSQL one row by row from one "
        "snapshot (as db copy does; no pg_dump needed). Consistent while another memchat "
        "writes, owner-only (0600), checked, and moved into place only when complete. "
        "memchat --db FILE opens the copy; db copy --from FILE --to URL restores it to a "
        "server.",
    )
    p.add_argument("file", type=Path, metavar="FILE", help="the copy to write (a new SQLite file)")
    p.add_argument("--force", action="store_true", help="replace FILE if it exists")
    add_db_parser(sub)
    add_history_parsers(sub)
    add_reindex_parser(sub)
    add_serve_parsers(sub)
    p = sub.add_parser(
        "models", help="the chat model in use, the packaged one, GGUF files found, and served"
    )
    p.add_argument("--json", action="store_true")
    return parser


def run(args: argparse.Namespace, make_agent: Callable[[], Agent]) -> int:
    handler = commands.HANDLERS[(args.command or "chat", getattr(args, "action", None))]
    return handler(args, make_agent)


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; whatever it prints goes through `TerminalSafe`."""
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = TerminalSafe(out), TerminalSafe(err)  # type: ignore[assignment]
    try:
        return _main(argv)
    finally:
        sys.stdout, sys.stderr = out, err


def is_server(db: str) -> bool:
    """True for a database server's URL (PostgreSQL), False for an SQLite file or URL."""
    return "://" in db and not db.startswith("sqlite")


def build_agent(settings: Settings, progress: Callable[[str], None] | None = None) -> Agent:
    """The bootstrap's `build_agent`, imported when a command needs the agent: it loads torch."""
    from agent.bootstrap import build_agent as bootstrap

    return bootstrap(settings, progress)


def database_error(exc: Exception) -> str | None:
    """Why the database failed (e.g. a disk full or an I/O error mid-command), None for an
    error that is not SQLAlchemy's. Imported here, once a command has failed: `memchat chat`
    imports SQLAlchemy in the background, after its input is up."""
    from sqlalchemy.exc import SQLAlchemyError

    if isinstance(exc, SQLAlchemyError):
        return str(getattr(exc, "orig", None) or exc)
    return None


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command == "eval" and (args.profile or (args.db and not is_server(args.db))):
            parser.error(
                f"eval uses its own database (<out>/{args.action}.db, one profile per "
                "conversation or question; or the PostgreSQL database of a --db URL): "
                "--db and --profile do not apply to it"
            )
    except SystemExit as exc:  # --help, or bad usage (status 2) already explained by argparse
        return int(exc.code or 0)
    try:
        settings = load_settings(
            db=args.db,
            profile=args.profile,
            model=args.model,
            base_url=args.base_url,
            allow_remote=args.allow_remote,
        )
        return run(args, lambda: build_agent(settings, progress=commands.progress))
    except UsageError as exc:
        print(f"memchat: error: {exc}", file=sys.stderr)
        return 2
    except (MemchatError, StorageError) as exc:
        print(f"memchat: error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        reason = database_error(exc)
        if reason is None:
            raise
        print(f"memchat: error: database error: {reason}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("memchat: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
