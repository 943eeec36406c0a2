"""The concurrency test's command-line process: `tui.cli.main` in a loop, with `build_agent`
patched to fake models (as tests/test_cli.py does), while the UI writes to the same database.

Run as `python -m tests.workers.cli_loop SECONDS LOG UI_LOG` with MEMCHAT_HOME set (and
MEMCHAT_DB, which `memchat` reads, for a database elsewhere). Each round, for SECONDS and then
until UI_LOG shows the UI has ended: `memories add` the probe memories the UI asked for in
UI_LOG (for its reads to find), `memories add` a memory to keep and one to forget, `ask`,
`memories forget` the second, `memories list`, `profiles list`. Each command
builds its own agent and engine, as a new `memchat` process would. LOG gets one JSON line per
write it reported and per error: a non-zero status, anything on stderr, an exception that
escaped `main`.
"""

from __future__ import annotations

import io
import json
import sys
import time
import traceback
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

from agent.core import Agent
from agent.settings import Settings
from tests.workers.common import JsonLog, LogTail, fake_agent, read_log
from tests.workers.crash_turns import LIKES
from tui import cli

LINGER_S = 120.0  # the most this process waits for the UI to end after its own SECONDS


def codeword(n: int, prefix: str = "qx") -> str:
    """A made-up word of letters only, different for every n: "qxa", "qxb", ..."""
    letters = ""
    while True:
        n, digit = divmod(n, 26)
        letters += chr(ord("a") + digit)
        if n == 0:
            return prefix + letters


class CommandLine:
    """Runs `memchat` commands in this process, each with a new agent on fake models."""

    def __init__(self, log: JsonLog) -> None:
        self.log = log
        self.reply = ""  # what the next `ask` answers
        self.agents: list[Agent] = []
        cli.build_agent = self.build  # type: ignore[assignment]

    def build(self, settings: Settings, progress: Any = None) -> Agent:
        agent, generator = fake_agent(settings.home, settings.db or None, profile=settings.profile)
        generator.reply = self.reply
        self.agents.append(agent)
        return agent

    def run(self, *argv: str) -> str | None:
        """Run one command; its stdout, or None (and the error logged) when it failed."""
        out, err = io.StringIO(), io.StringIO()
        try:
            with redirect_stdout(out), redirect_stderr(err):
                code = cli.main(list(argv))
        except Exception:
            code = -1
            err.write(traceback.format_exc())
        finally:
            for agent in self.agents:  # a process would end here: close its connections
                agent.sessions.kw["bind"].dispose()
            self.agents.clear()
        if code != 0 or err.getvalue():
            self.log.write("error", argv=argv, status=code, stderr=err.getvalue())
            return None
        return out.getvalue()

    def run_json(self, *argv: str) -> Any:
        """Run a `--json` command; its document, or None when it failed."""
        out = self.run(*argv, "--json")
        return None if out is None else json.loads(out)


def add_probes(commands: CommandLine, ui_log: LogTail) -> None:
    """Add the probe memories the UI asked for since the last call (key "codeword WORD")."""
    for entry in ui_log.new():
        if entry["event"] == "want_probe":
            word = codeword(entry["n"])
            added = commands.run_json(
                "memories", "add", "--key", f"codeword {word}", "--value", f"{word} opens the door"
            )
            if added is not None:
                commands.log.write("add", probe=entry["n"], word=word, **added)


def one_round(commands: CommandLine, n: int) -> None:
    """Add a memory to keep and one to forget, ask, forget the second one, list."""
    log, word = commands.log, codeword(n, "kv")  # not a probe's word: its reads find the probe
    kept = commands.run_json("memories", "add", "--key", f"keepsake {word}", "--value", word)
    if kept is not None:
        log.write("add", keep=True, **kept)
    scratch = commands.run_json("memories", "add", "--key", f"scratch {word}", "--value", "soon")
    if scratch is not None:
        log.write("add", **scratch)
    commands.reply = f"CLI reply {n}."
    text = f"I like {LIKES[n % len(LIKES)]}."
    answer = commands.run_json("ask", text)
    if answer is not None:
        log.write("ask", text=text, reply=answer["reply"], written=answer["written"])
    if scratch is not None and commands.run("memories", "forget", str(scratch["id"])) is not None:
        log.write("forget", id=scratch["id"])
    listed = commands.run_json("memories", "list")
    if listed is not None:
        log.write("list", count=len(listed))
    commands.run("profiles", "list")


def ui_ended(entries: list[dict[str, Any]]) -> bool:
    return any(e["event"] == "end" or e.get("where") == "crash" for e in entries)


def main(seconds: float, log_path: Path, ui_log_path: Path) -> int:
    """Rounds for `seconds`, and on until the UI has ended (it may still want a probe), but no
    more than LINGER_S."""
    log = JsonLog(log_path)
    commands, ui_log = CommandLine(log), LogTail(ui_log_path)
    log.write("start")
    deadline = time.monotonic() + seconds
    n = 0
    try:
        while time.monotonic() < deadline or (
            time.monotonic() < deadline + LINGER_S and not ui_ended(read_log(ui_log_path))
        ):
            add_probes(commands, ui_log)
            one_round(commands, n)
            n += 1
    except BaseException:
        log.write("error", where="crash", message=traceback.format_exc())
        return 1
    log.write("end", rounds=n)
    return 0


if __name__ == "__main__":
    sys.exit(main(float(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])))
