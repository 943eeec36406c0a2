"""Waiting in tests for something another thread or process does: until it has happened, with
a deadline generous enough for a loaded 2-core machine, never a fixed number of short sleeps
(a busy machine runs past those, and the test fails for no fault of the code)."""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.pilot import Pilot

DEADLINE_S = 60.0  # far beyond what any of these waits takes on a quiet machine (milliseconds)


async def until(
    pilot: Pilot, condition: Callable[[], bool], what: str, timeout_s: float = DEADLINE_S
) -> None:
    """Let the app run until `condition()` holds; fail saying `what` did not happen."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s:.0f} s")
        await pilot.pause(0.01)
