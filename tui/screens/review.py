"""The review screen (review mode): the preferences and facts extracted from the chat wait here
as proposals until the user accepts (as they are, or edited) or rejects them.

Keys, values and turn texts are user text: table cells are `Text`, the rest `Content`, so
markup such as `[bold]` is shown exactly as typed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from agent.errors import MemchatError
from tui.dialogs import EditMemoryDialog
from tui.render import one_line
from tui.widgets.labels import stamp

if TYPE_CHECKING:
    from agent.core import Agent
    from storage.models import Memory, Proposal

PALETTE = [  # (title, help, action)
    ("Review: accept proposal", "Store the selected proposal as it is (a)", "accept"),
    ("Review: edit and accept proposal", "Change its key or value, then store it (e)", "edit"),
    ("Review: reject proposal", "Store nothing (r)", "reject"),
]


def empty_state(agent: Agent) -> Content:
    """Why there is nothing to review, and how review mode is switched."""
    config = agent.settings.home / "config.toml"
    if agent.settings.review:
        return Content(
            "No proposals waiting. Review mode is on: the preferences and facts you state in the "
            "chat wait here until you accept (a), edit (e) or reject (r) them."
        )
    return Content(
        "No proposals. Review mode is off: what you state in the chat is stored at once. To "
        f"review it first, set review = true in {config} (or MEMCHAT_REVIEW=1) and restart "
        "memchat."
    )


class ReviewScreen(Screen):
    """Pending proposals of the active profile, oldest first; a / e / r act on the selected."""

    BINDINGS = [
        Binding("a", "accept", "Accept"),
        Binding("e", "edit", "Edit+accept"),
        Binding("r", "reject", "Reject"),
    ]
    DEFAULT_CSS = """
    ReviewScreen {
        #review-summary { height: auto; padding: 0 1; margin-top: 1; color: $text-muted; }
        #proposals { height: 1fr; margin: 0 1; }
        #review-empty { padding: 1 2; display: none; }
        #review-source { height: auto; max-height: 8; margin: 0 1; padding: 0 1;
                         border: round $primary 50%; }
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self.proposals: list[Proposal] = []
        self.sources: dict[int, Memory] = {}  # source turn id -> its turn memory

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="review-summary")
        yield DataTable(id="proposals", cursor_type="row", zebra_stripes=True)
        yield Static(id="review-empty")
        yield Static(id="review-source")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label in ("id", "kind", "key", "value", "from the turn"):
            table.add_column(label, key=label)
        self.reload()

    def on_screen_resume(self) -> None:
        self.reload()

    def proposals_changed(self) -> None:
        self.reload()

    @property
    def agent(self) -> Agent:
        return self.app.agent  # type: ignore[attr-defined]

    @property
    def selected(self) -> Proposal | None:
        table = self.query_one(DataTable)
        if not self.proposals:
            return None
        return self.proposals[min(table.cursor_row, len(self.proposals) - 1)]

    # ------------------------------------------------------------ showing

    def reload(self) -> None:
        """Re-read the pending proposals; keep the cursor's row index."""
        try:
            self.proposals = self.agent.proposals()
            self.sources = self._sources() if self.proposals else {}
        except MemchatError as exc:
            self.notify(str(exc), severity="error", markup=False)
            self.proposals, self.sources = [], {}
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        for p in self.proposals:
            table.add_row(*self._cells(p), key=str(p.id))
        table.display = bool(self.proposals)
        self.query_one("#review-empty", Static).update(empty_state(self.agent))
        self.query_one("#review-empty").display = not self.proposals
        self.query_one("#review-source").display = bool(self.proposals)
        n = len(self.proposals)
        mode = "on" if self.agent.settings.review else "off"
        summary = f"{n} proposal{'' if n == 1 else 's'} waiting · review mode {mode}"
        self.query_one("#review-summary", Static).update(Content(summary))
        if self.proposals:
            table.move_cursor(row=max(0, min(row, n - 1)), animate=False)
        self.show_source()
        self.refresh_bindings()

    def _sources(self) -> dict[int, Memory]:
        """The turn memory of each source turn: it holds the turn's text and time."""
        turns = self.agent.list_memories("turn")
        return {m.source_turn_id: m for m in turns if m.source_turn_id is not None}

    def _cells(self, p: Proposal) -> list[Text]:
        source = self.sources.get(p.source_turn_id or -1)
        turn = one_line(source.value_text, 50) if source else "(turn forgotten)"
        return [
            Text(str(p.id), justify="right"),
            Text(p.kind),
            Text(one_line(p.key_text, 24)),
            Text(one_line(p.value_text, 40)),
            Text(turn),
        ]

    def show_source(self) -> None:
        """Below the table: the whole text of the turn the selected proposal came from."""
        view = self.query_one("#review-source", Static)
        p = self.selected
        if p is None:
            return
        view.border_title = f"proposal #{p.id}: from turn {p.source_turn_id}"
        source = self.sources.get(p.source_turn_id or -1)
        if source is None:
            view.update(Content.styled("The source turn was forgotten.", "dim"))
            return
        view.update(
            Content.assemble((f"{stamp(source.created_at)}  you said\n", "dim"), source.value_text)
        )

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self.show_source()

    # ------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("accept", "edit", "reject"):
            return True if self.proposals else None
        return True

    def action_accept(self) -> None:
        if (p := self.selected) is not None:
            self._decide(lambda: self._accept(p.id))

    def action_edit(self) -> None:
        if (p := self.selected) is None:
            return
        proposal_id = p.id

        def done(result: tuple[str, str] | None) -> None:
            if result is not None:
                self._decide(lambda: self._accept(proposal_id, *result))

        title = f"Edit proposal #{p.id} ({p.kind}), then accept it:"
        self.app.push_screen(EditMemoryDialog(p.key_text, p.value_text, title, "Accept"), done)

    def action_reject(self) -> None:
        if (p := self.selected) is not None:
            self._decide(lambda: self._reject(p.id))

    def _accept(self, proposal_id: int, key: str | None = None, value: str | None = None) -> str:
        w = self.agent.accept_proposal(proposal_id, key, value)
        return f"accepted proposal #{proposal_id}: memory #{w.id} {w.key} = {w.value}"

    def _reject(self, proposal_id: int) -> str:
        self.agent.reject_proposal(proposal_id)
        return f"rejected proposal #{proposal_id}: nothing stored"

    def _decide(self, act: Callable[[], str]) -> None:
        """Accept or reject one proposal, say what happened, and refresh every view of it."""
        try:
            self.notify(act(), markup=False)
        except MemchatError as exc:
            self.notify(str(exc), severity="error", markup=False)
        self.app.proposals_changed()  # type: ignore[attr-defined]

    def palette_commands(self) -> Iterable[SystemCommand]:
        for title, help_text, action in PALETTE:
            yield SystemCommand(title, help_text, getattr(self, f"action_{action}"))
