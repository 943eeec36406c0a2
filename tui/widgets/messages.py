"""Chat transcript widgets: the user's messages (literal text) and replies (streamed Markdown)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.events import Click
from textual.message import Message
from textual.widgets import Markdown, Static, TextArea

from tui.render import one_line
from tui.terminal import neutralise

if TYPE_CHECKING:
    from agent.turn import TurnResult

# A long paste is stored whole; the transcript shows its beginning.
SHOWN_CHARS = 4000
# A paste longer than this goes in as a marker, not into the editor.
LARGE_PASTE_CHARS = 2000


class ChatInput(TextArea):
    """Multi-line input: Enter sends, Ctrl+J or Alt+Enter starts a new line, paste keeps lines.

    A large paste is not put into the editor (laying out 100 KB of text would freeze the UI):
    a short marker stands in for it and the whole text is sent with the message.
    """

    class Submitted(Message):
        def __init__(self, text: str, typed: str = "") -> None:
            super().__init__()
            self.text = text  # the message, pastes included
            self.typed = typed  # the editor's text when Enter was pressed

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pastes: dict[str, str] = {}  # marker -> pasted text

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.prevent_default()
            event.stop()
            self.post_message(self.Submitted(self.message(), self.text))
            return
        if event.key in ("ctrl+j", "alt+enter"):
            event.prevent_default()
            event.stop()
            self.insert("\n")
        # other keys: Textual goes on to TextArea's own handler (it walks the class hierarchy)

    async def _on_paste(self, event: events.Paste) -> None:
        if len(event.text) <= LARGE_PASTE_CHARS:
            return  # TextArea's own handler inserts it
        event.prevent_default()
        event.stop()
        marker = f"[pasted text #{len(self.pastes) + 1}: {len(event.text):,} characters]"
        self.pastes[marker] = event.text
        self.insert(marker)

    def message(self) -> str:
        """The text to send: the editor's text with each paste marker replaced by its paste."""
        text = self.text
        for marker, pasted in self.pastes.items():
            text = text.replace(marker, pasted)
        return text

    def clear(self) -> Any:
        self.pastes.clear()
        return super().clear()

    def take(self, typed: str) -> None:
        """Remove a sent message (`typed`, the editor's text at Enter) from the editor, keeping
        whatever was typed after Enter and before the chat took the message."""
        rest = self.text[len(typed) :] if self.text.startswith(typed) else self.text
        kept = {m: p for m, p in self.pastes.items() if m in rest}
        self.clear()
        if rest.strip():
            self.text = rest.lstrip()
            self.pastes.update(kept)
            self.move_cursor(self.document.end)


class UserMessage(Static):
    """What the user said, shown exactly as typed (markup is not interpreted)."""

    def __init__(self, text: str) -> None:
        shown = text
        if len(text) > SHOWN_CHARS:
            shown = text[:SHOWN_CHARS] + f"\n… ({len(text) - SHOWN_CHARS:,} more characters)"
        super().__init__(Content(neutralise(shown)), classes="user-message")


def source_line(result: TurnResult) -> Content:
    """What a reply rests on, shown literally under it: `from memory #12 · you told me on 8 May
    2023: "..."`, or for a generated reply `prompt held memories #3 #7`."""
    cited = result.answered.cited
    if not cited:
        return Content("")
    ids = " ".join(f"#{i}" for i in cited)
    plural = "y" if len(cited) == 1 else "ies"
    generated = result.answered.source_kind == "model"
    label = f"prompt held memor{plural} {ids}" if generated else f"from memor{plural} {ids}"
    source = one_line(result.answered.source, 200)
    return Content.styled(f"{label} · {source}" if source else label, "$text-muted")


class Reply(Vertical):
    """One reply: Markdown that grows as tokens arrive; clicking selects it for the panel."""

    class Selected(Message):
        def __init__(self, reply: Reply) -> None:
            super().__init__()
            self.reply = reply

    def __init__(self, status: str = "thinking…") -> None:
        super().__init__(classes="reply")
        self.result: TurnResult | None = None
        self.text = ""
        self.status = status  # shown until the first token arrives
        self._queued: list[str] = []  # streamed pieces not shown yet (see `queue`)
        self._queue_lock = threading.Lock()

    def compose(self) -> ComposeResult:
        yield Markdown("", classes="reply-text")
        yield Static(Content(self.status), classes="reply-status")
        yield Static("", classes="reply-source")

    async def add(self, piece: str) -> None:
        """Append a streamed piece (called on the UI thread)."""
        if not self.text:
            self.query_one(".reply-status", Static).display = False
        self.text += piece
        await self.query_one(Markdown).append(neutralise(piece))  # Textual would pass ESC on

    def queue(self, piece: str) -> bool:
        """Keep a streamed piece for the UI thread (call from the turn's thread); True when it
        is the first since the last `show_queued`, so the caller asks the UI to show them. The
        turn goes on generating while the UI draws, instead of waiting for each token."""
        with self._queue_lock:
            self._queued.append(piece)
            return len(self._queued) == 1

    async def show_queued(self) -> None:
        """Append every queued piece at once (on the UI thread)."""
        with self._queue_lock:
            text, self._queued = "".join(self._queued), []
        if text:
            await self.add(text)

    def finish(self, result: TurnResult) -> None:
        self.result = result
        status = self.query_one(".reply-status", Static)
        status.display = result.stopped or not result.reply
        if result.stopped:
            status.update(Content.styled("⏹ stopped", "$warning"))
        elif not result.reply:
            status.update(Content.styled("(no reply)", "$text-muted"))
        source = self.query_one(".reply-source", Static)
        source.display = bool(result.answered.cited)
        source.update(source_line(result))

    def fail(self, message: str) -> None:
        status = self.query_one(".reply-status", Static)
        status.display = True
        status.update(Content.styled(message, "$error"))

    def on_click(self, _event: Click) -> None:
        self.post_message(self.Selected(self))
