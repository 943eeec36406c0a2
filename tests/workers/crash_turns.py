"""The crash test's worker: scripted chat turns through the real Agent (fake models) on a
database (an SQLite file, or PostgreSQL), to be killed at any moment and started again.

Run as `python -m tests.workers.crash_turns`: a fork server. Importing the agent (torch)
takes seconds; forking a child from a process that has imported it takes milliseconds, so a
test can kill and restart a dozen times in a few seconds. The server itself never touches the
database: each child opens it as a fresh process would (engine, migration, agent) and is the
one killed, a real process dying with its connections and transactions open.

Protocol, one line each way: the test writes `run HOME START DB` (DB is the database's URL, or
`-` for HOME/memchat.db; START = TURNS only opens it); the server prints `child PID` once it has
forked the child; the child prints `opened` once the agent is ready (database created and
migrated), `turn N USER_TURN_ID REPLY_TURN_ID` after each turn N has returned, and `done` after
the last turn; the server prints `exit STATUS` (-9 for SIGKILL) when the child has ended. End
of input ends the server.

A kill can land in the middle of the child's output, so every line goes out in one write (with
PYTHONUNBUFFERED=1, `print` writes the text and the newline in two), and the child writes to a
pipe of its own that the server relays line by line: a child killed mid-line leaves an
unterminated last line, which the server relays as `cut TEXT` before `exit`, never glued to
the next line (it once read `openedexit -9`).
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

from tests.workers.common import fake_agent

TURNS = 200
# Small enough that the last turns free the least used memories (the `free` write path).
CAPACITY = 150

COLOURS = ["blue", "green", "red", "yellow", "purple", "orange", "black"]
CITIES = ["Paris", "Lyon", "Berlin", "Madrid", "Rome", "Vienna"]
JOBS = ["nurse", "teacher", "baker", "pilot", "chemist"]
SISTERS = ["Anna", "Clara", "Maria", "Julia"]
LIKES = ["jazz", "hiking", "chess", "tennis", "opera", "sushi", "poetry"]


def message(turn: int) -> str:
    """The user's message of `turn` (0-based): statements that add, update, retract and forget
    preferences and facts, and plain questions, in a ten-turn cycle."""
    if turn == 0:
        return "My name is Sam and I am vegetarian."
    b = turn // 10
    cycle = [
        f"My favourite colour is {COLOURS[b % len(COLOURS)]}.",
        f"I live in {CITIES[b % len(CITIES)]}.",
        f"I work as a {JOBS[b % len(JOBS)]}. My sister is {SISTERS[b % len(SISTERS)]}.",
        f"I like {LIKES[b % len(LIKES)]}.",
        f"What should I cook tonight, given block {b}?",
        f"I don't live in {CITIES[b % len(CITIES)]} anymore.",
        f"Forget that I like {LIKES[b % len(LIKES)]}.",
        f"I am {20 + b} years old.",
        f"Remember that the meeting {b} is at {1 + b % 12} o'clock.",
        "I quit my job." if b % 2 else f"Forget everything about {SISTERS[b % len(SISTERS)]}.",
    ]
    return cycle[turn % 10]


def reply(turn: int) -> str:
    """What the fake generator answers in `turn` (a forget request is answered by the agent)."""
    return f"Noted, this is reply {turn}."


def say(line: str, fd: int = 1) -> None:
    """Write `line` and its newline in one system call (a line of protocol is far below
    PIPE_BUF, so a pipe takes it whole: a reader never sees half of it)."""
    os.write(fd, (line + "\n").encode())


def database_arg(db: str) -> str | None:
    """The protocol's DB word as `fake_agent` takes it: `-` is the home's SQLite file."""
    return None if db == "-" else db


def run_turns(home: Path, start: int, db: str | None = None) -> None:
    """Open the database as a new process would, then run turns `start`.. to the end."""
    agent, generator = fake_agent(home, db, capacity=CAPACITY)
    say("opened")
    for turn in range(start, TURNS):
        generator.reply = reply(turn)
        result = agent.ask(message(turn))
        say(f"turn {turn} {result.user_turn_id} {result.reply_turn_id}")
    say("done")


def child(home: Path, start: int, db: str | None = None) -> int:
    """The forked child's life; its exit status (1 after an error, traceback on stderr)."""
    try:
        run_turns(home, start, db)
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
        return 1
    return 0


def relay(fd: int) -> Iterator[str]:
    """The lines read from `fd` until its end; a last line without its newline (its writer was
    killed in the middle of it) comes as `cut TEXT`."""
    pending = b""
    while chunk := os.read(fd, 65536):
        *lines, pending = (pending + chunk).split(b"\n")
        yield from (line.decode(errors="replace") for line in lines)
    if pending:
        yield f"cut {pending.decode(errors='replace')}"


def fork_serve(child_of: Callable[[list[str]], int]) -> None:
    """For each `run ARGS...` line, fork a child that runs `child_of(ARGS)` (its exit status),
    relay its output, report how it ended."""
    for line in sys.stdin:
        command, *args = line.split()
        assert command == "run", line
        sys.stderr.flush()
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            os.dup2(write_end, 1)
            os.close(write_end)
            os._exit(child_of(args))  # no atexit handlers, no buffers flushed twice
        os.close(write_end)  # the child's end: the pipe ends when the child does
        say(f"child {pid}")
        for relayed in relay(read_end):
            say(relayed)
        os.close(read_end)
        _, status = os.waitpid(pid, 0)
        say(f"exit {os.waitstatus_to_exitcode(status)}")


def serve() -> None:
    """Fork one child per `run HOME START DB` line."""
    fork_serve(lambda args: child(Path(args[0]), int(args[1]), database_arg(args[2])))


if __name__ == "__main__":
    serve()
