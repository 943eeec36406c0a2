"""The detail pane of the memory inspector: one memory, its history, its reads, its source.

Every key, value and turn text is shown literally (`Content`), never parsed as markup.
"""

from __future__ import annotations

from datetime import datetime

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from agent.memories import MemoryDetail
from storage.models import MemoryEvent, TurnRead
from tui.render import bar

HEADING = "bold $accent"
MUTED = "dim"


def stamp(value: datetime | None) -> str:
    """A timestamp to the second, or a dash."""
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else "-"


def event_content(event: MemoryEvent) -> Content:
    """One history line: time, action, then old -> new (key and value, literally)."""
    if event.old_key == event.new_key and event.old_value is not None:
        old, new = event.old_value, event.new_value or ""  # the value changed, the key did not
    else:
        old, new = _pair(event.old_key, event.old_value), _pair(event.new_key, event.new_value)
    if old and new and old != new:
        change = Content.assemble(old, (" -> ", MUTED), new)
    else:
        change = Content(new or old)
    turn = f" (turn {event.turn_id})" if event.turn_id is not None else ""
    return Content.assemble(
        (stamp(event.created_at), MUTED), "  ", (f"{event.action:<7}", "bold"), " ", change,
        (turn, MUTED),
    )  # fmt: skip


def _pair(key: str | None, value: str | None) -> str:
    if key is None and value is None:
        return ""
    return f"{key or ''} = {value or ''}"


def read_content(read: TurnRead) -> Content:
    """One read: the turn, the weight (bar and number) and the rank it had in that read."""
    return Content.assemble(
        f"turn {read.turn_id:<5} ", (bar(read.weight), "$accent"), f" {read.weight:.3f}",
        (f"  rank {read.rank + 1}  score {read.score:.2f}", MUTED),
    )  # fmt: skip


def detail_content(detail: MemoryDetail, weight: float | None = None) -> Content:
    """Everything about one memory, as literal text with styled headings."""
    m = detail.memory
    pinned = " · pinned" if m.pinned else ""
    parts: list[Content | str | tuple[str, str]] = [
        (f"#{m.id} {m.kind}", "bold"), (f"{pinned} · usage {m.usage:.2f}", MUTED), "\n",
        (f"created {stamp(m.created_at)} · updated {stamp(m.updated_at)}", MUTED), "\n",
    ]  # fmt: skip
    if weight is not None:
        parts += [("search weight ", MUTED), (bar(weight), "$accent"), f" {weight:.3f}\n"]
    parts += ["\n", ("Key   ", HEADING), m.key_text, "\n", ("Value ", HEADING), m.value_text, "\n"]
    parts += _section("History", [event_content(e) for e in detail.history], "no changes logged")
    reads = [read_content(r) for r in detail.reads]
    parts += _section("Read by turns", reads, "not read by any turn yet")
    source = detail.source_turn
    if source is not None:
        head = f"turn {source.id} · {source.role} · {stamp(source.created_at)}"
        parts += _section("Source turn", [Content.assemble((head, MUTED), "\n", source.text)], "")
    else:
        parts += _section("Source turn", [], "added by hand")
    return Content.assemble(*parts)


def _section(title: str, lines: list[Content], empty: str) -> list[Content | str | tuple]:
    """A blank line, a heading, then one line each (or a muted note when there are none)."""
    body: list[Content | str | tuple] = ["\n", (title, HEADING), "\n"]
    if not lines:
        return [*body, (empty, MUTED), "\n"]
    for line in lines:
        body += [line, "\n"]
    return body


class MemoryDetailView(VerticalScroll):
    """A scrollable pane showing one memory (or a hint when none is selected)."""

    DEFAULT_CSS = """
    MemoryDetailView {
        border: round $primary 50%;
        padding: 0 1;
        &:focus-within { border: round $primary; }
        #memory-detail-text { width: 1fr; }
    }
    """

    def compose(self) -> ComposeResult:
        yield Static(Content("Select a memory to see its history."), id="memory-detail-text")

    def show(self, detail: MemoryDetail | None, weight: float | None = None) -> None:
        """Show `detail` (None: nothing selected); `weight` is its weight in the current search."""
        text = self.query_one("#memory-detail-text", Static)
        if detail is None:
            self.border_title = "memory"
            text.update(Content("Select a memory to see its history."))
            return
        self.border_title = f"memory #{detail.memory.id}"
        text.update(detail_content(detail, weight))
        self.scroll_home(animate=False)
