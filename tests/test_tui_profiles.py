"""The profiles screen: Pilot tests (list, create, switch, reset, delete) and snapshots."""

from __future__ import annotations

import json
import stat
from datetime import datetime
from pathlib import Path

import pytest
from textual.content import Content
from textual.pilot import Pilot
from textual.widgets import Button, Checkbox, DataTable, Input, Static

from agent.core import Agent
from tests.conftest import make_fake_agent
from tui.app import MemchatApp
from tui.dialogs import TypeToConfirmDialog, tilde
from tui.screens import profiles
from tui.screens.profiles import ProfilesScreen, export_path

MARKUP = "[bold]x[/bold]"


@pytest.fixture
def seeded(tui_agent: Agent, tmp_path: Path) -> Agent:
    """'default' and 'bob', each with memories and turns; the active profile is 'default'."""
    tui_agent.ask("My name is Alice and I love jazz")
    tui_agent.create_profile("bob")
    make_fake_agent(tmp_path, "bob").ask("I am vegetarian and I live in Lyon")
    return tui_agent


def counts(agent: Agent) -> dict[str, tuple[int, int]]:
    return {r.profile.name: (r.memories, r.turns) for r in agent.profiles()}


def table_rows(app: MemchatApp) -> list[list[str]]:
    table = app.screen.query_one(DataTable)
    return [[cell.plain for cell in table.get_row_at(i)] for i in range(table.row_count)]


def messages(app: MemchatApp) -> list[str]:
    return [n.message for n in app._notifications]


def active_line(app: MemchatApp) -> str:
    return str(app.screen.query_one("#profiles-active", Static).render())


async def select(pilot: Pilot, name: str) -> None:
    """Move the table's cursor to the profile `name`."""
    table = pilot.app.screen.query_one(DataTable)
    table.move_cursor(row=table.get_row_index(name))
    await pilot.pause()


async def open_profiles(pilot: Pilot) -> None:
    await pilot.press("f4")
    await pilot.pause()
    assert isinstance(pilot.app.screen, ProfilesScreen)


async def type_confirm(pilot: Pilot, action: str, name: str, export: bool) -> None:
    """Select `name`, press `action`, type the name, set the export box, press Confirm."""
    await select(pilot, name)
    await pilot.press(action)
    await pilot.pause()
    assert isinstance(pilot.app.screen, TypeToConfirmDialog)
    await pilot.press(*name)
    pilot.app.screen.query_one("#export", Checkbox).value = export
    await pilot.click("#confirm")
    await pilot.pause()


