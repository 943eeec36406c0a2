"""The crash test's worker: scripted chat turns through the real Agent (fake models) on a file
database, to be killed at any moment and started again.

Run as `python -m tests.workers.crash_turns`: a fork server. Importing the agent (torch)
takes seconds; forking a child from a process that has imported it takes milliseconds, so a
test can kill and restart a dozen times in a few seconds. The server itself never touches the
database: each child opens it as a fresh process would (engine, migration, agent) and is the
one killed, a real process dying with its connections and transactions open.

Protocol, one line each way: the test writes `run HOME START` (the database is HOME/memchat.db;
START = TURNS only opens it); the child prints `child PID`,
`opened` once the agent is ready (database created and migrated), `turn N USER_TURN_ID
REPLY_TURN_ID` after each turn N has returned, and `done` after the last turn; the server prints
`exit STATUS` (-9 for SIGKILL) when the child has ended. End of input ends the server.
"""

from __future__ import annotations

import os
import sys
import traceback
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


def run_turns(home: Path, start: int) -> None:
    """Open the database as a new process would, then run turns `start`.. to the end."""
    agent, generator = fake_agent(home, capacity=CAPACITY)
    print("opened", flush=True)
    for turn in range(start, TURNS):
        generator.reply = reply(turn)
        result = agent.ask(message(turn))
        print(f"turn {turn} {result.user_turn_id} {result.reply_turn_id}", flush=True)
    print("done", flush=True)


def child(home: Path, start: int) -> int:
    """The forked child's life; its exit status (1 after an error, traceback on stderr)."""
    print(f"child {os.getpid()}", flush=True)
    try:
        run_turns(home, start)
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
        return 1
    return 0


def serve() -> None:
    """Fork one child per `run HOME START` line; report how each ended."""
    for line in sys.stdin:
        command, home, start = line.split()
        assert command == "run", line
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            os._exit(child(Path(home), int(start)))  # no atexit handlers, no buffers flushed twice
        _, status = os.waitpid(pid, 0)
        print(f"exit {os.waitstatus_to_exitcode(status)}", flush=True)


if __name__ == "__main__":
    serve()
