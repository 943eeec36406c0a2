"""Pilot and snapshot tests of the memory inspector (F3)."""

from __future__ import annotations

import re

from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import Button, DataTable, Input, Select, Static, TextArea

from agent.core import Agent
from tests.waiting import until
from tui.app import MemchatApp
from tui.dialogs import ChoiceDialog, ConfirmDialog, EditMemoryDialog
from tui.screens.inspector import DEBOUNCE_S, InspectorScreen
from tui.widgets.memory_detail import MemoryDetailView, MemoryLink

MARKUP = "[bold]x[/bold] [link=http://e.com]y[/link]"


def fill(agent: Agent) -> None:
    """A turn with its 'likes: hiking' preference (ids 1, 2), then a fact and a note (3, 4)."""
    agent.ask("I love hiking")
    agent.add_memory("sister", "my sister is Alice", "fact")
    agent.add_memory("parking", "the car is on level 3", "note")


async def open_inspector(pilot: Pilot) -> InspectorScreen:
    await pilot.press("f3")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, InspectorScreen)
    return screen


async def settle(pilot: Pilot) -> None:
    """Let a search run: the debounce, the worker thread, then the table update (the summary
    line names the query once its read is shown)."""
    screen = pilot.app.screen
    query = screen.query_one("#search", Input).value.strip()

    def shown() -> bool:
        summary = str(screen.query_one("#summary", Static).render())
        return (f"for {query!r}" in summary) == bool(query)

    await pilot.pause(DEBOUNCE_S)
    await until(pilot, shown, f"the search for {query!r} shown")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def search(pilot: Pilot, query: str) -> None:
    """Type a query in the search box and press Enter (which searches at once)."""
    await pilot.press("slash", *query, "enter")
    await settle(pilot)


def table(screen: InspectorScreen) -> DataTable:
    return screen.query_one(DataTable)


def column(screen: InspectorScreen, label: str) -> list[str]:
    """The plain text of one column, top to bottom."""
    t = table(screen)
    index = [str(c.label) for c in t.ordered_columns].index(label)
    cells = [t.get_row_at(row)[index] for row in range(t.row_count)]
    assert all(isinstance(cell, Text) for cell in cells)
    return [cell.plain for cell in cells]


def ids(screen: InspectorScreen) -> list[int]:
    return [int(value) for value in column(screen, "id")]


def detail_text(screen: InspectorScreen) -> str:
    """Everything the detail pane shows: head, source turn, chain links, history, reads."""
    view = screen.query_one(MemoryDetailView)
    return "\n".join(str(w.render()) for w in view.query(Static) if w.display)


def screen_text(pilot: Pilot) -> str:
    """What the terminal shows, as plain text."""
    return "\n".join(strip.text for strip in pilot.app.screen._compositor.render_strips())


