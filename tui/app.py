"""The Textual app. It is handed an agent built by the bootstrap and creates no engine or model."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from textual import events, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from agent.bootstrap import resume_collection
from agent.errors import MemchatError
from tui.render import one_line
from tui.screens.chat import ChatScreen
from tui.screens.help import HelpScreen
from tui.screens.loading import ModelErrorScreen, load_models
from tui.threads import ThreadPerTask

if TYPE_CHECKING:
    from agent.core import Agent


STARTING = "Starting memchat: type away, the first reply waits for it."


# The screens other than the chat are imported when first opened, not while memchat starts.
def _inspector() -> Screen:
    from tui.screens.inspector import InspectorScreen

    return InspectorScreen()


def _profiles() -> Screen:
    from tui.screens.profiles import ProfilesScreen

    return ProfilesScreen()


def _review() -> Screen:
    from tui.screens.review import ReviewScreen

    return ReviewScreen()


class MemchatApp(App[None]):
    TITLE = "memchat"
    CSS_PATH = "memchat.tcss"
    BINDINGS = [
        Binding("f1", "help", "Help"),
        Binding("f2", "chat", "Chat"),
        Binding("f3", "inspector", "Memories"),
        Binding("f4", "profiles", "Profiles"),
        Binding("f5", "review", "Review"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]
    MODES = {
        "chat": ChatScreen,
        "inspector": _inspector,
        "profiles": _profiles,
        "review": _review,
    }

    def __init__(self, agent: Agent | Callable[[], Agent], load_models: bool = True) -> None:
        """`agent` is the agent, or what builds it (`memchat chat`): then the chat comes up
        first and the agent is built in the background, since building it imports torch (about
        a second). A message sent meanwhile waits for it; a build that fails ends the app with
        `start_error` set, for the command line to show on one line."""
        super().__init__()
        self._build = agent if callable(agent) else None
        self._agent: Agent | None = None if callable(agent) else agent
        self._built = threading.Event()  # set once the build has ended, either way
        if self._agent is not None:
            self._built.set()
        self.start_error: Exception | None = None
        self.load_models = load_models

    @property
    def agent(self) -> Agent:
        """The agent; the chat's input is the only thing shown before it is built (see
        `agent_ready`)."""
        if self._agent is None:
            raise RuntimeError("the agent is not built yet")
        return self._agent

    @property
    def agent_ready(self) -> bool:
        return self._agent is not None

    @property
    def answers_at_once(self) -> bool:
        """The agent is built and its models loaded: a message will not wait."""
        return self._agent is not None and self._agent.models.loaded

    def wait_for_agent(self) -> Agent:
        """The agent, once built (call from a worker thread, never the UI's)."""
        self._built.wait()
        if self._agent is None:
            raise MemchatError(f"memchat could not start: {self.start_error}")
        return self._agent

    async def on_mount(self) -> None:
        # Thread workers (the start, each reply, each search) each get a thread that ends with
        # them: an idle thread kept by the default executor slows torch down (tui/threads.py).
        asyncio.get_running_loop().set_default_executor(ThreadPerTask())
        self._show_profile()
        if self._build is None:
            self.switch_mode("chat")
            if self.load_models:
                self.start_in_background()
            return
        await self.switch_mode("chat")  # mounted, its input focused
        # Built after the chat is drawn: the input is usable before the build takes the CPU
        # (2 cores, one GIL) to import torch.
        self.call_after_refresh(self.start_in_background)

    @work(thread=True, exit_on_error=False, group="start")
    def start_in_background(self) -> None:
        """Build the agent if the app was not handed one, then load the models: the chat is
        usable meanwhile, its status line says what is happening. Garbage collection, paused
        by `memchat chat` for the start's imports, resumes once the agent is built: before the
        models load, since a first start's conversion leaves ~0.5 GB of garbage to collect."""
        try:
            built = self._agent is not None or self._build_agent()
        finally:
            resume_collection()
        if built and self.load_models:
            self._load_models()

    def _build_agent(self) -> bool:
        """Build the agent (in the worker thread); False, with the app ending, if that failed."""
        assert self._build is not None
        self.call_from_thread(self._model_status, STARTING)
        try:
            agent = self._build()
        except Exception as exc:  # the command line shows it as it shows any command's error
            self.start_error = exc
            self._built.set()
            self.call_from_thread(self.exit, None, 1)
            return False
        self._agent = agent
        self._built.set()
        self.call_from_thread(self._show_profile)
        if not self.load_models:
            self.call_from_thread(self._model_status, None)
        return True

    def _load_models(self) -> None:
        """Load the models (in the worker thread); a model that fails opens ModelErrorScreen."""
        started = time.perf_counter()

        def note(message: str) -> None:
            self.call_from_thread(self._model_status, message)

        note("Loading the models: type away, the first reply waits for them.")
        failure = load_models(self.agent, note)
        if failure is not None:
            self.call_from_thread(self._model_status, None)
            self.call_from_thread(self.push_screen, ModelErrorScreen(failure))
            return
        self.call_from_thread(self._model_status, None)
        self.call_from_thread(self._show_profile)
        self.call_from_thread(
            self.notify, f"Models ready ({time.perf_counter() - started:.1f} s).", timeout=2
        )

    def _show_profile(self) -> None:
        """The header: the profile, and which model answers once it is loaded."""
        if self._agent is None:
            return
        self.sub_title = f"profile: {self._agent.profile_name}"
        if self._agent.models.loaded:
            self.sub_title += f" · model: {one_line(self._agent.models.generator.name, 60)}"

    def _model_status(self, message: str | None) -> None:
        """Show `message` in the chat's model status line (None hides it)."""
        for screen in self._screen_stacks.get("chat", []):
            show = getattr(screen, "model_status", None)
            if show is not None:
                show(message)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        # A blinking cursor would make headless screenshots (snapshot tests) differ by timing.
        if self.is_headless and hasattr(event.widget, "cursor_blink"):
            event.widget.cursor_blink = False

    def profile_changed(self) -> None:
        """Called after a switch, reset or delete: every screen shows the new state."""
        self._show_profile()
        self._tell_screens("reload")

    def proposals_changed(self) -> None:
        """Called when the chat made proposals or one was decided: the review screen and the
        chat's memory panel show them as they are now."""
        self._tell_screens("proposals_changed")

    def _tell_screens(self, hook: str) -> None:
        """Call `hook` on every screen of every mode that has it."""
        for mode in self.MODES:
            for screen in self._screen_stacks.get(mode, []):
                refresh = getattr(screen, hook, None)
                if refresh is not None:
                    refresh()

    def action_chat(self) -> None:
        self.switch_mode("chat")

    def action_inspector(self) -> None:
        self._switch_when_ready("inspector")

    def action_profiles(self) -> None:
        self._switch_when_ready("profiles")

    def action_review(self) -> None:
        self._switch_when_ready("review")

    def _switch_when_ready(self, mode: str) -> None:
        """Open a screen that shows the agent's data, once there is an agent."""
        if self._agent is None:
            self.notify("memchat is still starting: try again in a moment.", severity="warning")
            return
        self.switch_mode(mode)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Every action in the command palette (ctrl+p)."""
        yield from super().get_system_commands(screen)
        yield SystemCommand("Chat", "Go to the chat (F2)", self.action_chat)
        yield SystemCommand(
            "Memories", "Inspect, search and edit memories (F3)", self.action_inspector
        )
        yield SystemCommand(
            "Profiles", "Create, switch, reset, delete profiles (F4)", self.action_profiles
        )
        yield SystemCommand(
            "Review", "Accept, edit or reject proposed memories (F5)", self.action_review
        )
        yield SystemCommand("Help", "Keys and what memchat does (F1)", self.action_help)
        commands = getattr(screen, "palette_commands", None)
        if commands is not None:
            yield from commands()
