"""The help screen: keys, and what memchat does with what you tell it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# memchat

A local chat agent with a memory you can inspect. Every message is **encoded**, the memory is
**read** with attention (a weight for every memory, summing to 1), the reply is generated with
the read memories and your preferences in the prompt, and the turn and any preference or fact
you stated are **written** (a new value for the same thing updates the old one; the history
keeps both).

## Keys

| key | where | what |
|---|---|---|
| F1 | anywhere | this help |
| F2 / F3 / F4 | anywhere | chat / memories / profiles |
| Ctrl+P | anywhere | command palette: every action |
| Ctrl+Q | anywhere | quit |
| Enter | chat input | send the message |
| Ctrl+J or Alt+Enter | chat input | new line |
| Escape | chat | stop the reply (what was said is kept, marked as stopped) |
| Ctrl+Up / Ctrl+Down | chat | select an earlier / later reply; the panel shows its memory |
| / | memories | search (an attention read: rows ordered by weight) |
| Enter, Down / Escape | memory search | go to the rows / clear the search |
| e / f / p / u | memories | edit / forget / pin / unpin the selected memory |
| n / s / r / d | profiles | new / switch to / reset / delete the selected profile |

## The memory panel

For the selected reply: the memories it read, each with its weight (bar and number), kind, key
and value; and the memories the turn wrote or updated, each with an **undo** (forget it, or
restore the previous value).

Press Escape or F1 to close this help.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f1,q", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Markdown(HELP)
