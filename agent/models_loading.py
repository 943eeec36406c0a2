"""The models an agent uses, each loaded once, on first use (kept apart from the turn loop of
agent/core.py, which imports it)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: both modules load torch
    from agent.memory.store import Encoder
    from agent.turn import Generator


class Models:
    """The encoder and the generator, each loaded once, on first use.

    Loaders report what they are doing through `report`; whoever shows progress (the command
    line's stderr, the UI's status line) sets `progress`. The UI loads them in a background
    thread while the user types; a turn that needs a model meanwhile waits for that load. One
    lock serialises all loading: two loads at once would import transformers in two threads,
    which fails ("cannot import name ...").
    """

    def __init__(
        self,
        load_encoder: Callable[[], Encoder],
        load_generator: Callable[[], Generator],
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self._load_encoder, self._load_generator = load_encoder, load_generator
        self.progress = progress
        self._encoder: Encoder | None = None
        self._generator: Generator | None = None
        self._loading = threading.Lock()

    def report(self, message: str) -> None:
        if self.progress is not None:
            self.progress(message)

    @property
    def encoder(self) -> Encoder:
        with self._loading:
            if self._encoder is None:
                self._encoder = self._load_encoder()
            return self._encoder

    @property
    def generator(self) -> Generator:
        with self._loading:
            if self._generator is None:
                self._generator = self._load_generator()
            return self._generator

    @property
    def loaded(self) -> bool:
        """Both models are in memory: a turn will not wait for a load."""
        return self._encoder is not None and self._generator is not None
