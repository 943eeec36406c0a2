"""The Textual app. It is handed an agent built by the bootstrap and creates no engine or model."""

from __future__ import annotations

import time
from collections.abc import Iterable

from textual import events, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from agent.core import Agent
from tui.render import one_line
from tui.screens.chat import ChatScreen
from tui.screens.help import HelpScreen
from tui.screens.inspector import InspectorScreen
from tui.screens.loading import ModelErrorScreen, load_models
from tui.screens.profiles import ProfilesScreen
from tui.screens.review import ReviewScreen


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
        "inspector": InspectorScreen,
        "profiles": ProfilesScreen,
        "review": ReviewScreen,
    }

    def __init__(self, agent: Agent, load_models: bool = True) -> None:
        super().__init__()
        self.agent = agent
        self.load_models = load_models

    def on_mount(self) -> None:
        self._show_profile()
        self.switch_mode("chat")
        if self.load_models:
            self.load_in_background()

    @work(thread=True, exit_on_error=False, group="models")
    def load_in_background(self) -> None:
        """Load the models while the chat is already usable; its status line shows progress."""
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
        self.call_from_thread(self._show_model)
        self.call_from_thread(
            self.notify, f"Models ready ({time.perf_counter() - started:.1f} s).", timeout=2
        )

    def _show_profile(self) -> None:
        """The header: the profile, and which model answers once it is loaded."""
        self.sub_title = f"profile: {self.agent.profile_name}"
        if self.agent.models.loaded:
            self.sub_title += f" · model: {one_line(self.agent.models.generator.name, 60)}"

    def _show_model(self) -> None:
        self._show_profile()

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
        self.switch_mode("inspector")

    def action_profiles(self) -> None:
        self.switch_mode("profiles")

    def action_review(self) -> None:
        self.switch_mode("review")

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
