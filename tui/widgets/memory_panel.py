"""The memory panel: for the selected reply, what it read (with weights, per hop when the read
took several), what it wrote, what it forgot and, in review mode, what it proposes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from tui.render import bar, one_line
from tui.widgets.labels import hop_path
from tui.widgets.panel_rows import ProposalRow, WrittenRow, written_line

if TYPE_CHECKING:
    from agent.memory.store import ReadItem
    from agent.turn import TurnResult
    from storage.models import Proposal

HOP_TOP = 3  # memories listed for each hop of a multi-hop read


def read_line(item: ReadItem, cited: bool = False) -> Content:
    """`████······ 0.412 preference #2 · cited` over `diet: vegetarian` (the key and value
    literal), then `hops 0.13 → 0.41` when the read took several hops. "cited": the reply
    rests on it."""
    what = (
        one_line(item.value, 160)
        if item.kind == "turn"
        else f"{one_line(item.key, 40)}: {one_line(item.value, 160)}"
    )
    parts: list[Content | str | tuple[str, str]] = [
        (bar(item.weight), "$accent"), f" {item.weight:.3f} ", (item.kind, "bold"),
        f" #{item.id}", (" · cited" if cited else "", "bold $success"), "\n", what,
    ]  # fmt: skip
    if len(item.hop_weights) > 1:
        parts += ["\n", ("hops ", "dim"), hop_path(item.hop_weights)]
    return Content.assemble(*parts)


def hop_line(number: int, items: list[ReadItem]) -> Content:
    """`hop 1  #2 0.41 · #1 0.30 · #3 0.10`: the top of one hop's own read."""
    top = " · ".join(f"#{i.id} {i.weight:.2f}" for i in items[:HOP_TOP]) or "nothing"
    return Content.assemble((f"hop {number}", "bold"), "  ", top)


def heading(title: str, note: str = "") -> Static:
    return Static(Content.assemble((title, "bold"), ("  " + note if note else "", "dim")),
                  classes="panel-heading")  # fmt: skip


class MemoryPanel(VerticalScroll):
    """Shows one turn's memory reads and writes; empty until a reply is selected."""

    def show(self, result: TurnResult | None, current: dict[int, Proposal] | None = None) -> None:
        """Show `result` (None: nothing selected); `current` holds its proposals as they are
        now (decided since, or edited), by id."""
        self.remove_children()
        if result is None:
            self.mount(Static("Select a reply to see the memories it used.", classes="hint"))
            return
        hops = len(result.hops)
        note = "weights: softmax over all" + (f" · {hops} hops" if hops > 1 else "")
        self.mount(Static(Content.assemble(("Read", "bold"), "  ", (note, "dim"))))
        if not result.read:
            self.mount(Static("nothing yet: the memory was empty", classes="hint"))
        cited = set(result.cited)
        self.mount_all(
            Static(read_line(item, item.id in cited), classes="read-row") for item in result.read
        )
        if hops > 1:
            self.mount(heading("Hops", "each hop's own read"))
            self.mount_all(Static(hop_line(n, items)) for n, items in enumerate(result.hops, 1))
        self.mount(heading("Written"))
        if not result.written:
            self.mount(Static("nothing", classes="hint"))
        self.mount_all(WrittenRow(w) for w in result.written)
        if result.forgotten:
            self.mount(heading("Forgotten"))
            self.mount_all(Static(written_line(w)) for w in result.forgotten)
        if result.freed:
            self.mount(heading("Freed", "the profile is at capacity: least used first"))
            self.mount_all(Static(written_line(w)) for w in result.freed)
        if result.proposed:
            self.mount(heading("Proposed", "not stored until accepted"))
            current = current or {}
            self.mount_all(ProposalRow(current.get(p.id, p)) for p in result.proposed)
            self.mount(
                Static("Accept or reject here, or edit them in Review (F5).", classes="hint")
            )

    def update_proposals(self, current: dict[int, Proposal]) -> None:
        """Show the shown proposals as they are now (decided elsewhere, perhaps edited)."""
        for row in self.query(ProposalRow):
            if row.proposal.id in current:
                row.mark(current[row.proposal.id])
