"""The one place that builds the engine, the models and the agent."""

from __future__ import annotations

from collections.abc import Callable

from agent.core import Agent, Models
from agent.errors import MemchatError
from agent.memory.store import Encoder
from agent.settings import Settings
from agent.turn import Generator
from storage.db import StorageError, make_engine, session_factory


def build_agent(settings: Settings, progress: Callable[[str], None] | None = None) -> Agent:
    """Open (and migrate) the database; models load on first use, reporting to `progress`."""
    try:
        engine = make_engine(settings.db_url)
    except StorageError as exc:
        raise MemchatError(str(exc)) from exc

    def encoder() -> Encoder:
        models.report("Loading the encoder ...")
        from agent.models.encoder import load_encoder  # torch and the models load only when needed

        return load_encoder(settings)

    def generator() -> Generator:
        from agent.models.backends import load_chat_model

        return load_chat_model(settings, models.report)

    models = Models(encoder, generator, progress)
    return Agent(settings, session_factory(engine), models)
