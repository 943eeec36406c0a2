"""The memory panel: for the selected reply, what it read (with weights) and what it wrote."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, Static

from agent.memory.store import ReadItem, Written
from agent.turn import TurnResult
from tui.render import bar, one_line


def read_line(item: ReadItem) -> Content:
    """`████······ 0.412 preference` over `diet: vegetarian`; the key and value literal."""
    what = (
        one_line(item.value, 160)
        if item.kind == "turn"
        else f"{one_line(item.key, 40)}: {one_line(item.value, 160)}"
    )
    return Content.assemble(
        (bar(item.weight), "$accent"),
        f" {item.weight:.3f} ",
        (item.kind, "bold"),
        f" #{item.id}\n",
        what,
    )


def written_line(written: Written) -> Content:
    """`added #3 preference likes = hiking` (a turn shows just its text)."""
    verb = "added" if written.action == "add" else "updated"
    what = (
        one_line(written.value, 80)
        if written.kind == "turn"
        else Content.assemble(one_line(written.key, 40), " = ", one_line(written.value, 160))
    )
    return Content.assemble((verb, "bold"), f" #{written.id} ", (written.kind, "italic"), " ", what)


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


class MemoryPanel(VerticalScroll):
    """Shows one turn's memory reads and writes; empty until a reply is selected."""

    def show(self, result: TurnResult | None) -> None:
        self.remove_children()
        if result is None:
            self.mount(Static("Select a reply to see the memories it used.", classes="hint"))
            return
        self.mount(Static(Content.assemble(("Read", "bold"), "  weights: softmax over all")))
        if not result.read:
            self.mount(Static("nothing yet: the memory was empty", classes="hint"))
        self.mount_all(Static(read_line(item), classes="read-row") for item in result.read)
        self.mount(Static(Content.assemble(("Written", "bold")), classes="panel-heading"))
        self.mount_all(WrittenRow(w) for w in result.written)