async def test_table_lists_profiles_with_counts(seeded: Agent) -> None:
    app = MemchatApp(seeded, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_profiles(pilot)
        expected = counts(seeded)
        rows = table_rows(app)
        assert [r[0] for r in rows] == ["  bob", "● default"]
        for name, memories, turns, created in rows:
            assert (int(memories), int(turns)) == expected[name[2:]]
            assert created == "2026-01-02 03:04"
        assert expected["default"][0] > 0 and expected["bob"][0] > 0
        m, t = expected["default"]
        assert active_line(app) == f"Active profile: ● default ({m} memories and {t} turns)"


async def test_create_profile_through_dialog(seeded: Agent) -> None:
    app = MemchatApp(seeded, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_profiles(pilot)
        await pilot.press("n", *"carol", "enter")
        await pilot.pause()
        assert counts(seeded)["carol"] == (0, 0)
        table = app.screen.query_one(DataTable)
        assert table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value == "carol"
        assert seeded.profile_name == "default"
        await pilot.press("n", *"bob", "enter")  # already exists: an error, no crash
        await pilot.pause()
        assert "profile 'bob' already exists" in messages(app)
        await pilot.press("n", "enter")  # empty name
        await pilot.press("n", *"dave", "escape")  # cancelled
        await pilot.pause()
        assert sorted(counts(seeded)) == ["bob", "carol", "default"]
        assert isinstance(app.screen, ProfilesScreen)


async def test_switch_with_s_and_enter(seeded: Agent) -> None:
    app = MemchatApp(seeded, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_profiles(pilot)
        await select(pilot, "bob")
        await pilot.press("s")
        await pilot.pause()
        assert seeded.profile_name == "bob"
        assert app.sub_title == "profile: bob · model: fake-words"
        assert [r[0] for r in table_rows(app)] == ["● bob", "  default"]
        assert active_line(app).startswith("Active profile: ● bob (")
        assert "Switched to profile 'bob'." in messages(app)
        await select(pilot, "default")
        await pilot.press("enter")
        await pilot.pause()
        assert seeded.profile_name == "default"
        assert app.sub_title == "profile: default · model: fake-words"


async def test_reset_wrong_name_keeps_confirm_disabled_and_escape_cancels(seeded: Agent) -> None:
    before = counts(seeded)
    app = MemchatApp(seeded, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_profiles(pilot)
        await select(pilot, "bob")
        await pilot.press("r")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, TypeToConfirmDialog)
        m, t = before["bob"]
        assert dialog.question == (
            f"Reset profile 'bob': delete its {m} memories and {t} turns? "
            "Other profiles are not touched."
        )
        confirm = dialog.query_one("#confirm", Button)
        for key in ["b", "o", "x"]:  # "b", "bo", "box": never the name
            await pilot.press(key)
            assert confirm.disabled
        await pilot.press("enter")  # submitting a wrong name does nothing
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ProfilesScreen)
        assert counts(seeded) == before
        assert not (seeded.settings.home / "exports").exists()


async def test_reset_with_export_empties_only_that_profile(seeded: Agent) -> None:
    before = counts(seeded)
    app = MemchatApp(seeded, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_profiles(pilot)
        await type_confirm(pilot, "r", "bob", export=True)
        after = counts(seeded)
        assert after["bob"] == (0, 0)
        assert after["default"] == before["default"]
        assert seeded.profile_name == "default"
        files = list((seeded.settings.home / "exports").glob("bob-*.jsonl"))
        assert len(files) == 1 and stat.S_IMODE(files[0].stat().st_mode) == 0o600
        lines = [json.loads(line) for line in files[0].read_text().splitlines()]
        assert sum(1 for x in lines if x.get("type") == "memories") == before["bob"][0]
        assert any(str(files[0]) in m and "deleted" in m for m in messages(app))
        assert table_rows(app)[0][:3] == ["  bob", "0", "0"]


async def test_reset_without_export_and_of_the_active_profile(seeded: Agent) -> None:
    before = counts(seeded)
    app = MemchatApp(seeded, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_profiles(pilot)
        await type_confirm(pilot, "r", "default", export=False)
        assert counts(seeded) == {"default": (0, 0), "bob": before["bob"]}
        assert seeded.profile_name == "default"
        assert not (seeded.settings.home / "exports").exists()
        assert active_line(app) == "Active profile: ● default (0 memories and 0 turns)"


async def test_failed_export_resets_nothing(seeded: Agent) -> None:
    (seeded.settings.home / "exports").write_text("a file where the folder should be")
    before = counts(seeded)
    app = MemchatApp(seeded, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_profiles(pilot)
        await type_confirm(pilot, "r", "bob", export=True)
        assert counts(seeded) == before
        assert any(m.startswith("Export failed, nothing was deleted") for m in messages(app))


async def open_reset(pilot: Pilot, name: str) -> TypeToConfirmDialog:
    """Select `name` and press r: the reset dialog."""
    await select(pilot, name)
    await pilot.press("r")
    await pilot.pause()
    dialog = pilot.app.screen
    assert isinstance(dialog, TypeToConfirmDialog)
    return dialog


async def test_reset_dialog_shows_the_export_file_and_uses_the_one_typed(
    seeded: Agent, tmp_path: Path
) -> None:
    before = counts(seeded)
    app = MemchatApp(seeded, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_profiles(pilot)
        dialog = await open_reset(pilot, "bob")
        shown = dialog.query_one("#export-path", Input)
        exports = seeded.settings.home / "exports"
        assert shown.value.startswith(f"{exports}/bob-") and shown.value.endswith(".jsonl")
        assert datetime.strptime(Path(shown.value).stem[4:], "%Y%m%d-%H%M%S")
        shown.value = str(tmp_path / "typo" / "bob.jsonl")  # a folder that does not exist
        await pilot.press(*"bob")
        await pilot.click("#confirm")
        await pilot.pause()
        assert counts(seeded) == before and not (tmp_path / "typo").exists()
        assert any(m.startswith("Export failed, nothing was deleted") for m in messages(app))
        dialog = await open_reset(pilot, "bob")
        mine = tmp_path / "bob before reset.jsonl"
        dialog.query_one("#export-path", Input).value = str(mine)
        await pilot.press(*"bob")
        await pilot.click("#confirm")
        await pilot.pause()
        assert counts(seeded) == {"default": before["default"], "bob": (0, 0)}
        assert stat.S_IMODE(mine.stat().st_mode) == 0o600
        rows = [json.loads(line) for line in mine.read_text().splitlines()]
        assert sum(r["type"] == "memories" for r in rows) == before["bob"][0]
        assert not exports.exists()  # the default file was not written as well
        assert any(f"Exported first to {mine}." in m for m in messages(app))


async def test_reset_dialog_export_box_and_file_gate_confirm(seeded: Agent) -> None:
    app = MemchatApp(seeded, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_profiles(pilot)
        dialog = await open_reset(pilot, "bob")
        box = dialog.query_one("#export", Checkbox)
        path = dialog.query_one("#export-path", Input)
        confirm = dialog.query_one("#confirm", Button)
        await pilot.press(*"bob")
        assert box.value and not path.disabled and not confirm.disabled
        path.value = "  "  # exporting, but to no file: cannot confirm
        await pilot.pause()
        assert confirm.disabled
        box.value = False  # no export: the file does not matter, and is greyed out
        await pilot.pause()
        assert path.disabled and not confirm.disabled
        await pilot.press("enter")  # Enter in the name's box confirms, without export
        await pilot.pause()
        assert counts(seeded)["bob"] == (0, 0)
        assert not (seeded.settings.home / "exports").exists()


async def test_reset_refuses_an_existing_export_file(seeded: Agent, tmp_path: Path) -> None:
    before = counts(seeded)
    taken = tmp_path / "taken.jsonl"
    taken.write_text("keep me")
    app = MemchatApp(seeded, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_profiles(pilot)
        dialog = await open_reset(pilot, "bob")
        dialog.query_one("#export-path", Input).value = str(taken)
        await pilot.press(*"bob", "enter")
        await pilot.pause()
        assert counts(seeded) == before and taken.read_text() == "keep me"
        assert f"Export failed, nothing was deleted: {taken} already exists" in " ".join(
            messages(app)
        )


def test_tilde_shortens_the_home_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "sam"))
    assert tilde(tmp_path / "sam" / "exports" / "a.jsonl") == "~/exports/a.jsonl"
    assert tilde(tmp_path / "elsewhere.jsonl") == str(tmp_path / "elsewhere.jsonl")
    assert Path(tilde(tmp_path / "sam" / "a.jsonl")).expanduser() == tmp_path / "sam" / "a.jsonl"


async def test_delete_asks_then_deletes(seeded: Agent) -> None:
    before = counts(seeded)
    app = MemchatApp(seeded, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_profiles(pilot)
        await select(pilot, "bob")
        await pilot.press("d", "escape")
        await pilot.pause()
        assert counts(seeded) == before
        assert "Cancelled: nothing was changed." in messages(app)
        await type_confirm(pilot, "d", "bob", export=False)
        assert counts(seeded) == {"default": before["default"]}
        m, t = before["bob"]
        assert f"Deleted profile 'bob' with its {m} memories and {t} turns." in messages(app)
        assert [r[0] for r in table_rows(app)] == ["● default"]


async def test_deleting_the_active_profile_switches_to_default(seeded: Agent) -> None:
    seeded.switch_profile("bob")
    app = MemchatApp(seeded, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_profiles(pilot)
        await type_confirm(pilot, "d", "bob", export=True)
        assert seeded.profile_name == "default"
        assert app.sub_title == "profile: default · model: fake-words"
        assert sorted(counts(seeded)) == ["default"]
        assert [r[0] for r in table_rows(app)] == ["● default"]
        assert list((seeded.settings.home / "exports").glob("bob-*.jsonl"))


async def test_markup_in_a_name_is_shown_literally(seeded: Agent) -> None:
    seeded.create_profile(MARKUP)
    app = MemchatApp(seeded, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_profiles(pilot)
        assert "  " + MARKUP in [r[0] for r in table_rows(app)]
        await select(pilot, MARKUP)
        await pilot.press("s")
        await pilot.pause()
        assert seeded.profile_name == MARKUP
        assert active_line(app).startswith(f"Active profile: ● {MARKUP} (")
        assert f"Switched to profile {MARKUP!r}." in messages(app)
        screen = app.screen
        assert isinstance(screen, ProfilesScreen)
        titles = [Content.from_markup(c.title).plain for c in screen.palette_commands()]
        assert f"Profiles: reset {MARKUP!r}" in titles
        await pilot.press("ctrl+p", *"reset")  # palette titles hold the name: no crash
        await pilot.pause()
        await pilot.press("escape")


async def test_palette_has_every_profile_action(seeded: Agent) -> None:
    app = MemchatApp(seeded, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_profiles(pilot)
        screen = app.screen
        assert isinstance(screen, ProfilesScreen)
        commands = {c.title: c for c in screen.palette_commands()}
        assert {
            "Profiles: new profile",
            "Profiles: switch to 'bob'",
            "Profiles: reset 'bob'",
            "Profiles: delete 'bob'",
            "Profiles: reset 'default'",
            "Profiles: delete 'default'",
        } == set(commands)
        commands["Profiles: switch to 'bob'"].callback()
        await pilot.pause()
        assert seeded.profile_name == "bob"
        commands["Profiles: reset 'bob'"].callback()
        await pilot.pause()
        assert isinstance(app.screen, TypeToConfirmDialog)


def test_export_path_is_new_and_safe(tmp_path: Path) -> None:
    from datetime import datetime

    now = datetime(2026, 1, 2, 3, 4, 5)
    first = export_path(tmp_path, "a/b [x]", now)
    assert first == tmp_path / "exports" / "a_b_x-20260102-030405.jsonl"
    first.parent.mkdir()
    first.write_text("")
    assert export_path(tmp_path, "a/b [x]", now).name == "a_b_x-20260102-030405-2.jsonl"


# ------------------------------------------------------------ snapshots


def test_snapshot_120x40(seeded: Agent, snap_compare) -> None:
    seeded.create_profile(MARKUP)
    app = MemchatApp(seeded, load_models=False)
    assert snap_compare(app, terminal_size=(120, 40), press=["f4"])


def test_snapshot_80x24(seeded: Agent, snap_compare) -> None:
    app = MemchatApp(seeded, load_models=False)
    assert snap_compare(app, terminal_size=(80, 24), press=["f4"])


def test_snapshot_reset_dialog(
    seeded: Agent, snap_compare, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reset dialog offers the export, with its file shown (a fixed one, for the screen
    not to depend on the test's folder and clock)."""

    def fixed(_home: Path, name: str, _now: datetime) -> Path:
        return Path("/srv/memchat/exports") / f"{name}-20260102-030405.jsonl"

    monkeypatch.setattr(profiles, "export_path", fixed)
    app = MemchatApp(seeded, load_models=False)
    assert snap_compare(app, terminal_size=(80, 24), press=["f4", "up", "r"])
