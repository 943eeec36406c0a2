"""A thread per thread worker, ended when its work is done.

Textual runs thread workers on asyncio's default executor, whose threads live on, idle, after
their work. Each thread that runs torch's parallel operations keeps an OpenMP thread team of
its own, and once there are more OpenMP threads than cores, GNU OpenMP stops spinning between
parallel regions and puts its threads to sleep after each one: a reply generated on one
executor thread while another (the one that loaded the models) lives on took twice as long
(prefill 0.31 against 0.16 s, 17 against 9 ms a token, on 2 cores). A thread that ends frees
its team, so the reply's thread has the cores to itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


class ThreadPerTask(ThreadPoolExecutor):
    """An executor (asyncio requires a `ThreadPoolExecutor`) that runs each task on a new
    thread, which ends with it."""

    def __init__(self, name: str = "worker") -> None:
        super().__init__(max_workers=1, thread_name_prefix=name)
        self._name = name
        self._started = 0
        self._running: set[threading.Thread] = set()
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot schedule new futures after shutdown")
            self._started += 1
            thread = threading.Thread(
                target=self._run,
                args=(future, fn, args, kwargs),
                name=f"{self._name}_{self._started}",
            )
            self._running.add(thread)
        thread.start()
        return future

    def _run(
        self,
        future: Future[Any],
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        try:
            if future.set_running_or_notify_cancel():
                try:
                    result = fn(*args, **kwargs)
                except BaseException as exc:
                    future.set_exception(exc)
                else:
                    future.set_result(result)
        finally:
            with self._lock:
                self._running.discard(threading.current_thread())

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._closed = True
            running = list(self._running)
        if wait:
            for thread in running:
                thread.join()
        super().shutdown(wait=wait, cancel_futures=cancel_futures)
