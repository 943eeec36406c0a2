"""The memory inspector: list, search (an attention read), filter, edit, forget, pin, unpin.

Keys and values are user text: every cell is a `Text` and the detail pane uses `Content`, so
markup such as `[bold]` is shown exactly as typed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from rich.text import Text
from textual import work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Header, Input, Select, Static
from textual.worker import get_current_worker

from agent.errors import MemchatError
from storage.models import MEMORY_KINDS, Memory
from tui.dialogs import ConfirmDialog, EditMemoryDialog
from tui.render import bar, one_line
from tui.widgets.memory_detail import MemoryDetailView

DEBOUNCE_S = 0.25
SEARCH_LIMIT = 500  # a search ranks at most this many memories (all of them, in most profiles)
EMPTY = Content.assemble(
    "No memories yet. Chat (F2), or add one with ", ("memchat memories add", "bold"), "."
)
NO_MATCH = Content("No memories match this search and filter.")
PALETTE = [  # (title, help, action) of every inspector action, for the command palette
    ("Search memories", "An attention read: rows by weight (/)", "focus_search"),
    ("Filter memories by kind", "turn, preference, fact or note", "filter_kind"),
    ("Clear the memory search", "Show all memories again (Escape)", "clear_search"),
    ("Edit memory", "Edit the selected memory's key and value (e)", "edit"),
    ("Forget memory", "Forget the selected memory, after asking (f)", "forget"),
    ("Pin memory", "Never free the selected memory (p)", "pin"),
    ("Unpin memory", "Let the selected memory be freed again (u)", "unpin"),
]


@dataclass(frozen=True)
class Row:
    """One table row: a memory, with its weight when the table shows a search."""

    memory: Memory
    weight: float | None = None


class InspectorScreen(Screen):
    """Inspect the active profile's memories; every action is also in the palette (ctrl+p)."""

    BINDINGS = [
        Binding("slash", "focus_search", "Search", key_display="/"),
        Binding("e", "edit", "Edit"),
        Binding("f", "forget", "Forget"),
        Binding("p", "pin", "Pin"),
        Binding("u", "unpin", "Unpin"),
        Binding("escape", "clear_search", "Clear search"),
        Binding("down", "focus_table", "Rows", show=False),  # from the search box
    ]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (140, "-wide")]
    DEFAULT_CSS = """
    InspectorScreen {
        #inspector-bar { height: auto; }
        #search { width: 1fr; }
        #kind { width: 22; }
        #summary { height: 1; padding: 0 1; color: $text-muted; }
        #memories { height: 1fr; }
        #empty { padding: 1 2; display: none; }
        &.-narrow MemoryDetailView { height: 50%; min-height: 7; }
        &.-wide #inspector-body { layout: horizontal; }
        &.-wide MemoryDetailView { width: 42%; height: 1fr; }
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[Row] = []
        self._timer: Timer | None = None
        self._keep: tuple[int | None, int] = (None, 0)  # (memory id, row index) to reselect
        self._shown_query = ""  # the query the table shows the read of ("": all memories)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="inspector-bar"):
            yield Input(placeholder="search memories (an attention read)", id="search")
            kinds = [("All kinds", "all"), *((k, k) for k in MEMORY_KINDS)]
            yield Select(kinds, value="all", allow_blank=False, id="kind")
        with Vertical(id="inspector-body"):
            with Vertical(id="memory-list"):
                yield Static(id="summary")
                yield DataTable(id="memories", cursor_type="row", zebra_stripes=True)
                yield Static(EMPTY, id="empty")
            yield MemoryDetailView(id="detail")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()

    def on_resize(self) -> None:
        """On a short terminal the search bar drops its borders to leave room for rows."""
        compact = self.size.height < 30
        self.query_one("#search", Input).compact = compact
        self.query_one("#kind", Select).compact = compact

    def on_screen_resume(self) -> None:
        """Coming back (from chat, or a dialog): show what changed meanwhile."""
        self.refresh_rows()

    def reload(self) -> None:
        """The active profile changed: re-read everything, from the first row."""
        self.refresh_rows(keep=False)

    # ------------------------------------------------------------ state

    @property
    def query_text(self) -> str:
        return self.query_one("#search", Input).value.strip()

    @property
    def kind(self) -> str | None:
        value = self.query_one("#kind", Select).value
        return value if isinstance(value, str) and value != "all" else None

    def _target(self) -> Row | None:
        """The selected row for an action, or a warning that there is none."""
        row = self.selected
        if row is None:
            self.notify("Select a memory first.", severity="warning")
        return row

    @property
    def selected(self) -> Row | None:
        table = self.query_one(DataTable)
        if not self.rows or not table.display:
            return None
        return self.rows[min(table.cursor_row, len(self.rows) - 1)]

    # ------------------------------------------------------------ loading rows

    def refresh_rows(self, keep: bool = True) -> None:
        """Re-read the rows (all memories, or the current search); `keep` the selected memory,
        else select the first row."""
        if not keep:
            self._keep = (None, 0)
        elif self.rows:
            row = self.selected
            self._keep = (row.memory.id if row else None, self.query_one(DataTable).cursor_row)
        if self._timer is not None:
            self._timer.stop()
        if self.query_text:
            self._search(self.query_text, self.kind)
        else:
            self._list(self.kind)

    def _list(self, kind: str | None) -> None:
        try:
            memories = self.app.agent.list_memories()
        except MemchatError as exc:
            self.notify(str(exc), severity="error")
            memories = []
        rows = [Row(m) for m in memories if kind is None or m.kind == kind]
        self.show_rows(rows, "", total=len(memories))

    @work(thread=True, exclusive=True, group="inspector-search")
    def _search(self, query: str, kind: str | None) -> None:
        """An attention read in a thread; the rows come back to the UI thread."""
        agent = self.app.agent
        try:
            memories = {m.id: m for m in agent.list_memories()}
            result = agent.search(query, k=max(1, min(len(memories), SEARCH_LIMIT)))
        except MemchatError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error")
            return
        rows = [
            Row(memories[item.id], item.weight)
            for item in result.results
            if item.id in memories and (kind is None or item.kind == kind)
        ]
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self.show_rows, rows, query, len(memories))

    def show_rows(self, rows: list[Row], query: str, total: int) -> None:
        """Fill the table (or show why it is empty), reselect, update the summary."""
        if query != self.query_text:
            return  # a search that finished after its query changed
        self.rows, self._shown_query = rows, query
        table = self.query_one(DataTable)
        self._fill(table, rows, searching=bool(query))
        empty = self.query_one("#empty", Static)
        empty.update(EMPTY if total == 0 else NO_MATCH)
        table.display = bool(rows)
        empty.display = not rows
        self.query_one("#detail").display = bool(rows)
        self.query_one("#summary", Static).update(self._summary(len(rows), total, query))
        if rows:
            table.move_cursor(row=self._reselect(rows), animate=False)
        self.show_detail()

    def _reselect(self, rows: list[Row]) -> int:
        memory_id, index = self._keep
        ids = [row.memory.id for row in rows]
        return ids.index(memory_id) if memory_id in ids else max(0, min(index, len(rows) - 1))

    def _summary(self, shown: int, total: int, query: str) -> Content:
        noun = "memory" if total == 1 else "memories"
        kind = f", kind {self.kind}" if self.kind else ""
        if query:
            return Content(f"{shown} of {total} {noun} by weight for {query!r}{kind}")
        return Content(f"{shown} of {total} {noun}{kind}")

    def _fill(self, table: DataTable, rows: list[Row], searching: bool) -> None:
        width = self.query_one("#memory-list").size.width or self.size.width
        key_width = 16 if width < 100 else 22
        # id, kind, key, usage, pin, updated, each padded by 2; the weight column; a scrollbar
        fixed = 38 + key_width + 14 + (18 if searching else 0) + 2
        value_width = max(24, min(60, width - fixed))
        labels = ["id", "weight", "kind", "key", "value", "usage", "pin", "updated"]
        labels = labels if searching else [label for label in labels if label != "weight"]
        cells = [_cells(row, searching, key_width, value_width) for row in rows]
        table.clear(columns=True)
        # Widths measured here: a frame drawn before the table measures new rows (on idle)
        # would otherwise keep the columns as wide as their labels.
        for i, label in enumerate(labels):
            table.add_column(
                label, key=label, width=max([len(label), *(c[i].cell_len for c in cells)])
            )
        for row, row_cells in zip(rows, cells, strict=True):
            table.add_row(*row_cells, key=str(row.memory.id))

    # ------------------------------------------------------------ events

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "search":
            return
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DEBOUNCE_S, self._debounced)

    def _debounced(self) -> None:
        """Typing paused: search for the new query, from its top row."""
        if self.query_text != self._shown_query:
            self.refresh_rows(keep=False)

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self.refresh_rows(keep=not self.query_text)
        self.query_one(DataTable).focus()

    def on_select_changed(self, _event: Select.Changed) -> None:
        self.refresh_rows()

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self.show_detail()
        self.refresh_bindings()

    def show_detail(self) -> None:
        """The detail pane follows the table's cursor."""
        view = self.query_one(MemoryDetailView)
        row = self.selected
        if row is None:
            view.show(None)
            return
        try:
            view.show(self.app.agent.show(row.memory.id), row.weight)
        except MemchatError as exc:
            self.notify(str(exc), severity="error")
            view.show(None)

    # ------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Memory actions need a selected memory; pin and unpin only where they change it."""
        row = self.selected
        if action in ("pin", "unpin"):
            return True if row and row.memory.pinned == (action == "unpin") else None
        return True if row or action not in ("edit", "forget") else None

    def action_focus_table(self) -> None:
        self.query_one(DataTable).focus()

    def action_focus_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_filter_kind(self) -> None:
        select = self.query_one("#kind", Select)
        select.focus()
        select.expanded = True

    def action_clear_search(self) -> None:
        search = self.query_one("#search", Input)
        if search.value:
            search.value = ""
            self.refresh_rows()
        self.query_one(DataTable).focus()

    def action_edit(self) -> None:
        if (row := self._target()) is None:
            return
        memory_id = row.memory.id

        def done(result: tuple[str, str] | None) -> None:
            if result is not None:
                agent = self.app.agent
                self._apply(memory_id, lambda: agent.edit_memory(memory_id, *result), "edited")

        self.app.push_screen(EditMemoryDialog(row.memory.key_text, row.memory.value_text), done)

    def action_forget(self) -> None:
        if (row := self._target()) is None:
            return
        memory_id, key, value = row.memory.id, row.memory.key_text, row.memory.value_text
        question = f"Forget memory #{memory_id} ({one_line(key, 30)} = {one_line(value, 40)})?"

        def done(yes: bool | None) -> None:
            if yes:
                self._apply(memory_id, lambda: self.app.agent.forget(memory_id), "forgotten")

        self.app.push_screen(ConfirmDialog(question, yes="Forget"), done)

    def action_pin(self, pinned: bool = True) -> None:
        if (row := self._target()) is not None:
            memory_id, verb = row.memory.id, "pinned" if pinned else "unpinned"
            self._apply(memory_id, lambda: self.app.agent.set_pinned(memory_id, pinned), verb)

    def action_unpin(self) -> None:
        self.action_pin(False)

    def _apply(self, memory_id: int, change: Callable[[], object], done: str) -> None:
        """Run one change to a memory, report it, and refresh (keeping the selection)."""
        try:
            change()
        except MemchatError as exc:
            self.notify(str(exc), severity="error")
        else:
            self.notify(f"memory #{memory_id} {done}")
        self.refresh_rows()

    def palette_commands(self) -> Iterable[SystemCommand]:
        """The inspector's actions, for the command palette."""
        for title, help_text, action in PALETTE:
            yield SystemCommand(title, help_text, getattr(self, f"action_{action}"))


def _cells(row: Row, searching: bool, key_width: int, value_width: int) -> list[Text]:
    """The table cells of one row, all literal `Text`."""
    m = row.memory
    cells = [Text(str(m.id), justify="right")]
    if searching:
        weight = row.weight or 0.0
        cells.append(Text.assemble((bar(weight), "bold"), f" {weight:.3f}"))
    cells += [
        Text(m.kind),
        Text(one_line(m.key_text, key_width)),
        Text(one_line(m.value_text, value_width)),
        Text(f"{m.usage:.2f}", justify="right"),
        Text("yes" if m.pinned else ""),
        Text(m.updated_at.strftime("%Y-%m-%d %H:%M")),
    ]
    return cells
