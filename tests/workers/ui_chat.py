"""The concurrency test's UI process: the Textual app, headless (`App.run_test`), with an agent
on fake models, chatting without pause while the command line writes to the same database.

Run as `python -m tests.workers.ui_chat HOME SECONDS LOG CLI_LOG` (the database: MEMCHAT_DB,
or HOME/memchat.db). A Pilot sends messages for
SECONDS: scripted statements (adding, updating, retracting and forgetting memories), and every
fourth turn a question about a probe memory: this process asks for one in LOG (`want_probe`),
the command line adds it and says so in CLI_LOG, and the question's read must find it. Some
messages are typed key by key, most pasted. LOG gets one JSON line per turn (what it wrote),
per probe (whether the read found it) and per error the user saw: an error or warning
notification, a failed reply, a crash.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from agent.core import Agent
from tests.workers.common import JsonLog, LogTail, fake_agent
from tests.workers.crash_turns import TURNS, message
from tui import app as app_module
from tui.app import MemchatApp
from tui.widgets.messages import Reply

REPLY_TIMEOUT_S = 60.0  # a reply that takes this long has hung
PROBE_TIMEOUT_S = 60.0  # the command line takes at most a round (under a second) to add one


class RecordingApp(MemchatApp):
    """The app, with every error and warning notification logged: what the user saw."""

    CSS_PATH = str(Path(app_module.__file__).parent / MemchatApp.CSS_PATH)  # not beside us

    def __init__(self, agent: Agent, log: JsonLog) -> None:
        super().__init__(agent, load_models=False)
        self.journal = log

    def notify(self, message: str, **kwargs: Any) -> None:
        if kwargs.get("severity") in ("error", "warning"):
            self.journal.write("error", where="notification", message=str(message))
        super().notify(message, **kwargs)


def probe_question(word: str) -> str:
    """A question whose read should find the probe memory "codeword WORD"."""
    return f"What is the codeword {word}?"


async def send(pilot: Pilot[None], text: str, typed: bool) -> Reply:
    """Send `text` (typed key by key, or pasted) and wait for the reply to end: its result
    shown, or the screen no longer replying (it failed)."""
    screen: Any = pilot.app.screen
    before = len(screen.query(Reply))
    if typed:
        await pilot.press(*text)
    else:
        screen.query_one("#chat-input").text = text
    await pilot.press("enter")
    started = time.monotonic()
    while len(screen.query(Reply)) == before or (
        screen.query(Reply).last().result is None and screen.replying
    ):
        if time.monotonic() - started > REPLY_TIMEOUT_S:
            raise TimeoutError(f"no reply to {text!r} in {REPLY_TIMEOUT_S} s")
        await pilot.pause(0.005)
    await pilot.pause()
    return screen.query(Reply).last()


def record(log: JsonLog, turn: int, text: str, reply: Reply, probe: dict[str, Any] | None) -> None:
    """Log what the turn wrote and read, or the failure the user saw."""
    result = reply.result
    if result is None:
        status = reply.query_one(".reply-status")
        log.write("error", where="reply", text=text, message=str(status.render()))
        return
    log.write(
        "turn",
        turn=turn,
        text=text,
        reply=result.reply,
        user_turn_id=result.user_turn_id,
        reply_turn_id=result.reply_turn_id,
        written=[w.as_json() for w in result.written],
        forgotten=[w.as_json() for w in result.forgotten],
    )
    if probe is not None:
        found = probe["id"] in [item.id for item in result.read]
        log.write("probe", memory_id=probe["id"], word=probe["word"], found=found)


async def request_probe(app: RecordingApp, cli_log: LogTail, n: int) -> dict[str, Any]:
    """Have the command line add probe memory `n` while this process holds a loaded key cache;
    its `add` entry once it is committed."""
    # A read without a write: the key cache is loaded (or checked) now, before the probe exists,
    # so the probe's read must notice that another process changed the memory since.
    app.agent.search("codeword")
    app.journal.write("want_probe", n=n)
    started = time.monotonic()
    while time.monotonic() - started < PROBE_TIMEOUT_S:
        for entry in cli_log.new():
            if entry["event"] == "add" and entry.get("probe") == n:
                return entry
        await asyncio.sleep(0.01)
    raise TimeoutError(f"the command line added no probe {n} in {PROBE_TIMEOUT_S} s")


async def chat(app: RecordingApp, generator: Any, cli_log: Path, seconds: float) -> None:
    """Chat for `seconds`: scripted messages, and every fourth turn a question about a probe
    memory the command line has just added."""
    log, cli = app.journal, LogTail(cli_log)
    async with app.run_test(size=(120, 40)) as pilot:
        log.write("start")
        deadline = time.monotonic() + seconds
        turn = 0
        while time.monotonic() < deadline:
            probe = await request_probe(app, cli, turn // 4) if turn % 4 == 3 else None
            text = probe_question(probe["word"]) if probe else message(turn % TURNS)
            generator.reply = f"UI reply {turn}."
            # Typing takes some 60 ms a key here: one probe in three is typed, the rest pasted.
            reply = await send(pilot, text, typed=turn % 12 == 3)
            record(log, turn, text, reply, probe)
            turn += 1


def main(home: Path, seconds: float, log_path: Path, cli_log: Path) -> int:
    log = JsonLog(log_path)
    try:
        agent, generator = fake_agent(home, os.environ.get("MEMCHAT_DB") or None)
        asyncio.run(chat(RecordingApp(agent, log), generator, cli_log, seconds))
    except BaseException:
        log.write("error", where="crash", message=traceback.format_exc())
        return 1
    log.write("end")
    return 0


if __name__ == "__main__":
    home, seconds, log_path, cli_log = sys.argv[1:]
    sys.exit(main(Path(home), float(seconds), Path(log_path), Path(cli_log)))
