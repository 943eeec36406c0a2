"""What the command line prints goes through `TerminalSafe`: no text (a model's reply, a stored
memory, a profile name) can drive the terminal.

A terminal acts on control characters: ESC and the 8-bit CSI / OSC open sequences that recolour,
move the cursor, set the clipboard (OSC 52) or hide links (OSC 8); bidi overrides reorder what
is shown. Each such character is printed as its JSON escape (ESC as `\\u001b`): visible, and in
`--json` output still the same string once parsed. The database keeps the text as it was.
"""

from __future__ import annotations

import re
import sys
from typing import Any, TextIO

# C0 controls but tab, newline and carriage return (progress lines redraw with it; it can move
# the cursor only to the start of its own line), DEL, C1 controls, and the bidi marks,
# embeddings, overrides and isolates.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def neutralise(text: str) -> str:
    """`text` with every terminal control character written as `\\uXXXX`."""
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


class TerminalSafe:
    """A text stream writing `neutralise(text)` to `inner`; anything else is `inner`'s."""

    def __init__(self, inner: TextIO) -> None:
        self.inner = inner

    def write(self, text: str) -> int:
        self.inner.write(neutralise(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:  # flush, isatty, fileno, encoding, ...
        return getattr(self.inner, name)


def confirm(question: str) -> bool:
    """Ask on the terminal; anything but y/yes, or no terminal answer at all, is no."""
    print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")
