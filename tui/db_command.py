"""`memchat db copy`: every profile from one database to another (SQLite <-> PostgreSQL), with
progress per table on stderr and a one-line summary on stdout."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from agent.errors import UsageError

if TYPE_CHECKING:
    from agent.core import Agent
    from storage.copy import CopyResult

# storage.copy loads SQLAlchemy: imported by the command, not by the parser every command builds.
MakeAgent = Callable[[], "Agent"]

DESCRIPTION = (
    "Copy every profile, with every row of every table (profiles, sessions, turns, memories, "
    "memory events, turn reads, proposals), from one database to another: SQLite to "
    "PostgreSQL, PostgreSQL to SQLite, or SQLite to SQLite. The copy is lossless (same ids, "
    "timestamps, embedding bytes and links), reads the source from one consistent snapshot "
    "(other memchat processes may keep writing to it), and writes the target in one "
    "transaction: a failed or interrupted copy leaves the target as it was (a target file it "
    "created is removed; other writers to the target wait for it). The target's schema is "
    "created or upgraded first. A target that already holds data is refused unless --force."
)


def add_db_parser(sub: argparse._SubParsersAction) -> None:
    """`memchat db copy --from PATH|URL --to PATH|URL [--force]`."""
    db = sub.add_parser("db", help="whole databases: copy between SQLite and PostgreSQL")
    dsub = db.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = dsub.add_parser(
        "copy",
        help="copy every profile from one database to another (SQLite <-> PostgreSQL)",
        description=DESCRIPTION,
        epilog="Example: memchat db copy --from ~/.local/share/memchat/memchat.db "
        "--to postgresql://sam@db.example/memchat",
    )
    p.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="PATH|URL",
        help="the database to copy: an SQLite file or a SQLAlchemy URL (not changed, except "
        "that an older schema is upgraded as by any memchat command)",
    )
    p.add_argument(
        "--to",
        dest="target",
        required=True,
        metavar="PATH|URL",
        help="the database to write: an SQLite file (created if missing) or a SQLAlchemy URL "
        "of an existing database",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="the target may hold data: delete all of it and put the copy in its place, in "
        "the same transaction (a failed copy keeps it)",
    )


def summary(result: CopyResult) -> str:
    """The one line printed after a copy: rows per table, links, and what was replaced."""
    from storage.copy import LINKS

    rows = ", ".join(f"{table} {n:,}" for table, n in result.counts.items())
    line = f"copied {result.source} to {result.target}: {rows}; {LINKS} {result.links:,}"
    replaced = sum(result.replaced.values())
    if replaced:
        line += f"; replaced the target's {replaced:,} rows"
    return f"{line} ({result.seconds:.1f} s)"


def db_copy(args: argparse.Namespace, _make_agent: MakeAgent) -> int:
    """Copy every profile from --from to --to; a same-database copy is bad usage."""
    if args.db or args.profile:
        raise UsageError(
            "db copy names its databases with --from and --to: --db and --profile do not "
            "apply to it"
        )
    from storage.copy import SameDatabaseError, copy_database, database_url
    from tui.db_progress import Bars, Lines

    progress = Bars() if sys.stderr.isatty() else Lines()
    try:
        result = copy_database(
            database_url(args.source),
            database_url(args.target),
            force=args.force,
            progress=progress,
        )
    except SameDatabaseError as exc:
        raise UsageError(str(exc)) from exc
    finally:
        progress.close()
    print(summary(result))
    return 0


DB_HANDLERS = {("db", "copy"): db_copy}
