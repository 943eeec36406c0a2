"""Rows of the memory panel with buttons: a written memory (undo) and a proposal (accept or
reject). Keys and values are shown literally (`Content`), never parsed as markup."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, Static

from tui.render import one_line

if TYPE_CHECKING:
    from agent.memory.store import Written
    from storage.models import Proposal

VERBS = {"add": "added", "update": "updated", "forget": "forgot", "free": "freed"}


def memory_text(kind: str, key: str, value: str) -> Content:
    """`likes = hiking` (a turn shows just its text), on one line."""
    if kind == "turn":
        return Content(one_line(value, 80))
    return Content.assemble(one_line(key, 40), " = ", one_line(value, 160))


def written_line(written: Written) -> Content:
    """`added #3 preference likes = hiking`; `forgot #3 preference likes = jazz`."""
    verb = VERBS.get(written.action, written.action)
    return Content.assemble(
        (verb, "bold"), f" #{written.id} ", (written.kind, "italic"), " ",
        memory_text(written.kind, written.key, written.value),
    )  # fmt: skip


def proposal_line(proposal: Proposal) -> Content:
    """`proposed #1 preference diet = vegetarian` (or accepted / rejected once decided)."""
    verb = "proposed" if proposal.status in (None, "pending") else proposal.status
    return Content.assemble(
        (verb, "bold"), f" #{proposal.id} ", (proposal.kind, "italic"), " ",
        memory_text(proposal.kind, proposal.key_text, proposal.value_text),
    )  # fmt: skip


class WrittenRow(Horizontal):
    """One memory the turn wrote, with its undo button."""

    class Undo(Message):
        def __init__(self, row: WrittenRow) -> None:
            super().__init__()
            self.row = row

    def __init__(self, written: Written) -> None:
        super().__init__(classes="written-row")
        self.written = written

    def compose(self) -> ComposeResult:
        yield Static(written_line(self.written), classes="written-text")
        yield Button(
            "undo",
            classes="undo",
            compact=True,
            tooltip="forget it" if self.written.action == "add" else "restore the previous value",
        )

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.Undo(self))

    def mark_undone(self, what: str) -> None:
        self.query_one(Button).disabled = True
        self.query_one(".written-text", Static).update(Content(f"undone: {what}"))


class ProposalRow(Vertical):
    """A proposal of the turn (review mode): its text, then accept and reject buttons (grey
    once decided)."""

    class Decide(Message):
        def __init__(self, row: ProposalRow, accept: bool) -> None:
            super().__init__()
            self.row, self.accept = row, accept

    def __init__(self, proposal: Proposal) -> None:
        super().__init__(classes="proposal-row")
        self.proposal = proposal

    def compose(self) -> ComposeResult:
        yield Static(proposal_line(self.proposal), classes="written-text")
        pending = self.proposal.status in (None, "pending")
        with Horizontal(classes="proposal-buttons"):
            yield Button("accept", classes="accept", compact=True, disabled=not pending)
            yield Button("reject", classes="reject", compact=True, disabled=not pending)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.Decide(self, event.button.has_class("accept")))

    def mark(self, proposal: Proposal) -> None:
        """Show the proposal as it is now (decided here or on the review screen, perhaps
        edited): once decided, the buttons go grey."""
        self.proposal = proposal  # a row not composed yet composes from it
        for text in self.query(".written-text").results(Static):
            text.update(proposal_line(proposal))
        for button in self.query(Button):
            button.disabled = proposal.status != "pending"
