"""Cold start (issue 22): `memchat chat` shows a usable input before the agent exists.

The command line and the UI import no torch, SQLAlchemy or nltk; the app builds the agent in
the background, a message sent meanwhile waits for it and is then answered, and a build that
fails ends the app with the error the command line shows on one line.
"""

from __future__ import annotations

import gc
import io
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.app import App
from textual.widgets import Static

from agent.bootstrap import pause_collection, resume_collection
from agent.core import Agent
from agent.errors import MemchatError
from tests.conftest import make_fake_agent
from tests.waiting import DEADLINE_S, until
from tui.app import MemchatApp
from tui.screens.inspector import InspectorScreen
from tui.widgets.messages import Reply

CHECK = """
import sys
import {modules}
print(sorted({{name.split('.')[0] for name in sys.modules}} & {heavy!r}))
"""
HEAVY = {"torch", "sqlalchemy", "nltk", "numpy", "transformers", "alembic"}


@pytest.mark.parametrize("modules", ["tui.cli", "tui.cli, tui.app"])
def test_the_chat_start_imports_no_heavy_library(modules: str) -> None:
    """What `memchat chat` imports before its input is up: the agent's libraries load later,
    in the background (torch alone takes about a second)."""
    code = CHECK.format(modules=modules, heavy=HEAVY)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_chat_start_imports_no_other_screen() -> None:
    """The memories, profiles and review screens load when first opened (~20 ms at start)."""
    code = "import sys, tui.app; print(sorted(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    for screen in ["inspector", "profiles", "review"]:
        assert f"'tui.screens.{screen}'" not in out.stdout


def gated_build(home: Path) -> tuple[Callable[[], Agent], threading.Event]:
    """A build of a fake agent that waits until the test opens the gate."""
    gate = threading.Event()

    def build() -> Agent:
        gate.wait(DEADLINE_S)
        return make_fake_agent(home)

    return build, gate


def status_text(app: MemchatApp) -> str:
    return str(app.screen.query_one("#model-status", Static).render())


async def test_a_message_sent_while_the_agent_is_built_is_answered(
    tmp_path: Path, fixed_clock: None
) -> None:
    build, gate = gated_build(tmp_path)
    app = MemchatApp(build)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: "Starting memchat" in status_text(app), "the start shown")
        assert app.focused is app.screen.query_one("#chat-input") and not app.agent_ready
        assert app.sub_title == ""  # the profile is named once the agent is there
        await pilot.press(*"My name is Sam", "enter")
        await pilot.pause(0.05)
        reply = app.screen.query_one(Reply)
        assert "waiting for the models" in str(reply.query_one(".reply-status", Static).render())
        await pilot.press("f3")  # the memories need the agent: not yet, and the app says so
        assert app.screen.__class__.__name__ == "ChatScreen"
        gate.set()
        await until(pilot, lambda: reply.result is not None, "the reply")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert reply.text and not app.screen.query_one("#model-status", Static).display
        assert app.sub_title.startswith("profile: default")
        await pilot.press("f3")
        assert isinstance(app.screen, InspectorScreen)
    assert [m.value_text for m in app.agent.list_memories("preference")] == ["Sam"]


async def test_a_failed_build_ends_the_app_with_its_error(tmp_path: Path) -> None:
    def build() -> Agent:
        raise MemchatError("file is not a database")

    app = MemchatApp(build)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: not app.is_running, "the app ended", timeout_s=DEADLINE_S)
    assert app.return_code == 1 and str(app.start_error) == "file is not a database"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def at_a_terminal_with_a_bad_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Standard input and output look like a terminal; MEMCHAT_DB names a text file."""
    not_db = tmp_path / "text.db"
    not_db.write_text("hello " * 1000)
    monkeypatch.setenv("MEMCHAT_HOME", str(tmp_path))
    monkeypatch.setenv("MEMCHAT_DB", str(not_db))
    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)


def test_chat_with_a_bad_database_says_so_on_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`memchat chat` at a terminal with a file that is not a database: the UI comes up, the
    background build fails, and the command ends with the same one line as any command."""
    from tui import cli

    at_a_terminal_with_a_bad_database(tmp_path, monkeypatch)
    monkeypatch.setattr(MemchatApp, "run", lambda self: App.run(self, headless=True))
    code = cli.main(["chat"])
    _, err = capsys.readouterr()
    assert code == 1 and "not a database" in err
    assert err.startswith("memchat: error: ") and err.count("\n") == 1


@pytest.fixture
def collection_restored() -> Iterator[None]:
    """Garbage collection as it was after the test; what it froze is collectable again."""
    enabled = gc.isenabled()
    yield
    resume_collection()
    gc.unfreeze()
    if enabled:
        gc.enable()


@pytest.mark.usefixtures("collection_restored")
def test_collection_pauses_for_the_start_and_resumes_with_its_objects_frozen() -> None:
    gc.unfreeze()
    pause_collection()
    assert not gc.isenabled()
    kept = [[] for _ in range(1000)]  # what a start imports: it lives on
    resume_collection()
    assert gc.isenabled() and gc.get_freeze_count() >= len(kept)
    gc.disable()  # a caller's own choice: a resume without a pause leaves it be
    resume_collection()
    assert not gc.isenabled()


@pytest.mark.usefixtures("collection_restored")
async def test_the_app_resumes_collection_once_the_agent_is_built(tmp_path: Path) -> None:
    """`memchat chat` pauses collection before it loads the UI; the app resumes it once the
    agent is built (its imports are what the pause speeds up), before the models load (a
    first start's conversion makes garbage that must be collected)."""
    build, gate = gated_build(tmp_path)
    pause_collection()
    app = MemchatApp(build)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: "Starting memchat" in status_text(app), "the start shown")
        assert not gc.isenabled()
        gate.set()
        await until(pilot, lambda: app.agent_ready, "the agent built")
        await until(pilot, lambda: gc.isenabled(), "collection resumed")
        await pilot.app.workers.wait_for_complete()


@pytest.mark.usefixtures("collection_restored")
def test_chat_resumes_collection_when_the_start_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tui import cli

    at_a_terminal_with_a_bad_database(tmp_path, monkeypatch)
    paused: list[bool] = []

    def run(self: MemchatApp) -> None:
        paused.append(not gc.isenabled())
        App.run(self, headless=True)

    monkeypatch.setattr(MemchatApp, "run", run)
    assert cli.main(["chat"]) == 1
    assert paused == [True] and gc.isenabled()
