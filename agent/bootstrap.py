"""The one place that builds the engine, the models and the agent."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from agent.errors import MemchatError
from agent.models_loading import Models
from agent.settings import Settings
from storage.db import StorageError, make_engine, session_factory

if TYPE_CHECKING:
    from agent.core import Agent
    from agent.memory.store import Encoder
    from agent.turn import Generator


def build_agent(settings: Settings, progress: Callable[[str], None] | None = None) -> Agent:
    """Open (and migrate) the database; models load on first use, reporting to `progress`.

    The database opens before agent.core is imported (it loads torch, about a second): a
    database that cannot be opened fails at once, and the chat UI, which builds the agent in
    the background, shows that error without waiting for torch."""
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
