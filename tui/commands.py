"""One handler per command: each builds the agent when it needs it and returns an exit status."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from agent.bootstrap import pause_collection, resume_collection
from agent.errors import UsageError
from agent.settings import load_settings
from agent.text import counted
from tui import render
from tui.db_command import DB_HANDLERS
from tui.eval_command import eval_locomo, eval_longmemeval
from tui.history_command import HISTORY_HANDLERS
from tui.models_command import models
from tui.profile_commands import PROFILE_HANDLERS
from tui.reindex_command import reindex
from tui.render import dump
from tui.review_commands import REVIEW_HANDLERS
from tui.serve_command import SERVE_HANDLERS
from tui.terminal import confirm

if TYPE_CHECKING:
    from agent.core import Agent

# No torch, SQLAlchemy or textual at import: `memchat chat` goes through here (see tui/cli.py).

MakeAgent = Callable[[], "Agent"]
Handler = Callable[[argparse.Namespace, MakeAgent], int]


def progress(message: str) -> None:
    """Model loading news, for people at a terminal (scripts reading stderr get none)."""
    if sys.stderr.isatty():
        print(message, file=sys.stderr, flush=True)


def _stdin_text() -> str:
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"standard input is not valid UTF-8 (byte {exc.start})") from exc


def ask(args: argparse.Namespace, make_agent: MakeAgent) -> int:
    message = _stdin_text() if args.message == "-" else args.message
    agent = make_agent()
    stream = None if args.json else (lambda piece: print(piece, end="", flush=True))
    result = agent.ask(message, on_token=stream, label="cli ask", hops=args.hops)
    if args.json:
        dump(result.as_json())
        return 0
    print()
    lines = ["memory read:", *render.read_lines(result.read)] if result.read else []
    if result.cited:
        cited = " ".join(f"#{i}" for i in result.cited)
        source = (
            f" · {render.one_line(result.answered.source, 160)}" if result.answered.source else ""
        )
        lines.insert(0, f"cited: {cited}{source}")
    lines += [
        f"memory {w.action}: #{w.id} {w.kind} {render.one_line(w.key, 30)} = "
        f"{render.one_line(w.value, 50)}"
        for w in result.written + result.forgotten
        if w.kind != "turn" or w.action == "forget"
    ]
    lines += [
        f"proposed #{p.id}: {p.kind} {render.one_line(p.key_text, 30)} = "
        f"{render.one_line(p.value_text, 50)} (memchat memories accept {p.id} | reject {p.id})"
        for p in result.proposed
    ]
    for line in lines:
        print(line, file=sys.stderr)
    return 0


def chat(args: argparse.Namespace, make_agent: MakeAgent) -> int:
    """The terminal UI; the plain line chat with --plain or when not at a terminal."""
    if getattr(args, "plain", False) or not (sys.stdin.isatty() and sys.stdout.isatty()):
        return line_chat(make_agent())
    pause_collection()  # until the agent is built (tui/app.py): its imports run faster
    try:
        return _chat_app(make_agent)
    finally:
        resume_collection()


def _chat_app(make_agent: MakeAgent) -> int:
    from tui.app import MemchatApp  # textual loads only for the UI

    def build() -> Agent:
        agent = make_agent()
        agent.models.progress = None  # the chat's status line shows progress, not stderr
        return agent

    app = MemchatApp(build)  # the input comes up first; the agent is built in the background
    app.run()
    if app.start_error is not None:  # e.g. a database that cannot be opened: one line, as ever
        raise app.start_error
    return 0


def line_chat(agent: Agent) -> int:
    """A plain line-by-line chat: one line is one message; /quit or end of input stops."""
    interactive = sys.stdin.isatty()
    if interactive:
        print(f"memchat: profile {agent.profile_name!r}. Type a message; /quit to leave.")
    while True:
        if interactive:
            print("> ", end="", flush=True)
        raw = sys.stdin.buffer.readline()
        if not raw:
            return 0
        try:
            line = raw.decode("utf-8").rstrip("\n")
        except UnicodeDecodeError:
            print(
                "memchat: error: that line is not valid UTF-8; nothing was stored", file=sys.stderr
            )
            continue
        if line.strip() in ("/quit", "/exit"):
            return 0
        if not line.strip():
            continue
        try:
            agent.ask(line, on_token=lambda piece: print(piece, end="", flush=True))
        except UsageError as exc:
            print(f"memchat: error: {exc}", file=sys.stderr)
            continue
        print()


def memories_list(args: argparse.Namespace, make_agent: MakeAgent) -> int:
    memories = make_agent().list_memories(args.kind)
    if args.json:
        dump([render.memory_json(m) for m in memories])
    else:
        print("\n".join(render.memory_lines(memories)))
    return 0


def memories_search(args: argparse.Namespace, make_agent: MakeAgent) -> int:
    agent = make_agent()
    result = agent.search(args.query, args.k, args.hops)
    if args.json:
        dates = agent.memory_dates([i.id for hop in result.hops for i in hop])
        dump(render.search_json(args.query, result, dates))
        return 0
    for number, hop in enumerate(result.hops, start=1):
        if len(result.hops) > 1:
            print(f"hop {number}:")
        print("\n".join(render.read_lines(hop)) or "(no memories)")
    print(f"({result.elapsed_ms:.1f} ms)")
    return 0


def memories_add(args: argparse.Namespace, make_agent: MakeAgent) -> int:
    written = make_agent().add_memory(args.key, args.value, args.kind)
    if args.json:
        dump(written.as_json())
    else:
        print(f"{'added' if written.action == 'add' else 'updated'} memory #{written.id}")
    return 0


def memories_show(args: argparse.Namespace, make_agent: MakeAgent) -> int:
    detail = make_agent().show(args.id)
    if args.json:
        dump(render.detail_json(detail))
        return 0
    m = detail.memory
    print(f"#{m.id} {m.kind}{' (pinned)' if m.pinned else ''}  usage {m.usage:.3f}")
    print(f"key:   {m.key_text}\nvalue: {m.value_text}")
    print(
        f"created {render.iso(m.created_at)}, updated {render.iso(m.updated_at)}, "
        f"last used {render.iso(m.used_at)}"
    )
    for line in render.chain_lines(detail):
        print(line)
    history = render.event_lines(detail.history, detail.callers)
    print("history:\n" + "\n".join("  " + line for line in history))
    if detail.reads:
        print(
            "read by turns:\n"
            + "\n".join(
                f"  turn {r.turn_id}{render.caller_note(detail.callers, r.turn_id)}: "
                f"weight {r.weight:.3f} (rank {r.rank + 1})"
                for r in detail.reads
            )
        )
    return 0


def memories_history(args: argparse.Namespace, make_agent: MakeAgent) -> int:
    events = make_agent().history(args.id)
    if args.json:
        dump([render.event_json(e) for e in events])
    else:
        print("\n".join(render.event_lines(events)))
    return 0


def memories_forget(args: argparse.Namespace, make_agent: MakeAgent) -> int:
    """Forget a memory; for a turn with extracted memories, offer to forget those too."""
    agent = make_agent()
    derived = agent.derived_from(args.id)
    with_derived = args.derived
    if derived and not (args.derived or args.keep_derived):
        listed = "; ".join(f"#{m.id} {render.one_line(m.key_text, 20)}" for m in derived)
        with_derived = sys.stdin.isatty() and confirm(
            f"{counted(len(derived), 'memory', 'memories')} "
            f"{'was' if len(derived) == 1 else 'were'} extracted from this turn ({listed}). "
            "Forget them too?"
        )
    memory = agent.forget(args.id, with_derived=with_derived)
    gone = [memory.id] + ([m.id for m in derived] if with_derived else [])
    if args.json:
        dump({"id": memory.id, "action": "forget", "forgotten": gone})
        return 0
    print(f"forgot memory #{memory.id} ({render.one_line(memory.key_text, 40)})")
    if with_derived:
        print("also forgot " + ", ".join(f"#{i}" for i in gone[1:]))
    elif derived:
        print(
            f"kept {counted(len(derived), 'memory', 'memories')} extracted from it "
            f"({', '.join(f'#{m.id}' for m in derived)}); --derived forgets them too",
            file=sys.stderr,
        )
    return 0


def _pin(pinned: bool) -> Handler:
    def handler(args: argparse.Namespace, make_agent: MakeAgent) -> int:
        memory = make_agent().set_pinned(args.id, pinned)
        if args.json:
            dump(render.memory_json(memory))
        else:
            print(f"memory #{memory.id} is {'pinned' if pinned else 'unpinned'}")
        return 0

    return handler


def export(args: argparse.Namespace, make_agent: MakeAgent) -> int:
    counts = make_agent().export(args.file, all_profiles=args.all)
    print(f"exported to {args.file}: " + ", ".join(f"{n} {t}" for t, n in counts.items()))
    return 0


def import_(args: argparse.Namespace, make_agent: MakeAgent) -> int:
    counts = make_agent().import_file(args.file)
    print(f"imported from {args.file}: " + ", ".join(f"{n} {t}" for t, n in counts.items()))
    return 0


class _BackupMeter:
    """Backup progress on one stderr line, for people at a terminal: shown only when the copy
    takes more than one step (a small database is copied before anyone could read it).
    `unit`: what is counted, pages (SQLite's backup) or rows (a PostgreSQL database's copy)."""

    def __init__(self, unit: str = "pages") -> None:
        self.open = False  # a progress line is on screen without its newline
        self.unit = unit

    def __call__(self, copied: int, total: int) -> None:
        if not self.open and copied >= total:
            return
        percent = copied * 100 // max(total, 1)
        line = f"\rbackup: {percent:3d}% ({copied:,} of {total:,} {self.unit})"
        print(line, end="", file=sys.stderr, flush=True)
        self.open = copied < total
        if not self.open:
            print(file=sys.stderr, flush=True)

    def close(self) -> None:
        """End an unfinished line (the copy failed) so the error starts on its own line."""
        if self.open:
            print(file=sys.stderr, flush=True)
            self.open = False


def backup(args: argparse.Namespace, make_agent: MakeAgent) -> int:
    """Copy the whole database to the SQLite file FILE (SQLite's online backup, or a row copy
    of a PostgreSQL database) and say what was written."""
    from agent.profiles import backup_source
    from storage.backup import copies_rows

    url = load_settings(db=args.db, profile=args.profile).db_url
    rows = copies_rows(url)
    if not rows:
        # Checked before the agent opens the database: opening would create a missing one.
        backup_source(url)
    agent = make_agent()
    meter = _BackupMeter("rows" if rows else "pages")
    try:
        result = agent.backup(
            args.file, force=args.force, progress=meter if sys.stderr.isatty() else None
        )
    finally:
        meter.close()
    counts = ", ".join(f"{table} {n:,}" for table, n in result.counts.items())
    print(f"backed up to {result.path} ({result.size:,} bytes, integrity ok): {counts}")
    return 0


HANDLERS: dict[tuple[str, str | None], Handler] = {
    ("chat", None): chat,
    ("ask", None): ask,
    ("memories", "list"): memories_list,
    ("memories", "search"): memories_search,
    ("memories", "add"): memories_add,
    ("memories", "show"): memories_show,
    ("memories", "history"): memories_history,
    ("memories", "forget"): memories_forget,
    ("memories", "pin"): _pin(True),
    ("memories", "unpin"): _pin(False),
    **REVIEW_HANDLERS,
    **PROFILE_HANDLERS,
    ("export", None): export,
    ("import", None): import_,
    ("backup", None): backup,
    **DB_HANDLERS,
    **HISTORY_HANDLERS,
    **SERVE_HANDLERS,
    ("reindex", None): reindex,
    ("models", None): models,
    ("eval", "locomo"): eval_locomo,
    ("eval", "longmemeval"): eval_longmemeval,
}
