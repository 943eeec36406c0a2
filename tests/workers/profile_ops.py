"""The worker of the profile-operation crash test: `profiles reset --export`, `import` and
`reindex`, each run through its command handler on a database (an SQLite file, or PostgreSQL),
to be killed at any moment.

Run as `python -m tests.workers.profile_ops`: a fork server, as tests/workers/crash_turns.py
(which says why). Protocol, one line each way: the test writes `run OP HOME FILE DB` (OP is
reset, import or reindex; FILE is the export to write or the file to import, `-` for none; DB
is the database's URL, or `-` for HOME/memchat.db); the server prints `child PID`; the child
prints `ready` once its agent is open, then does OP (whatever the command prints is relayed
too) and prints `done`; the server prints `exit STATUS` when the child has ended.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

from agent.core import Agent, Models
from agent.settings import load_settings
from storage.db import make_engine, session_factory
from tests.fakes import FakeEncoder, FakeGenerator
from tests.workers.crash_turns import database_arg, fork_serve, say
from tui import commands
from tui.cli import build_parser

PROFILE = "default"  # the profile reset, and the one the import file holds


class SmallEncoder(FakeEncoder):
    """The encoder `reindex` changes to: the fake's hashed words in 32 dimensions."""

    dim = 32
    identity = "fake-hashed-words@32"


def open_agent(
    home: Path, encoder: type[FakeEncoder] = FakeEncoder, db: str | None = None
) -> Agent:
    """An agent on `db` (default HOME/memchat.db) with fake models, opened as a new process
    would."""
    config = load_settings(environ={"MEMCHAT_HOME": str(home)}, db=db)
    engine = make_engine(config.db_url)
    generator = FakeGenerator()
    return Agent(config, session_factory(engine), Models(encoder, lambda: generator))


def command_line(op: str, file: str) -> list[str]:
    """The memchat command line of `op`."""
    if op == "reset":
        return ["profiles", "reset", PROFILE, "--yes", "--export", file]
    if op == "import":
        return ["import", file]
    return ["reindex"]


def run_op(op: str, home: Path, file: str, db: str | None) -> None:
    agent = open_agent(home, SmallEncoder if op == "reindex" else FakeEncoder, db)
    if op == "reindex":
        _ = agent.store.encoder  # loaded before `ready`: the kills land in the work itself
    args = build_parser().parse_args(command_line(op, file))
    say("ready")
    status = commands.HANDLERS[(args.command, getattr(args, "action", None))](args, lambda: agent)
    sys.stdout.flush()
    say(f"done {status}")


def child(op: str, home: Path, file: str, db: str | None) -> int:
    try:
        run_op(op, home, file, db)
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
        return 1
    return 0


def serve() -> None:
    """Fork one child per `run OP HOME FILE DB` line."""

    def child_of(args: list[str]) -> int:
        op, home, file, db = args
        assert op in ("reset", "import", "reindex"), args
        return child(op, Path(home), file, database_arg(db))

    fork_serve(child_of)


if __name__ == "__main__":
    serve()
