"""Checking and cleaning text that users give us (messages, keys, values)."""

from __future__ import annotations

import re

from agent.errors import UsageError

# ANSI escape sequences (CSI, OSC and two-byte forms): a paste from a terminal carries them.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]")
# C0 and C1 control characters except tab and newline.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


# What no database text holds: lone surrogates (not UTF-8) and NUL (PostgreSQL's text).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_text(text: str) -> str:
    """`text` with each lone surrogate and NUL character as U+FFFD. A model's output can hold
    either (a server's JSON "\\ud800" or "\\u0000" decodes to one), and storing it failed:
    no UTF-8 text holds a lone surrogate, and PostgreSQL's text holds no NUL."""
    return _UNSTORABLE.sub("\ufffd", text)


def clean_text(text: str) -> str:
    """Remove terminal escape sequences and control characters (tab and newline are kept);
    turn CRLF into LF; strip surrounding whitespace. Markup such as `[bold]` is kept as typed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", _ANSI.sub("", text)).strip()


def check_utf8(text: str, what: str) -> None:
    """Python decodes invalid UTF-8 in argv/stdin to lone surrogates; refuse those."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise UsageError(f"{what} is not valid UTF-8 (byte {exc.start} of the text)") from exc


def clean_message(
    text: str, max_chars: int, what: str = "message", setting: str | None = "max_message_chars"
) -> str:
    """A message ready to store: valid UTF-8, cleaned, not empty, not over `max_chars` (the
    value of `setting`, named in the error; None: a fixed limit)."""
    check_utf8(text, what)
    cleaned = clean_text(text)
    if not cleaned:
        raise UsageError(f"{what} is empty")
    if len(cleaned) > max_chars:
        where = f" (setting {setting})" if setting else ""
        raise UsageError(
            f"{what} is {len(cleaned):,} characters; the limit is {max_chars:,}{where}"
        )
    return cleaned


# The longest profile name: the column is String(200).
MAX_NAME_CHARS = 200


def clean_name(text: str, what: str = "profile name") -> str:
    """A profile name ready to store, cleaned like a message (no escape sequences: names are
    shown in every listing), at most MAX_NAME_CHARS characters."""
    return clean_message(text, MAX_NAME_CHARS, what, setting=None)


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """'1 memory', '2 memories', '0 turns'."""
    return f"{n} {singular if n == 1 else plural or singular + 's'}"
