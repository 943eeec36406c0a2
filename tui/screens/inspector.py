"""The memory inspector: list, search (an attention read, 1 to 3 hops), filter, edit, forget,
pin, unpin, and follow a memory's provenance chain.

Keys and values are user text: every cell is a `Text` and the detail pane uses `Content`, so
markup such as `[bold]` is shown exactly as typed.
"""

from __future__ import annotations

from collections.abc import Iterable

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
from tui.screens.memory_changes import MemoryChanges
from tui.widgets.memory_detail import MemoryDetailView, MemoryLink
from tui.widgets.memory_table import Row, fill_table

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
    ("Search hops", "Read with 1, 2 or 3 hops: each follows the last one (h)", "hops"),
    ("Previous turn", "Select the turn written before the selected memory's ([)", "previous"),
    ("Next turn", "Select the turn written after the selected memory's (])", "next"),
    ("Edit memory", "Edit the selected memory's key and value (e)", "edit"),
    ("Forget memory", "Forget the selected memory, after asking (f)", "forget"),
    ("Pin memory", "Never free the selected memory (p)", "pin"),
    ("Unpin memory", "Let the selected memory be freed again (u)", "unpin"),
]


class InspectorScreen(MemoryChanges, Screen):
    """Inspect the active profile's memories; every action is also in the palette (ctrl+p)."""

    BINDINGS = [
        Binding("slash", "focus_search", "Search", key_display="/"),
        Binding("e", "edit", "Edit"),
        Binding("f", "forget", "Forget"),
        Binding("p", "pin", "Pin"),
        Binding("u", "unpin", "Unpin"),
        Binding("escape", "clear_search", "Clear search"),
        Binding("h", "hops", "Hops"),
        Binding("left_square_bracket", "previous", "Previous turn", show=False),
        Binding("right_square_bracket", "next", "Next turn", show=False),
        Binding("down", "focus_table", "Rows", show=False),  # from the search box
    ]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (140, "-wide")]
    DEFAULT_CSS = """
    InspectorScreen {
        #inspector-bar { height: auto; }
        #search { width: 1fr; }
        #kind { width: 22; }
        #hops { width: 14; }
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
        from storage.models import MEMORY_KINDS  # loaded by the agent by now; not at start

        yield Header()
        with Horizontal(id="inspector-bar"):
            yield Input(placeholder="search memories (an attention read)", id="search")
            kinds = [("All kinds", "all"), *((k, k) for k in MEMORY_KINDS)]
            yield Select(kinds, value="all", allow_blank=False, id="kind")
            yield Select(self._hop_options(), value=self._default_hops(), allow_blank=False,
                         id="hops", tooltip="search hops (h)")  # fmt: skip
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
        self.query_one("#hops", Select).compact = compact

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
    def hops(self) -> int:
        value = self.query_one("#hops", Select).value
        return value if isinstance(value, int) else 1

    def _default_hops(self) -> int:
        return max(1, self.app.agent.settings.hops)  # type: ignore[attr-defined]

    def _hop_options(self) -> list[tuple[str, int]]:
        counts = sorted({1, 2, 3, self._default_hops()})
        return [(f"{n} hop{'s' if n > 1 else ''}", n) for n in counts]

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
            self._search(self.query_text, self.kind, self.hops)
        else:
            self._list(self.kind)

    def _list(self, kind: str | None) -> None:
        try:
            memories = self.app.agent.list_memories()
        except MemchatError as exc:
            self.notify(str(exc), severity="error", markup=False)
            memories = []
        rows = [Row(m) for m in memories if kind is None or m.kind == kind]
        self.show_rows(rows, "", total=len(memories))

    @work(thread=True, exclusive=True, group="inspector-search")
    def _search(self, query: str, kind: str | None, hops: int) -> None:
        """An attention read in a thread; the rows come back to the UI thread."""
        agent = self.app.agent
        try:
            memories = {m.id: m for m in agent.list_memories()}
            result = agent.search(query, k=max(1, min(len(memories), SEARCH_LIMIT)), hops=hops)
        except MemchatError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error", markup=False)
            return
        rows = [
            Row(memories[item.id], item.weight, item.hop_weights)
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
            hops = f", {self.hops} hops" if self.hops > 1 else ""
            return Content(f"{shown} of {total} {noun} by weight for {query!r}{kind}{hops}")
        return Content(f"{shown} of {total} {noun}{kind}")

    def _fill(self, table: DataTable, rows: list[Row], searching: bool) -> None:
        width = self.query_one("#memory-list").size.width or self.size.width
        fill_table(table, rows, width, searching, self.hops)

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
            view.show(self.app.agent.show(row.memory.id), row.weight, row.hop_weights)
        except MemchatError as exc:
            self.notify(str(exc), severity="error", markup=False)
            view.show(None)

    # ------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Memory actions need a selected memory; pin and unpin only where they change it."""
        row = self.selected
        if action in ("pin", "unpin"):
            return True if row and row.memory.pinned == (action == "unpin") else None
        if action in ("previous", "next"):
            detail = self.query_one(MemoryDetailView).detail
            return True if row and detail and getattr(detail, action) is not None else None
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

    def action_hops(self) -> None:
        """The next number of search hops (1, 2, 3, then 1 again)."""
        select = self.query_one("#hops", Select)
        counts = [n for _, n in self._hop_options()]
        select.value = counts[(counts.index(self.hops) + 1) % len(counts)]

    def action_previous(self) -> None:
        detail = self.query_one(MemoryDetailView).detail
        if detail is not None and detail.previous is not None:
            self.goto(detail.previous.id)

    def action_next(self) -> None:
        detail = self.query_one(MemoryDetailView).detail
        if detail is not None and detail.next is not None:
            self.goto(detail.next.id)

    def on_memory_link_open(self, message: MemoryLink.Open) -> None:
        self.goto(message.memory_id)

    def goto(self, memory_id: int) -> None:
        """Select memory `memory_id`; when the search or the kind filter hides it, show all."""
        table = self.query_one(DataTable)
        table.focus()
        ids = [row.memory.id for row in self.rows]
        if memory_id in ids:
            table.move_cursor(row=ids.index(memory_id))
            return
        self.query_one("#search", Input).value = ""
        self.query_one("#kind", Select).value = "all"
        self._keep = (memory_id, 0)
        if self._timer is not None:
            self._timer.stop()
        self._list(None)

    def palette_commands(self) -> Iterable[SystemCommand]:
        """The inspector's actions, for the command palette."""
        for title, help_text, action in PALETTE:
            yield SystemCommand(title, help_text, getattr(self, f"action_{action}"))
