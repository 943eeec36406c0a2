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
| F2 / F3 / F4 / F5 | anywhere | chat / memories / profiles / review |
| Ctrl+P | anywhere | command palette: every action |
| Ctrl+Q | anywhere | quit |
| Enter | chat input | send the message |
| Ctrl+J or Alt+Enter | chat input | new line |
| Escape | chat | stop the reply (what was said is kept, marked as stopped) |
| Ctrl+Up / Ctrl+Down | chat | select an earlier / later reply; the panel shows its memory |
| / | memories | search (an attention read: rows ordered by weight) |
| Enter, Down / Escape | memory search | go to the rows / clear the search |
| e / f / p / u | memories | edit / forget / pin / unpin the selected memory |
| h | memories | search with 1, 2 or 3 hops (each hop reads again with what the last one read) |
| [ / ] | memories | the turn written before / after the selected memory's turn |
| Tab, Enter | memory detail | go to a linked memory (same turn, previous or next turn) |
| a / e / r | review | accept / edit then accept / reject the selected proposal |
| n / s / r / d | profiles | new / switch to / reset / delete the selected profile |

## The memory panel

For the selected reply: the memories it read, each with its weight (bar and number), kind, key
and value (and, when the read took several hops, its weight at each hop: `0.13 → 0.41`, then
the top of each hop's own read); the memories the turn wrote or updated, each with an **undo**
(forget it, or restore the previous value); the memories it **forgot** ("forget that I like
jazz", "I don't live in Lyon anymore"); and in review mode what it **proposes**.

## The memory inspector

Each memory shows its usage now (it grows with every read and write and fades with time; at
capacity the least used memory is freed), when it was last used, where it came from (the turn,
who said it and when), the other memories from the same turn and the turns before and after
it, its history (add, update, forget, free) and the turns that read it. Forgetting a turn that
preferences or facts were drawn from asks whether to forget those too.

## Review mode

With `review = true` in `config.toml` (or `MEMCHAT_REVIEW=1`), the preferences and facts you
state are not stored at once: they wait as proposals, listed in the chat's panel and on the
review screen (F5), until you accept them (as they are, or edited) or reject them.

Press Escape or F1 to close this help.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f1,q", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Markdown(HELP)
