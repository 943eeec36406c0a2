"""The detail pane of the memory inspector: one memory, its usage, its provenance chain (the
source turn, what else came from it, the turns before and after), its history and its reads.

Every key, value and turn text is shown literally (`Content`), never parsed as markup. The
memories of the chain are links: Enter or a click selects them in the inspector.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.events import Click
from textual.message import Message
from textual.widgets import Static

from agent.callers import is_caller_label
from tui.render import bar, imported_from, one_line
from tui.terminal import neutralise
from tui.widgets.labels import hop_path, minute, stamp

if TYPE_CHECKING:
    from agent.memories import MemoryDetail
    from storage.models import Memory, MemoryEvent, TurnRead

HEADING = "bold $accent"
MUTED = "dim"
HINT = "Select a memory to see its history."


EVENT_NOTES = {"free": "freed at capacity: the least used", "forget": "forgotten"}


def event_content(event: MemoryEvent, caller: str | None = None) -> Content:
    """One history line: time, action, then old -> new (key and value, literally)."""
    if event.old_key == event.new_key and event.old_value is not None:
        old, new = event.old_value, event.new_value or ""  # the value changed, the key did not
        old, new = neutralise(old), neutralise(new)
    else:
        old, new = _pair(event.old_key, event.old_value), _pair(event.new_key, event.new_value)
    if old and new and old != new:
        change = Content.assemble(old, (" -> ", MUTED), new)
    else:
        change = Content(new or old)
    note = f" ({EVENT_NOTES[event.action]})" if event.action in EVENT_NOTES else ""
    by = f", {one_line(caller, 40)}" if caller else ""  # another program's call made it
    turn = f" (turn {event.turn_id}{by})" if event.turn_id is not None else ""
    return Content.assemble(
        (stamp(event.created_at), MUTED), "  ", (f"{event.action:<7}", "bold"), " ", change,
        (note + turn, MUTED),
    )  # fmt: skip


def _pair(key: str | None, value: str | None) -> str:
    """`key = value`; just the text when both are the same (a turn)."""
    if key is None and value is None:
        return ""
    return neutralise((value or "") if key == value else f"{key or ''} = {value or ''}")


def read_content(read: TurnRead, caller: str | None = None) -> Content:
    """One read: the turn, the weight (bar and number) and the rank it had in that read; then
    the program that read it, when not the chat ("mcp: Claude Code")."""
    reader = [("  by ", MUTED), (one_line(caller, 40), "bold")] if caller else []
    return Content.assemble(
        f"turn {read.turn_id:<5} ", (bar(read.weight), "$accent"), f" {read.weight:.3f}",
        (f"  rank {read.rank + 1}  score {read.score:.2f}", MUTED), *reader,
    )  # fmt: skip


def head_content(
    detail: MemoryDetail, weight: float | None = None, hops: tuple[float, ...] = ()
) -> Content:
    """Id, kind, usage now and last use, times, the search weight; then the key and value."""
    m = detail.memory
    pinned = " · pinned" if m.pinned else ""
    parts: list[Content | str | tuple[str, str]] = [
        (f"#{m.id} {m.kind}", "bold"), (pinned, MUTED), "\n",
        ("usage now ", MUTED), (bar(m.usage), "$accent"), f" {m.usage:.2f}",
        (f" · last used {minute(m.used_at)}", MUTED), "\n",
        (f"created {minute(m.created_at)} · updated {minute(m.updated_at)}", MUTED), "\n",
    ]  # fmt: skip
    if weight is not None:
        parts += [("search weight ", MUTED), (bar(weight), "$accent"), f" {weight:.3f}"]
        parts += [(" · hops ", MUTED), hop_path(hops)] if len(hops) > 1 else []
        parts += ["\n"]
    key, value = neutralise(m.key_text), neutralise(m.value_text)
    parts += ["\n", ("Key   ", HEADING), key, "\n", ("Value ", HEADING), value]
    return Content.assemble(*parts)


def source_content(detail: MemoryDetail) -> Content:
    """The turn the memory came from: who said it, when, and its text (or 'added by hand')."""
    parts: list[Content | str | tuple[str, str]] = [("Source turn", HEADING), "\n"]
    source = detail.source_turn
    if source is not None:
        who = f"{source.role} ({source.speaker})" if source.speaker else source.role
        head = f"turn {source.id} · {who} · {stamp(source.created_at)}"
        conversation = detail.conversation
        if conversation is not None and is_caller_label(conversation.label):
            parts += [(head, MUTED), ("  via ", MUTED), (one_line(conversation.label, 40), "bold")]
        else:
            parts += [(head, MUTED)]
        parts += ["\n"]
        if conversation is not None and conversation.source:
            parts += [("imported: ", MUTED), imported_from(conversation), "\n"]
        parts += [neutralise(source.text)]
    elif detail.memory.source_turn_id is not None:
        parts += [(f"turn {detail.memory.source_turn_id} (no longer stored)", MUTED)]
    else:
        parts += [("added by hand", MUTED)]
    return Content.assemble(*parts)


def history_content(detail: MemoryDetail) -> Content:
    callers = detail.callers
    events = [event_content(e, callers.get(e.turn_id or 0)) for e in detail.history]
    parts = _section("History", events, "no changes logged")
    reads = [read_content(r, callers.get(r.turn_id)) for r in detail.reads]
    parts += ["\n", *_section("Read by turns", reads, "not read by any turn yet")]
    return Content.assemble(*parts)


def _section(title: str, lines: list[Content], empty: str) -> list[Content | str | tuple]:
    """A heading, then one line each (or a muted note when there are none)."""
    body: list[Content | str | tuple] = [(title, HEADING), "\n"]
    if not lines:
        return [*body, (empty, MUTED), "\n"]
    for line in lines:
        body += [line, "\n"]
    return body


def link_label(arrow: str, what: str, memory: Memory) -> Content:
    """`› from the same turn  #2 preference likes = hiking` (a turn shows just its text)."""
    text = (
        one_line(memory.value_text, 60)
        if memory.kind == "turn"
        else f"{one_line(memory.key_text, 24)} = {one_line(memory.value_text, 40)}"
    )
    return Content.assemble(
        (f"{arrow} {what} ", MUTED), (f"#{memory.id} ", "bold"), (f"{memory.kind} ", "italic"),
        text,
    )  # fmt: skip


class MemoryLink(Static, can_focus=True):
    """A memory of the chain; Enter or a click selects it in the inspector."""

    BINDINGS = [Binding("enter", "open", "Open", show=False)]
    DEFAULT_CSS = """
    MemoryLink { width: 1fr; padding: 0 0 0 2; }
    MemoryLink:hover { background: $boost; }
    MemoryLink:focus { background: $accent 30%; }
    """

    class Open(Message):
        def __init__(self, memory_id: int) -> None:
            super().__init__()
            self.memory_id = memory_id

    def __init__(self, label: Content, memory_id: int) -> None:
        super().__init__(label, classes="memory-link")
        self.memory_id = memory_id

    def action_open(self) -> None:
        self.post_message(self.Open(self.memory_id))

    def on_click(self, event: Click) -> None:
        event.stop()
        self.action_open()


def chain_links(detail: MemoryDetail) -> list[MemoryLink]:
    """Links to the memories from the same turn, then the previous and next turn memories."""
    turn = detail.memory.kind == "turn"
    what = "derived from this turn" if turn else "from the same turn"
    links = [MemoryLink(link_label("›", what, m), m.id) for m in detail.siblings]
    if detail.previous is not None:
        label = link_label("‹", "previous turn", detail.previous)
        links.append(MemoryLink(label, detail.previous.id))
    if detail.next is not None:
        links.append(MemoryLink(link_label("›", "next turn", detail.next), detail.next.id))
    return links


class MemoryDetailView(VerticalScroll):
    """A scrollable pane showing one memory (or a hint when none is selected)."""

    DEFAULT_CSS = """
    MemoryDetailView {
        border: round $primary 50%;
        padding: 0 1;
        &:focus-within { border: round $primary; }
        #memory-detail-text, #memory-source-text, #memory-history-text { width: 1fr; }
        #memory-source-text, #memory-history-text { margin-top: 1; }
        #memory-chain { height: auto; }
    }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.detail: MemoryDetail | None = None

    def compose(self) -> ComposeResult:
        yield Static(Content(HINT), id="memory-detail-text")
        yield Static(id="memory-source-text")
        yield Vertical(id="memory-chain")
        yield Static(id="memory-history-text")

    def show(
        self,
        detail: MemoryDetail | None,
        weight: float | None = None,
        hops: tuple[float, ...] = (),
    ) -> None:
        """Show `detail` (None: nothing selected); `weight` is its weight in the current search
        and `hops` its weight at each hop of that search."""
        self.detail = detail
        chain = self.query_one("#memory-chain", Vertical)
        chain.remove_children()
        for part in ("#memory-source-text", "#memory-history-text"):
            self.query_one(part).display = detail is not None
        if detail is None:
            self.border_title = "memory"
            self.query_one("#memory-detail-text", Static).update(Content(HINT))
            return
        self.border_title = f"memory #{detail.memory.id}"
        self.query_one("#memory-detail-text", Static).update(head_content(detail, weight, hops))
        self.query_one("#memory-source-text", Static).update(source_content(detail))
        chain.mount_all(chain_links(detail))
        self.query_one("#memory-history-text", Static).update(history_content(detail))
        self.scroll_home(animate=False)
