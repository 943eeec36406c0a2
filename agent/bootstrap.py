"""The one place that builds the engine, the models and the agent.

Light to import (no SQLAlchemy, no torch): `memchat chat` imports it before its UI is up."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from agent.errors import MemchatError
from agent.models_loading import Models
from agent.settings import Settings

if TYPE_CHECKING:
    from agent.core import Agent
    from agent.memory.store import Encoder
    from agent.turn import Generator


def build_agent(settings: Settings, progress: Callable[[str], None] | None = None) -> Agent:
    """Open (and migrate) the database; models load on first use, reporting to `progress`.

    The database opens before agent.core is imported (it loads torch, about a second): a
    database that cannot be opened fails at once, and the chat UI, which builds the agent in
    the background, shows that error without waiting for torch."""
    from storage.db import StorageError, make_engine, session_factory

    try:
        engine = make_engine(settings.db_url)
    except StorageError as exc:
        raise MemchatError(str(exc)) from exc
    from agent.core import Agent

    def encoder() -> Encoder:
        models.report("Loading the encoder ...")
        from agent.models.encoder import load_encoder  # torch and the models load only when needed

        return load_encoder(settings)

    def generator() -> Generator:
        from agent.models.backends import load_chat_model

        return load_chat_model(settings, models.report)

    models = Models(encoder, generator, progress)
    return Agent(settings, session_factory(engine), models)


# The start imports torch, SQLAlchemy and the agent's modules: about a million objects that
# live as long as the process. The cyclic garbage collector would walk them again and again
# while they load (~15% of the import time) and in every full collection after.
_collection = threading.Lock()
_paused = False


def pause_collection() -> None:
    """Stop the cyclic garbage collector for a start's imports (no-op if it is off already); call
    `resume_collection` once the start is over."""
    global _paused
    with _collection:
        if gc.isenabled():
            gc.disable()
            _paused = True


def resume_collection() -> None:
    """After a start paused by `pause_collection`: what exists now is frozen (never collected:
    it is the modules and models, which live on; scanning them when collection resumed took
    ~0.15 s of the first reply), and collection resumes for what comes after. Idempotent."""
    global _paused
    with _collection:
        if _paused:
            _paused = False
            gc.freeze()
            gc.enable()
