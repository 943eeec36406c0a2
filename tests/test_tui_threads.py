"""Thread workers run on threads that end with their work (tui/threads.py): an idle thread
that once ran torch keeps an OpenMP team, which made every later reply twice as slow."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from tests.conftest import make_fake_agent
from tests.waiting import until
from tui.app import MemchatApp
from tui.threads import ThreadPerTask


def test_each_task_has_a_thread_that_ends_with_it() -> None:
    executor = ThreadPerTask()
    threads = [executor.submit(threading.current_thread).result() for _ in range(3)]
    assert len({id(t) for t in threads}) == 3 and threading.current_thread() not in threads
    for thread in threads:
        thread.join(5)
        assert not thread.is_alive()
    executor.shutdown()


def test_a_task_s_error_reaches_its_future_and_shutdown_waits() -> None:
    executor = ThreadPerTask()
    with pytest.raises(ZeroDivisionError):
        executor.submit(lambda: 1 / 0).result()
    gate, done = threading.Event(), []
    future = executor.submit(lambda: (gate.wait(5), done.append(1)))
    threading.Timer(0.05, gate.set).start()
    executor.shutdown(wait=True)
    assert done == [1] and future.done()
    with pytest.raises(RuntimeError):
        executor.submit(print)


async def test_the_app_s_thread_workers_end_with_their_work(tmp_path: Path) -> None:
    app = MemchatApp(make_fake_agent(tmp_path), load_models=False)
    async with app.run_test() as pilot:
        assert isinstance(asyncio.get_running_loop()._default_executor, ThreadPerTask)  # type: ignore[attr-defined]
        ran: list[threading.Thread] = []
        worker = app.run_worker(lambda: ran.append(threading.current_thread()), thread=True)
        await worker.wait()
        await until(pilot, lambda: not ran[0].is_alive(), "the worker's thread ended")
        assert ran[0] is not threading.current_thread()
