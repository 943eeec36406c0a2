"""The inspector shows where an imported memory came from: the conversation's source, title
and date, and the message's own date (Pilot and snapshot)."""

from __future__ import annotations

from datetime import datetime

from textual.pilot import Pilot

from agent.core import Agent
from agent.history.conversation import Conversation, Message
from agent.history.formats import Export
from agent.history.importer import ImportOptions, import_export
from tests.test_tui_inspector import detail_text, ids, open_inspector, table
from tui.app import MemchatApp


def imported(agent: Agent) -> None:
    """One ChatGPT conversation of 5 March 2024: memories 1 (turn), 2 (fact lives in = Lyon),
    3 (the assistant's turn)."""
    conversation = Conversation(
        "conv-lyon",
        "Moving to [b]Lyon[/b]",
        datetime(2024, 3, 5, 10, 0),
        [
            Message("m1", "user", "I live in Lyon.", datetime(2024, 3, 5, 10, 0)),
            Message("m2", "assistant", "Lyon is lovely.", datetime(2024, 3, 5, 10, 1)),
        ],
    )
    options = ImportOptions("/home/sam/chatgpt-export.zip")
    import_export(agent, Export("chatgpt", [conversation]), options)


async def select_memory(pilot: Pilot, memory_id: int) -> None:
    screen = pilot.app.screen
    while ids(screen)[table(screen).cursor_row] != memory_id:  # type: ignore[arg-type]
        await pilot.press("down")


async def test_inspector_shows_the_source_conversation_and_date(tui_agent: Agent) -> None:
    imported(tui_agent)
    app = MemchatApp(tui_agent, load_models=False)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await open_inspector(pilot)
        await select_memory(pilot, 2)  # the fact, extracted from the user's message
        detail = detail_text(screen)
        assert "turn 1 · user · 2024-03-05 10:00:00" in detail
        assert (
            'imported: ChatGPT conversation "Moving to [b]Lyon[/b]" of 2024-03-05, from '
            "/home/sam/chatgpt-export.zip (session 1)" in detail
        )  # markup in a title is shown as typed
        assert "created 2024-03-05 10:00" in detail


def test_snapshot_imported_memory(tui_agent: Agent, snap_compare) -> None:  # type: ignore[no-untyped-def]
    imported(tui_agent)
    app = MemchatApp(tui_agent, load_models=False)
    assert snap_compare(app, terminal_size=(120, 40), press=["f3", "down"])
