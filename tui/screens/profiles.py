"""The profiles screen: list profiles with their counts; create, switch, reset, delete.

Reset and delete are confirmed by typing the profile's name, offer to export the profile first
(to a new file under $MEMCHAT_HOME/exports/, shown in the dialog and editable; a failed export
changes nothing), and never touch another profile. Names are shown literally.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from contextlib import suppress
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.content import Content
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from agent.errors import MemchatError
from storage.errors import StorageError
from tui.dialogs import PromptDialog, TypeToConfirmDialog
from tui.render import counts_text

if TYPE_CHECKING:
    from agent.core import Agent
    from storage.repo import ProfileCounts

ERRORS = (MemchatError, StorageError, OSError)

NAME_WIDTH = 36  # longer names are cut with an ellipsis in the table (shown whole elsewhere)


def export_path(home: Path, name: str, now: datetime) -> Path:
    """A new file `<home>/exports/<name>-<YYYYmmdd-HHMMSS>.jsonl` (never an existing one)."""
    safe = re.sub(r"[^\w.-]+", "_", name).strip("._")[:60] or "profile"
    stem = f"{safe}-{now:%Y%m%d-%H%M%S}"
    path, n = home / "exports" / f"{stem}.jsonl", 2
    while path.exists():
        path, n = home / "exports" / f"{stem}-{n}.jsonl", n + 1
    return path


def literal(text: str) -> str:
    """`text` as markup that shows it as typed (`textual.markup.escape` misses `[B]`)."""
    return text.replace("[", "\\[")


class ProfilesScreen(Screen):
    """Every profile with its memories and turns; actions on the selected row."""

    BINDINGS = [
        Binding("n", "new", "New"),
        Binding("s", "switch", "Switch"),
        Binding("r", "reset", "Reset"),
        Binding("d", "delete", "Delete"),
    ]
    DEFAULT_CSS = """
    ProfilesScreen #profiles-active {
        height: auto;
        padding: 0 1;
        margin: 1 0 1 0;
    }
    ProfilesScreen #profiles-table {
        height: 1fr;
        margin: 0 1;
    }
    ProfilesScreen #profiles-hint {
        height: auto;
        padding: 0 1;
        margin-top: 1;
        color: $text-muted;
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, ProfileCounts] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="profiles-active")
        table: DataTable[Text] = DataTable(
            id="profiles-table", cursor_type="row", zebra_stripes=True
        )
        yield table
        yield Static(
            "s or Enter switches to the selected profile. Reset deletes its memories, turns and "
            "history; delete removes the profile too. Other profiles are never touched.",
            id="profiles-hint",
        )
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("Profile", key="name")
        table.add_column("Memories", key="memories")
        table.add_column("Turns", key="turns")
        table.add_column("Created (UTC)", key="created")
        self.reload()

    def on_screen_resume(self) -> None:
        """Counts change while chatting: refresh whenever the screen is shown."""
        self.reload()

    # ------------------------------------------------------------ showing

    @property
    def agent(self) -> Agent:
        return self.app.agent  # type: ignore[attr-defined]

    def say(self, message: str, severity: SeverityLevel = "information") -> None:
        """A notification shown literally (names and errors may contain markup)."""
        self.notify(message, severity=severity, markup=False)

    def selected(self) -> str | None:
        """The name of the profile under the cursor."""
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return key.value

    def move_to(self, name: str) -> None:
        table = self.query_one(DataTable)
        table.move_cursor(row=table.get_row_index(name))

    def reload(self) -> None:
        """Re-read the profiles; keep the cursor on the selected profile, or the active one."""
        try:
            rows = self.agent.profiles()
        except ERRORS as exc:
            self.say(str(exc), "error")
            return
        active = self.agent.profile_name
        select = self.selected()
        self.rows = {r.profile.name: r for r in rows}
        table = self.query_one(DataTable)
        table.clear()
        for r in rows:
            table.add_row(*self.cells(r, r.profile.name == active), key=r.profile.name)
        if (target := next((n for n in (select, active) if n in self.rows), None)) is not None:
            self.move_to(target)
        self.show_active(active)

    def cells(self, r: ProfileCounts, active: bool) -> list[Text]:
        """One table row: marked name, counts, creation time."""
        name = Text("● " if active else "  ", style="bold" if active else "")
        name.append(r.profile.name, style="bold" if active else "")
        name.truncate(NAME_WIDTH + 2, overflow="ellipsis")
        created = r.profile.created_at.strftime("%Y-%m-%d %H:%M") if r.profile.created_at else ""
        return [
            name,
            Text(str(r.memories), justify="right"),
            Text(str(r.turns), justify="right"),
            Text(created),
        ]

    def show_active(self, active: str) -> None:
        row = self.rows.get(active)
        counts = f" ({counts_text(row)})" if row else ""
        line = Content.from_markup(
            "Active profile: [b]● $name[/b]$counts", name=active, counts=counts
        )
        self.query_one("#profiles-active", Static).update(line)

    # ------------------------------------------------------------ actions

    def action_new(self) -> None:
        """Ask for a name, create the profile and select it."""
        self.app.push_screen(
            PromptDialog("Name of the new profile:", placeholder="name"), self.create
        )

    def create(self, name: str | None) -> None:
        if name is None:
            return
        before = set(self.rows)
        try:
            self.agent.create_profile(name)
        except ERRORS as exc:
            self.say(str(exc), "error")
            return
        self.reload()
        if (new := next((n for n in self.rows if n not in before), None)) is not None:
            self.move_to(new)
            self.say(f"Created profile {new!r}. Press s to switch to it.")

    def with_selected(self, act: Callable[[str], None]) -> None:
        if (name := self.selected()) is not None:
            act(name)

    def action_switch(self) -> None:
        self.with_selected(self.switch)

    def action_reset(self) -> None:
        self.with_selected(self.reset)

    def action_delete(self) -> None:
        self.with_selected(self.delete)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter (or a click on the selected row) switches to it."""
        event.stop()
        if event.row_key.value is not None:
            self.switch(event.row_key.value)

    def switch(self, name: str) -> None:
        """Make `name` the active profile; on failure the previous one stays active."""
        previous = self.agent.profile_name
        if name == previous:
            self.say(f"{name!r} is already the active profile.")
            return
        try:
            self.agent.switch_profile(name)
        except ERRORS as exc:
            with suppress(*ERRORS):
                self.agent.switch_profile(previous)
            self.say(str(exc), "error")
            self.reload()
            return
        self.app.profile_changed()
        self.say(f"Switched to profile {name!r}.")

    def reset(self, name: str) -> None:
        """Ask (type the name, export offered), then export if asked, then reset."""
        self.ask_then(name, deleting=False)

    def delete(self, name: str) -> None:
        """Ask (type the name, export offered), then export if asked, then delete."""
        self.ask_then(name, deleting=True)

    def ask_then(self, name: str, deleting: bool) -> None:
        """The type-to-confirm dialog with fresh counts; its answer goes to `answered`."""
        self.reload()  # the counts in the question must be current
        if (row := self.rows.get(name)) is None:
            self.say(f"unknown profile {name!r}", "error")
            return
        what = counts_text(row)
        question = (
            f"Delete profile {name!r} with its {what}?"
            if deleting
            else f"Reset profile {name!r}: delete its {what}?"
        )
        export_to = export_path(self.agent.settings.home, name, datetime.now())
        dialog = TypeToConfirmDialog(
            f"{question} Other profiles are not touched.", name, export_to=export_to
        )
        self.app.push_screen(dialog, partial(self.answered, name, deleting, what))

    def answered(self, name: str, deleting: bool, what: str, result: dict | None) -> None:
        """After the dialog: export if asked (a failure stops here), then reset or delete."""
        if result is None:
            self.say("Cancelled: nothing was changed.")
            return
        exported = ""
        if (path := result.get("export")) is not None:
            if not self.export(name, path):
                return
            exported = f" Exported first to {path}."
        try:
            (self.agent.delete_profile if deleting else self.agent.reset_profile)(name)
        except ERRORS as exc:
            self.say(str(exc), "error")
            self.reload()
            return
        done = (
            f"Deleted profile {name!r} with its {what}."
            if deleting
            else f"Reset profile {name!r}: deleted {what}."
        )
        self.say(done + exported + self.after_change(name, deleting))

    def export(self, name: str, path: Path) -> bool:
        """Export the profile to `path`, a new file; False (and an error shown) if that failed.
        An existing file is refused: the dialog's default is always new, so a name typed over
        it that exists is most likely a mistake. Only the default folder is created (owner-only):
        a folder typed that does not exist is more likely a typo than a wish."""
        try:
            if path.exists():
                raise StorageError(f"{path} already exists; choose another file")
            exports = self.agent.settings.home / "exports"
            if path.parent == exports:
                exports.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.agent.export(path, name=name)
        except ERRORS as exc:
            self.say(f"Export failed, nothing was deleted: {exc}", "error")
            return False
        return True

    def after_change(self, name: str, deleted: bool) -> str:
        """After a reset or delete: refresh; the active profile deleted falls back to default."""
        if name != self.agent.profile_name:
            self.reload()
            return ""
        note = ""
        if deleted:
            try:
                self.agent.switch_profile("default")
                note = " The active profile is now 'default'."
            except ERRORS as exc:
                self.say(str(exc), "error")
        self.app.profile_changed()
        return note

    # ------------------------------------------------------------ command palette

    def palette_commands(self) -> Iterable[SystemCommand]:
        """Every profile action for ctrl+p: new, and switch / reset / delete per profile."""
        yield SystemCommand("Profiles: new profile", "Create a profile (n)", self.action_new)
        actions = [
            ("switch to", "Make it the active profile (s)", self.switch),
            ("reset", "Delete its memories and turns; export first if you like (r)", self.reset),
            ("delete", "Delete it and all it holds; export first if you like (d)", self.delete),
        ]
        for name in self.rows:
            for verb, help_text, act in actions:
                if not (verb == "switch to" and name == self.agent.profile_name):
                    title = f"Profiles: {verb} {literal(repr(name))}"
                    yield SystemCommand(title, help_text, partial(act, name))
