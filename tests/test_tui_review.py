"""Review mode in the UI: proposals in the chat's memory panel, the review screen (F5), and the
whole path from a chat message to an edited, accepted memory in the inspector."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Static, TextArea

from agent.core import Agent, Models
from tests.conftest import make_fake_agent
from tests.fakes import FakeEncoder, FakeGenerator
from tests.test_tui_chat import panel_text, send, settle
from tui.app import MemchatApp
from tui.dialogs import EditMemoryDialog
from tui.screens.inspector import InspectorScreen
from tui.screens.review import ReviewScreen
from tui.widgets.memory_detail import MemoryDetailView
from tui.widgets.panel_rows import ProposalRow

MESSAGE = "I'm vegetarian and I like jazz"


@pytest.fixture
def reviewing(tmp_path: Path, fixed_clock: None) -> Agent:
    """An agent with fake models in review mode, on a fresh database."""
    return make_fake_agent(tmp_path, review=True)


def rows(screen: ReviewScreen) -> list[list[str]]:
    table = screen.query_one(DataTable)
    return [[cell.plain for cell in table.get_row_at(i)] for i in range(table.row_count)]


def shown(screen: ReviewScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def open_review(pilot: Pilot) -> ReviewScreen:
    await pilot.press("f5")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, ReviewScreen)
    return screen


async def test_review_mode_end_to_end(reviewing: Agent) -> None:
    app = MemchatApp(reviewing, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, MESSAGE)
        await settle(pilot)
        text = panel_text(app)
        assert "proposed #1 preference diet = vegetarian" in text
        assert "proposed #2 preference likes = jazz" in text
        assert [m.kind for m in reviewing.list_memories()] == ["turn"]  # nothing stored yet

        screen = await open_review(pilot)
        assert rows(screen) == [
            ["1", "preference", "diet", "vegetarian", MESSAGE],
            ["2", "preference", "likes", "jazz", MESSAGE],
        ]
        assert "2 proposals waiting · review mode on" in shown(screen, "#review-summary")
        assert MESSAGE in shown(screen, "#review-source")
        # e: edit, then accept
        await pilot.press("e")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, EditMemoryDialog)
        await pilot.press("tab", "f7", *"vegan")  # to the value, select it all, type over it
        assert dialog.query_one("#value", TextArea).text == "vegan"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is screen
        assert rows(screen) == [["2", "preference", "likes", "jazz", MESSAGE]]
        # r: reject
        await pilot.press("r")
        await pilot.pause()
        assert rows(screen) == [] and not screen.query_one(DataTable).display
        assert "No proposals waiting. Review mode is on" in shown(screen, "#review-empty")

        stored = [(m.kind, m.key_text, m.value_text) for m in reviewing.list_memories()]
        dated = f"2 January 2026 User: {MESSAGE}"  # a turn's key: its day and speaker first
        assert stored == [("turn", dated, MESSAGE), ("preference", "diet", "vegan")]
        statuses = [(p.id, p.status) for p in reviewing.proposals(None)]
        assert statuses == [(1, "accepted"), (2, "rejected")]

        # the inspector shows the accepted memory, from the chat turn
        await pilot.press("f3")
        await pilot.pause()
        inspector = app.screen
        assert isinstance(inspector, InspectorScreen)
        inspector.query_one(DataTable).move_cursor(row=1)
        await pilot.pause()
        view = inspector.query_one(MemoryDetailView)
        detail = "\n".join(str(w.render()) for w in view.query(Static) if w.display)
        assert "preference" in detail and "Value vegan" in detail
        assert f"turn 1 · user · 2026-01-02 03:04:05\n{MESSAGE}" in detail

        # back in the chat, the panel shows the decisions
        await pilot.press("f2")
        await pilot.pause()
        text = panel_text(app)
        assert "accepted #1 preference diet = vegan" in text
        assert "rejected #2 preference likes = jazz" in text
        assert all(b.disabled for row in app.screen.query(ProposalRow) for b in row.query("Button"))


async def test_panel_accepts_and_rejects_inline(reviewing: Agent) -> None:
    app = MemchatApp(reviewing, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, MESSAGE)
        await settle(pilot)
        diet, jazz = app.screen.query(ProposalRow)
        await pilot.click(diet.query_one(".accept"))
        await pilot.pause()
        await pilot.click(jazz.query_one(".reject"))
        await pilot.pause()
        text = panel_text(app)
        assert "accepted #1 preference diet = vegetarian" in text
        assert "rejected #2 preference likes = jazz" in text
        assert diet.query_one(".accept").disabled and jazz.query_one(".reject").disabled
        screen = await open_review(pilot)
        assert rows(screen) == []
    prefs = [(m.key_text, m.value_text) for m in reviewing.list_memories("preference")]
    assert prefs == [("diet", "vegetarian")]


async def test_review_screen_refreshes_when_the_chat_proposes(tmp_path: Path, fixed_clock) -> None:
    agent = make_fake_agent(tmp_path, review=True)
    release = threading.Event()

    def slow_generator() -> FakeGenerator:
        release.wait(10)  # the turn (and its proposals) waits until the review screen is shown
        return FakeGenerator()

    agent.models = Models(FakeEncoder, slow_generator)
    app = MemchatApp(agent, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, MESSAGE)
        screen = await open_review(pilot)
        assert rows(screen) == []
        release.set()
        await settle(pilot)
        assert [row[2] for row in rows(screen)] == ["diet", "likes"]
        assert any("2 proposals waiting" in n.message for n in app._notifications)


async def test_empty_state_says_how_to_switch_review_mode(tui_agent: Agent) -> None:
    app = MemchatApp(tui_agent, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_review(pilot)
        empty = shown(screen, "#review-empty")
        assert "No proposals. Review mode is off" in empty
        assert f"set review = true in {tui_agent.settings.home / 'config.toml'}" in empty
        await pilot.press("a", "e", "r")  # nothing to act on: no dialog, no error
        await pilot.pause()
        assert app.screen is screen
        assert screen.check_action("accept", ()) is None


async def test_edit_cancelled_and_markup_shown_literally(reviewing: Agent) -> None:
    markup = "I like [bold]jazz[/bold]"
    reviewing.ask(markup)
    app = MemchatApp(reviewing, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_review(pilot)
        assert rows(screen) == [["1", "preference", "likes", "[bold]jazz[/bold]", markup]]
        assert markup in shown(screen, "#review-source")
        await pilot.press("e")
        await pilot.pause()
        assert app.screen.query_one("#value", TextArea).text == "[bold]jazz[/bold]"
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen and len(rows(screen)) == 1
        await pilot.press("a")
        await pilot.pause()
        assert any(
            n.message == "accepted proposal #1: memory #2 likes = [bold]jazz[/bold]"
            for n in app._notifications
        )
    assert [m.value_text for m in reviewing.list_memories("preference")] == ["[bold]jazz[/bold]"]


async def test_review_is_in_the_palette_help_and_footer(reviewing: Agent) -> None:
    app = MemchatApp(reviewing, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert "Review" in titles
        screen = await open_review(pilot)
        titles = {c.title for c in app.get_system_commands(screen)}
        assert {"Review: accept proposal", "Review: reject proposal"} <= titles
        await pilot.press("f1")
        await pilot.pause()
        help_text = app.screen.query_one("Markdown").source
        assert "F5" in help_text and "review" in help_text.lower()


# ------------------------------------------------------------ snapshots


def test_snapshot_review_screen(reviewing: Agent, snap_compare) -> None:
    reviewing.ask(MESSAGE)
    reviewing.ask("I like [bold]rock[/bold]")
    app = MemchatApp(reviewing, load_models=False)
    assert snap_compare(app, terminal_size=(120, 30), press=["f5"])


def test_snapshot_review_empty(tui_agent: Agent, snap_compare) -> None:
    # the empty state names the config file: a fixed home keeps the picture the same every run
    tui_agent.settings = replace(tui_agent.settings, home=Path("/home/you/.memchat"))
    app = MemchatApp(tui_agent, load_models=False)
    assert snap_compare(app, terminal_size=(80, 24), press=["f5"])


def test_snapshot_panel_with_proposals(reviewing: Agent, snap_compare) -> None:
    async def converse(pilot: Pilot) -> None:
        await send(pilot, MESSAGE)
        await settle(pilot)

    app = MemchatApp(reviewing, load_models=False)
    assert snap_compare(app, terminal_size=(120, 30), run_before=converse)
