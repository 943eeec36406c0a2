"""The test side of a worker's fork server (tests/workers/crash_turns.py, profile_ops.py): the
server process, its output lines on a queue (read by a thread), and the child it forked last."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINE_TIMEOUT_S = 60.0  # no line from the worker for this long: it hangs


class Server:
    """A fork server (`python -m MODULE`) started in `home`, its stderr kept in a file."""

    def __init__(self, home: Path, module: str = "tests.workers.crash_turns") -> None:
        self.stderr_path = home / "worker-stderr.txt"
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        with self.stderr_path.open("w") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", module],
                cwd=ROOT,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.child: int | None = None

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.strip())
        self.lines.put("eof")

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def line(self, timeout: float = LINE_TIMEOUT_S) -> str | None:
        """The next line, or None when none came within `timeout` seconds."""
        try:
            return self.lines.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return None

    def kill_child(self) -> None:
        if self.child is not None:
            with contextlib.suppress(ProcessLookupError):  # it ended on its own meanwhile
                os.kill(self.child, signal.SIGKILL)

    def stderr_tail(self) -> str:
        return self.stderr_path.read_text()[-3000:]

    def close(self) -> None:
        """Kill the child and the server, whatever state they are in."""
        self.kill_child()
        self.process.kill()
        self.process.wait(timeout=10)
        assert self.process.stdin is not None
        with contextlib.suppress(OSError):  # a broken pipe: it is gone anyway
            self.process.stdin.close()
