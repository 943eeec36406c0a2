"""A writer process for tests/test_postgres_writers.py: chats N turns into one profile of the
database given, with the fake models, logging each turn's ids and what it wrote.

    python -m tests.postgres_writer DB_URL NAME TURNS LOG
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from tests.workers.common import JsonLog, fake_agent


def name_for(writer: str, i: int) -> str:
    """A name the extraction takes as one ("Ab", "Abb", ...): letters only, unique per turn."""
    letters = ""
    while True:
        i, digit = divmod(i, 26)
        letters += chr(ord("a") + digit)
        if not i:
            return writer.upper() + letters


def main(db_url: str, name: str, turns: int, log_path: Path) -> int:
    agent, _ = fake_agent(Path(tempfile.mkdtemp(prefix=f"writer-{name}-")), db=db_url)
    log = JsonLog(log_path)
    for i in range(turns):
        # every turn updates the one "name" slot both writers share: a lost update would show
        # as a broken chain of old and new values in its history
        result = agent.ask(f"My name is {name_for(name, i)} and I am vegetarian.")
        written = [(w.kind, w.action, w.id) for w in result.written]
        log.write("turn", turn=result.user_turn_id, reply=result.reply_turn_id, written=written)
    log.write("done")
    return 0


if __name__ == "__main__":
    url, who, count, path = sys.argv[1:5]
    sys.exit(main(url, who, int(count), Path(path)))
