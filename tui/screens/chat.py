"""The chat screen: the transcript, the input, and the memory panel of the selected reply."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from agent.errors import MemchatError
from agent.text import clean_text
from tui.render import one_line
from tui.widgets.memory_panel import MemoryPanel
from tui.widgets.messages import ChatInput, Reply, UserMessage
from tui.widgets.panel_rows import ProposalRow, WrittenRow

if TYPE_CHECKING:
    from agent.turn import TurnResult
    from storage.models import Proposal

WELCOME = (
    "Chat with memchat. It remembers what you tell it; the panel on the right shows, for the "
    "selected reply, which memories it read (with their weights) and what it wrote."
)


class ChatScreen(Screen):
    DEFAULT_CSS = """
    #chat-body { height: 1fr; }
    #chat-column { width: 2fr; }
    #transcript { height: 1fr; padding: 0 1; }
    #chat-input { height: 5; border: round $primary; }
    #model-status { color: $text-muted; padding: 0 1; height: auto; display: none; }
    #memory-panel { width: 1fr; min-width: 30; border-left: solid $primary; padding: 0 1; }
    .user-message { margin: 1 0 0 8; padding: 0 1; background: $boost; }
    .reply { height: auto; margin: 1 8 0 0; padding: 0 1; border-left: wide $secondary; }
    .reply.-selected { border-left: wide $accent; background: $boost; }
    .reply Markdown { margin: 0; padding: 0; height: auto; }
    .reply MarkdownParagraph { margin: 0; }
    .reply-status { color: $text-muted; height: auto; }
    .reply-source { height: auto; display: none; }
    .hint { color: $text-muted; }
    .panel-heading { margin-top: 1; }
    .read-row { margin-bottom: 1; }
    .written-row { height: auto; }
    .written-text { width: 1fr; }
    .written-row Button { width: 6; min-width: 6; }
    .proposal-row { height: auto; margin-bottom: 1; }
    .proposal-buttons { height: auto; align-horizontal: right; }
    .proposal-buttons Button { width: 8; min-width: 8; margin-left: 1; }
    """
    BINDINGS = [
        Binding("escape", "stop", "Stop reply"),
        Binding("ctrl+up", "select(-1)", "Earlier reply", show=False),
        Binding("ctrl+down", "select(1)", "Later reply", show=False),
    ]

    class Streamed(Message):
        """`reply` has streamed pieces queued (posted from the turn's thread, which goes on)."""

        def __init__(self, reply: Reply) -> None:
            super().__init__()
            self.reply = reply

    def __init__(self) -> None:
        super().__init__()
        self.stop_event = threading.Event()
        self.replying = False
        self.selected: Reply | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="chat-body"):
            with Vertical(id="chat-column"):
                with VerticalScroll(id="transcript"):
                    yield Static(WELCOME, classes="hint")
                yield Static("", id="model-status")
                yield ChatInput(id="chat-input", soft_wrap=True, show_line_numbers=False)
            yield MemoryPanel(id="memory-panel")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(MemoryPanel).show(None)
        self.query_one(ChatInput).focus()

    def model_status(self, message: str | None) -> None:
        """Show how loading the models goes (None: loaded, hide the line)."""
        line = self.query_one("#model-status", Static)
        line.display = message is not None
        if message is not None:
            line.update(Content.styled(f"⏳ {message}", "$text-muted"))

    @property
    def agent(self):  # type: ignore[no-untyped-def]
        return self.app.agent  # type: ignore[attr-defined]

    # ------------------------------------------------------------ sending and streaming

    async def on_chat_input_submitted(self, message: ChatInput.Submitted) -> None:
        text = clean_text(message.text)
        if not text:
            return
        if self.replying:
            self.notify("Wait for the reply, or press Escape to stop it.", severity="warning")
            return
        self.query_one(ChatInput).take(message.typed)  # keeps what was typed after Enter
        transcript = self.query_one("#transcript", VerticalScroll)
        waiting = not self.app.answers_at_once  # type: ignore[attr-defined]
        reply = Reply("waiting for the models to load…" if waiting else "thinking…")
        await transcript.mount_all([UserMessage(text), reply])
        transcript.scroll_end(animate=False)
        self.replying = True
        self.stop_event.clear()
        self.converse(text, reply)

    @work(thread=True, exclusive=True, group="reply")
    def converse(self, text: str, reply: Reply) -> None:
        """Runs the turn in a thread; tokens and the result come back to the UI thread."""

        def on_token(piece: str) -> None:
            if reply.queue(piece):
                self.post_message(self.Streamed(reply))

        try:
            agent = self.app.wait_for_agent()  # type: ignore[attr-defined]  # built at start
            result = agent.ask(text, on_token=on_token, stop=self.stop_event)
        except MemchatError as exc:
            self.app.call_from_thread(self._failed, reply, str(exc))
            return
        except Exception as exc:  # before the message was stored (the agent says when after)
            failed = f"unexpected error ({type(exc).__name__}: {exc}); your message was not saved"
            self.app.call_from_thread(self._failed, reply, failed, text)
            return
        self.app.call_from_thread(self._finished, reply, result)

    async def on_chat_screen_streamed(self, message: Streamed) -> None:
        await message.reply.show_queued()
        self.query_one("#transcript", VerticalScroll).scroll_end(animate=False)

    async def _finished(self, reply: Reply, result: TurnResult) -> None:
        await reply.show_queued()  # the last pieces may still be queued
        self.replying = False
        reply.finish(result)
        self.select_reply(reply)
        if result.proposed:
            self.app.proposals_changed()  # type: ignore[attr-defined]
            n = len(result.proposed)
            self.notify(
                f"{n} proposal{'s' if n > 1 else ''} waiting: accept in the panel, or review "
                "with F5."
            )

    async def _failed(self, reply: Reply, message: str, unsaved: str = "") -> None:
        """Show a failed turn on one line; a message that was not stored goes back into an
        empty input box, to send again."""
        await reply.show_queued()  # what was said before the failure stays
        self.replying = False
        message = one_line(message, 300)
        chat_input = self.query_one(ChatInput)
        if unsaved and not chat_input.text:
            chat_input.text = unsaved
            message += ": it is back in the input box"
        reply.fail(message)
        self.notify(message, severity="error", markup=False)

    def action_stop(self) -> None:
        if self.replying:
            self.stop_event.set()

    # ------------------------------------------------------------ the memory panel

    def select_reply(self, reply: Reply | None) -> None:
        if self.selected is not None:
            self.selected.remove_class("-selected")
        self.selected = reply
        if reply is not None:
            reply.add_class("-selected")
            reply.scroll_visible()
        result = reply.result if reply else None
        current = self._proposals() if result is not None and result.proposed else {}
        self.query_one(MemoryPanel).show(result, current)

    def on_reply_selected(self, message: Reply.Selected) -> None:
        if message.reply.result is not None:
            self.select_reply(message.reply)

    def action_select(self, step: int) -> None:
        replies = [r for r in self.query(Reply) if r.result is not None]
        if not replies:
            return
        index = (
            replies.index(self.selected) + step if self.selected in replies else len(replies) - 1
        )
        self.select_reply(replies[max(0, min(len(replies) - 1, index))])

    def on_written_row_undo(self, message: WrittenRow.Undo) -> None:
        try:
            done = self.agent.undo(message.row.written)
        except MemchatError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        message.row.mark_undone(done)
        self.notify(done, markup=False)

    # ------------------------------------------------------------ proposals (review mode)

    def _proposals(self) -> dict[int, Proposal]:
        """Every proposal of the profile as it is now, by id (empty if that fails)."""
        try:
            return {p.id: p for p in self.agent.proposals(None)}
        except MemchatError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return {}

    def on_proposal_row_decide(self, message: ProposalRow.Decide) -> None:
        proposal_id = message.row.proposal.id
        try:
            if message.accept:
                written = self.agent.accept_proposal(proposal_id)
                done = f"accepted: memory #{written.id} {written.key} = {written.value}"
            else:
                self.agent.reject_proposal(proposal_id)
                done = f"rejected proposal #{proposal_id}: nothing stored"
        except MemchatError as exc:
            self.notify(str(exc), severity="error", markup=False)
            done = ""
        self.app.proposals_changed()  # type: ignore[attr-defined]
        if done:
            self.notify(done, markup=False)

    def proposals_changed(self) -> None:
        """A proposal was made or decided (here or on the review screen): show it as it is."""
        if self.query(ProposalRow):
            self.query_one(MemoryPanel).update_proposals(self._proposals())

    # ------------------------------------------------------------ profile changes, palette

    def reload(self) -> None:
        """A new profile: a fresh transcript and an empty panel."""
        transcript = self.query_one("#transcript", VerticalScroll)
        transcript.remove_children()
        transcript.mount(
            Static(Content(f"Profile {self.agent.profile_name!r}. {WELCOME}"), classes="hint")
        )
        self.selected = None
        self.query_one(MemoryPanel).show(None)

    def palette_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand(
            "Stop the reply", "Stop generating; keep what was said (Escape)", self.action_stop
        )
        yield SystemCommand(
            "Earlier reply",
            "Show the memory of the previous reply (Ctrl+Up)",
            lambda: self.action_select(-1),
        )
        yield SystemCommand(
            "Later reply",
            "Show the memory of the next reply (Ctrl+Down)",
            lambda: self.action_select(1),
        )