async def test_table_lists_memories(tui_agent: Agent) -> None:
    fill(tui_agent)
    tui_agent.ask("Where do I go hiking")  # turn 3 (memory 5) reads the memories about hiking
    app = MemchatApp(tui_agent, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_inspector(pilot)
        labels = [str(c.label) for c in table(screen).ordered_columns]
        assert labels == ["id", "kind", "key", "value", "usage", "pin", "updated"]
        assert ids(screen) == [1, 2, 3, 4, 5]
        assert column(screen, "kind") == ["turn", "preference", "fact", "note", "turn"]
        values = ["I love hiking", "hiking", "my sister is Alice", "the car is on level 3"]
        assert column(screen, "value")[:4] == values
        assert column(screen, "updated")[0] == "2026-01-02 03:04"
        assert "#1 turn" in detail_text(screen)
        assert "I love hiking" in detail_text(screen)
        await pilot.press("down")
        detail = detail_text(screen)
        assert "#2 preference" in detail and "Value hiking" in detail
        assert "Source turn" in detail and "turn 1 · user" in detail
        read = next(line for line in detail.splitlines() if line.startswith("turn 3 "))
        assert re.fullmatch(r"turn 3 +[█·]{10} 0\.\d{3}  rank \d  score [\d.]+", read)
        assert "5 of 5 memories" in screen_text(pilot)


async def test_live_search_orders_by_weight(tui_agent: Agent) -> None:
    fill(tui_agent)
    app = MemchatApp(tui_agent, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_inspector(pilot)
        await pilot.press("slash", *"sister")  # no Enter: the search runs as you type
        await settle(pilot)
        assert "weight" in [str(c.label) for c in table(screen).ordered_columns]
        weights = [float(cell.split()[-1]) for cell in column(screen, "weight")]
        assert ids(screen)[0] == 3
        assert weights == sorted(weights, reverse=True)
        assert weights[0] > 0.5
        assert column(screen, "weight")[0].startswith("█")
        assert "by weight for 'sister'" in screen_text(pilot)
        assert "#3 fact" in detail_text(screen) and "search weight" in detail_text(screen)
        await pilot.press("escape")  # clears the search: every memory, by id, no weights
        await settle(pilot)
        assert screen.query_one("#search", Input).value == ""
        assert ids(screen) == [1, 2, 3, 4]
        assert ids(screen)[table(screen).cursor_row] == 3  # still the memory that was selected
        assert "weight" not in [str(c.label) for c in table(screen).ordered_columns]


async def test_kind_filter_applies_to_list_and_search(tui_agent: Agent) -> None:
    fill(tui_agent)
    tui_agent.add_memory("brother", "my brother is Bob", "fact")
    app = MemchatApp(tui_agent, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_inspector(pilot)
        screen.query_one("#kind", Select).value = "fact"
        await pilot.pause()
        assert ids(screen) == [3, 5]
        assert set(column(screen, "kind")) == {"fact"}
        await search(pilot, "my brother")
        assert ids(screen) == [5, 3]
        screen.query_one("#kind", Select).value = "note"
        await settle(pilot)
        assert ids(screen) == [4]
        screen.query_one("#kind", Select).value = "all"
        await settle(pilot)
        assert sorted(ids(screen)) == [1, 2, 3, 4, 5]


async def test_kind_filter_by_keyboard(tui_agent: Agent) -> None:
    fill(tui_agent)
    app = MemchatApp(tui_agent, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_inspector(pilot)
        screen.action_filter_kind()  # the palette's "Filter memories by kind"
        await pilot.pause()
        await pilot.press("down", "down", "enter")  # All kinds -> turn -> preference
        await pilot.pause()
        assert column(screen, "kind") == ["preference"]


async def test_edit_through_dialog(tui_agent: Agent) -> None:
    fill(tui_agent)
    app = MemchatApp(tui_agent, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_inspector(pilot)
        await pilot.press("down", "down", "e")  # memory 3: sister
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, EditMemoryDialog)
        assert dialog.query_one("#value", TextArea).text == "my sister is Alice"
        dialog.query_one("#value", TextArea).text = "my sister is Alicia"
        await pilot.click("#save")
        await pilot.pause()
        assert app.screen is screen
        memory = next(m for m in tui_agent.list_memories() if m.id == 3)
        assert memory.value_text == "my sister is Alicia"
        assert column(screen, "value")[2] == "my sister is Alicia"
        assert ids(screen)[table(screen).cursor_row] == 3  # the selection stays
        assert "update  my sister is Alice -> my sister is Alicia" in detail_text(screen)


async def test_edit_cancelled_changes_nothing(tui_agent: Agent) -> None:
    fill(tui_agent)
    app = MemchatApp(tui_agent, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_inspector(pilot)
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, EditMemoryDialog)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
        assert [m.value_text for m in tui_agent.list_memories()][0] == "I love hiking"


async def test_forget_asks_and_defaults_to_no(tui_agent: Agent) -> None:
    fill(tui_agent)
    app = MemchatApp(tui_agent, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_inspector(pilot)
        await pilot.press("down", "f")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog)
        assert dialog.focused is not None and dialog.focused.id == "no"
        await pilot.press("enter")  # the default answer: No
        await pilot.pause()
        assert ids(screen) == [1, 2, 3, 4]
        assert [m.id for m in tui_agent.list_memories()] == [1, 2, 3, 4]
        await pilot.press("f")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.click("#yes")
        await pilot.pause()
        assert [m.id for m in tui_agent.list_memories()] == [1, 3, 4]
        assert ids(screen) == [1, 3, 4]
        assert ids(screen)[table(screen).cursor_row] == 3  # the next memory is selected


async def test_pin_and_unpin(tui_agent: Agent) -> None:
    fill(tui_agent)
    app = MemchatApp(tui_agent, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_inspector(pilot)
        await pilot.press("down", "p")
        await pilot.pause()
        assert [m.pinned for m in tui_agent.list_memories()] == [False, True, False, False]
        assert column(screen, "pin") == ["", "yes", "", ""]
        assert "pinned" in detail_text(screen)
        assert screen.check_action("pin", ()) is None  # already pinned: shown disabled
        await pilot.press("u")
        await pilot.pause()
        assert not any(m.pinned for m in tui_agent.list_memories())
        assert column(screen, "pin") == ["", "", "", ""]


async def test_markup_is_shown_literally(tui_agent: Agent) -> None:
    tui_agent.add_memory("[b]key[/b]", MARKUP, "note")
    app = MemchatApp(tui_agent, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_inspector(pilot)
        assert column(screen, "key") == ["[b]key[/b]"]
        assert column(screen, "value") == [MARKUP]
        assert f"Value {MARKUP}" in detail_text(screen)
        shown = screen_text(pilot)
        assert MARKUP in shown and "[b]key[/b]" in shown
        await pilot.press("e")
        await pilot.pause()
        assert app.screen.query_one("#value", TextArea).text == MARKUP


async def test_reload_after_reset_shows_empty_message(tui_agent: Agent) -> None:
    fill(tui_agent)
    app = MemchatApp(tui_agent, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_inspector(pilot)
        assert table(screen).row_count == 4
        tui_agent.reset_profile("default")
        screen.reload()
        await pilot.pause()
        assert not table(screen).display
        assert screen.query_one("#empty").display
        assert "No memories yet." in screen_text(pilot)
        await pilot.press("e")  # nothing selected: a warning, no dialog
        await pilot.pause()
        assert app.screen is screen


async def test_search_without_match_and_error_do_not_crash(tui_agent: Agent) -> None:
    fill(tui_agent)
    app = MemchatApp(tui_agent, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_inspector(pilot)
        tui_agent.forget(1)  # gone behind the inspector's back
        await pilot.press("p")
        await pilot.pause()
        assert any("no memory 1" in n.message for n in app._notifications)
        assert ids(screen) == [2, 3, 4]
        screen.query_one("#kind", Select).value = "note"
        await search(pilot, "hiking")
        assert ids(screen) == [4]  # the read ranks all memories; the filter keeps notes


async def test_palette_lists_every_action(tui_agent: Agent) -> None:
    app = MemchatApp(tui_agent, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_inspector(pilot)
        titles = {command.title for command in app.get_system_commands(screen)}
        assert {
            "Search memories",
            "Filter memories by kind",
            "Edit memory",
            "Forget memory",
            "Pin memory",
            "Unpin memory",
        } <= titles
        assert "No memories yet." in screen_text(pilot)


async def test_confirm_dialog_buttons(tui_agent: Agent) -> None:
    fill(tui_agent)
    app = MemchatApp(tui_agent, load_models=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_inspector(pilot)
        await pilot.press("down", "down", "f")  # the fact (a turn with derived memories asks more)
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        assert str(app.screen.query_one("#yes", Button).label) == "Forget"
        await pilot.press("escape")
        await pilot.pause()
        assert len(tui_agent.list_memories()) == 4


# ------------------------------------------------------------ usage, provenance, links, hops


def chained(agent: Agent) -> None:
    """fill, then a second turn (memory 5) with its fact (memory 6): turns 1 and 5 are linked."""
    fill(agent)
    agent.ask("My sister is Alice")


def links(screen: InspectorScreen) -> dict[int, str]:
    """The chain links of the detail pane: memory id -> label."""
    return {link.memory_id: str(link.render()) for link in screen.query(MemoryLink)}


def selected_id(screen: InspectorScreen) -> int:
    return ids(screen)[table(screen).cursor_row]


async def test_detail_shows_usage_provenance_and_temporal_links(tui_agent: Agent) -> None:
    chained(tui_agent)
    app = MemchatApp(tui_agent, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_inspector(pilot)
        detail = detail_text(screen)  # memory 1: the turn "I love hiking"
        assert re.search(r"usage now [█·]{10} \d\.\d\d · last used 2026-01-02 03:04", detail)
        assert "turn 1 · user · 2026-01-02 03:04:05\nI love hiking" in detail
        assert links(screen) == {
            2: "› derived from this turn #2 preference likes = hiking",
            5: "› next turn #5 turn My sister is Alice",
        }
        await pilot.press("down")  # memory 2: the preference, from turn 1
        assert links(screen) == {1: "› from the same turn #1 turn I love hiking"}
        await pilot.press("down")  # memory 3: added by hand
        assert "added by hand" in detail_text(screen) and links(screen) == {}
        assert screen.check_action("next", ()) is None  # no temporal links: shown disabled


async def test_following_links_and_brackets(tui_agent: Agent) -> None:
    chained(tui_agent)
    app = MemchatApp(tui_agent, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_inspector(pilot)
        await pilot.press("right_square_bracket")  # the next turn
        assert selected_id(screen) == 5
        assert links(screen) == {
            6: "› derived from this turn #6 fact sister = Alice",
            1: "‹ previous turn #1 turn I love hiking",
        }
        await pilot.press("left_square_bracket")
        assert selected_id(screen) == 1
        # a link to a memory the filter hides: the filter is cleared, the memory selected
        screen.query_one("#kind", Select).value = "turn"
        await pilot.pause()
        assert ids(screen) == [1, 5]
        await pilot.click(screen.query(MemoryLink).first())
        await pilot.pause()
        assert ids(screen) == [1, 2, 3, 4, 5, 6] and selected_id(screen) == 2
        assert screen.query_one("#kind", Select).value == "all"
        # by keyboard: Tab to the link, Enter follows it
        screen.query(MemoryLink).first().focus()
        await pilot.press("enter")
        await pilot.pause()
        assert selected_id(screen) == 1 and screen.focused is table(screen)


async def test_forgetting_a_turn_asks_about_what_was_derived(tui_agent: Agent) -> None:
    chained(tui_agent)
    app = MemchatApp(tui_agent, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_inspector(pilot)
        await pilot.press("f")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ChoiceDialog)
        question = str(dialog.query_one(".dialog-text", Static).render())
        assert "Forget turn memory #1 (I love hiking)?" in question
        assert "#2 preference likes = hiking" in question
        labels = [str(b.label) for b in dialog.query(Button)]
        assert labels == ["Cancel", "Turn only", "Turn and derived"]
        assert dialog.focused is not None and dialog.focused.id == "choice-cancel"
        await pilot.press("enter")  # the default: cancel
        await pilot.pause()
        assert ids(screen) == [1, 2, 3, 4, 5, 6]
        await pilot.press("f")
        await pilot.pause()
        await pilot.click("#choice-turn")
        await pilot.pause()
        assert ids(screen) == [2, 3, 4, 5, 6]  # the preference stays
        table(screen).move_cursor(row=ids(screen).index(5))  # turn 5, with its fact 6
        await pilot.press("f")
        await pilot.pause()
        await pilot.click("#choice-all")
        await pilot.pause()
        assert ids(screen) == [2, 3, 4]
    assert [m.id for m in tui_agent.list_memories()] == [2, 3, 4]


async def test_search_hops_control_shows_each_hop_weight(tui_agent: Agent) -> None:
    chained(tui_agent)
    app = MemchatApp(tui_agent, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_inspector(pilot)
        assert screen.query_one("#hops", Select).value == 1
        await search(pilot, "sister")
        assert "hops" not in [str(c.label) for c in table(screen).ordered_columns]
        await pilot.press("h")  # 2 hops: the search runs again
        await settle(pilot)
        assert screen.query_one("#hops", Select).value == 2
        labels = [str(c.label) for c in table(screen).ordered_columns]
        assert labels[:3] == ["id", "weight", "hops"]
        paths = column(screen, "hops")
        assert all(re.fullmatch(r"\d\.\d\d → \d\.\d\d", p) for p in paths)
        last_hop, weight = paths[0].split(" → ")[-1], column(screen, "weight")[0].split()[-1]
        assert abs(float(last_hop) - float(weight)) <= 0.005  # the last hop is the weight
        assert "2 hops" in screen_text(pilot)
        assert re.search(
            r"search weight [█·]{10} \d\.\d{3} · hops \d\.\d\d → ", detail_text(screen)
        )
        await pilot.press("h")
        await settle(pilot)
        assert len(column(screen, "hops")[0].split(" → ")) == 3
        await pilot.press("h")  # back to 1 hop
        await settle(pilot)
        assert "hops" not in [str(c.label) for c in table(screen).ordered_columns]


async def test_chain_and_history_show_markup_literally(tui_agent: Agent) -> None:
    tui_agent.ask("I like [bold]jazz[/bold]")
    tui_agent.edit_memory(2, "likes", "[red]rock")
    app = MemchatApp(tui_agent, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_inspector(pilot)
        assert links(screen) == {2: "› derived from this turn #2 preference likes = [red]rock"}
        assert "I like [bold]jazz[/bold]" in detail_text(screen)
        await pilot.press("down")
        assert "update  [bold]jazz[/bold] -> [red]rock" in detail_text(screen)
        assert "[bold]jazz[/bold] -> [red]rock" in screen_text(pilot)


def test_free_and_forget_events_say_why() -> None:
    from datetime import datetime

    from storage.models import MemoryEvent
    from tui.widgets.memory_detail import event_content

    when = datetime(2026, 1, 2, 3, 4, 5)
    event = MemoryEvent(action="free", old_key="likes", old_value="[b]jazz", created_at=when)
    assert str(event_content(event)) == (
        "2026-01-02 03:04:05  free    likes = [b]jazz (freed at capacity: the least used)"
    )
    event = MemoryEvent(action="forget", old_key="k", old_value="v", turn_id=7, created_at=when)
    assert str(event_content(event)).endswith("forget  k = v (forgotten) (turn 7)")


# ------------------------------------------------------------ snapshots


def test_snapshot_wide(tui_agent: Agent, snap_compare) -> None:
    fill(tui_agent)
    tui_agent.add_memory("markup", MARKUP, "note")
    app = MemchatApp(tui_agent, load_models=False)
    assert snap_compare(app, terminal_size=(120, 40), press=["f3", "down"])


def test_snapshot_narrow(tui_agent: Agent, snap_compare) -> None:
    fill(tui_agent)
    app = MemchatApp(tui_agent, load_models=False)
    assert snap_compare(app, terminal_size=(80, 24), press=["f3", "down"])


def test_snapshot_search(tui_agent: Agent, snap_compare) -> None:
    fill(tui_agent)

    async def run_before(pilot: Pilot) -> None:
        await open_inspector(pilot)
        await search(pilot, "hiking")

    app = MemchatApp(tui_agent, load_models=False)
    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


def test_snapshot_forget_turn_dialog(tui_agent: Agent, snap_compare) -> None:
    chained(tui_agent)
    app = MemchatApp(tui_agent, load_models=False)
    assert snap_compare(app, terminal_size=(100, 30), press=["f3", "f"])


def test_snapshot_search_two_hops(tui_agent: Agent, snap_compare) -> None:
    chained(tui_agent)

    async def run_before(pilot: Pilot) -> None:
        await open_inspector(pilot)
        await pilot.press("h")
        await search(pilot, "sister")

    app = MemchatApp(tui_agent, load_models=False)
    assert snap_compare(app, terminal_size=(140, 40), run_before=run_before)


# Erase the screen, set the clipboard (OSC 52), an 8-bit CSI, a bidi override.
HOSTILE = "ok \x1b[2J\x1b]52;c;aGk=\x07 \x9b31m \u202eevil"
CONTROLS = "\x1b\x9b\u202e"


def store_raw(agent: Agent, memory_id: int, value: str) -> None:
    """Store `value` as it is (as an import or a model's extraction could), past input cleaning."""
    from sqlalchemy import update

    from storage.models import Memory

    with agent.sessions() as s, s.begin():
        s.execute(update(Memory).where(Memory.id == memory_id).values(value_text=value))


async def test_a_memory_holding_terminal_controls_is_shown_escaped(tui_agent: Agent) -> None:
    written = tui_agent.add_memory("note", "plain", "note")
    store_raw(tui_agent, written.id, HOSTILE)
    app = MemchatApp(tui_agent, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_inspector(pilot)
        assert "\\u001b[2J" in detail_text(screen) and "\\u202eevil" in detail_text(screen)
        shown = screen_text(pilot)
        assert "\\u001b]52" in shown and not any(c in shown for c in CONTROLS)
    stored = next(m for m in tui_agent.list_memories() if m.id == written.id)
    assert stored.value_text == HOSTILE  # the database keeps it as it was
