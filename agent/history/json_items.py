"""Reading the top-level JSON array of an export one element at a time, and checked access to
the fields of the decoded objects.

ChatGPT's and Claude's `conversations.json` are one JSON array of conversations. A download cut
short, or a file damaged in the middle, must cost only the conversation where the damage is:
`array_items` decodes element by element with `json.JSONDecoder().raw_decode`, so every
complete element before the damage is returned, and the damaged one becomes an `Unreadable`
(reading stops there: after broken JSON there is no telling where the next element begins).
An element nested too deeply for the decoder is skipped by a bracket count and reading goes on.

The field helpers raise `ShapeError` with a reason naming the field, which the readers turn
into a `Damaged` conversation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from agent.history.conversation import Conversation, Damaged, ExportError, Item, Message

_SPACE = re.compile(r"[ \t\n\r]*")  # JSON's whitespace, no more
_DECODER = json.JSONDecoder()


class ShapeError(ValueError):
    """A conversation's JSON has a field missing or of the wrong type; the message names the
    field (one line)."""


@dataclass(frozen=True)
class Unreadable:
    """An array element that could not be decoded; `reason` is one line."""

    reason: str


def kind_of(value: object) -> str:
    """How a JSON value's type reads in a reason: "an object", "a string", "null"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    names = {dict: "an object", list: "a list", str: "a string", int: "a number", float: "a number"}
    return names.get(type(value), f"a {type(value).__name__}")


def skip_space(text: str, pos: int = 0) -> int:
    """The first position at or after `pos` that is not JSON whitespace."""
    match = _SPACE.match(text, pos)
    return match.end() if match else pos


def _where(text: str, pos: int) -> tuple[int, int]:
    """Line and column (1-based) of position `pos`."""
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1


def _cut(text: str, pos: int, message: str) -> Unreadable:
    line, column = _where(text, pos)
    return Unreadable(f"the file is cut or not JSON here (line {line}, column {column}: {message})")


def _value_end(text: str, start: int) -> int | None:
    """The end of the JSON value that starts at `start` with a bracket, found by counting
    brackets outside strings (no recursion, so it works where the decoder gives up on depth);
    None when the text ends first."""
    depth, pos, in_string = 0, start, False
    while pos < len(text):
        char = text[pos]
        if in_string:
            if char == "\\":
                pos += 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
            if depth == 0:
                return pos + 1
        pos += 1
    return None


def _decode_at(text: str, pos: int) -> tuple[object | Unreadable, int | None]:
    """The element at `pos` and the position after it (None: reading cannot go on)."""
    try:
        return _DECODER.raw_decode(text, pos)
    except json.JSONDecodeError as exc:
        return _cut(text, exc.pos, exc.msg), None
    except RecursionError:
        end = _value_end(text, pos) if text[pos : pos + 1] in ("[", "{") else None
        if end is None:
            return _cut(text, pos, "nested too deeply, and never closed"), None
        return Unreadable("JSON nested too deeply to read"), end


def top_level_kind(text: str) -> str:
    """The kind of the document's top-level value, read just far enough to tell ("a list"
    from its first character), for messages: "a list", "an object", ..., or "no JSON (line L:
    why)" when the text is not JSON."""
    pos = skip_space(text)
    if text[pos : pos + 1] == "[":
        return "a list"
    try:
        value, _ = _DECODER.raw_decode(text, pos)
    except json.JSONDecodeError as exc:
        return f"no JSON (line {exc.lineno}: {exc.msg})"
    except RecursionError:
        return "JSON nested too deeply to read"
    return kind_of(value)


def array_items(text: str, name: str) -> list[object | Unreadable]:
    """The elements of the JSON array that is the whole of `text`, in order; the first element
    that cannot be decoded is an `Unreadable` and ends the list (unless only its depth was the
    trouble). ExportError when the text is not a JSON array."""
    kind = top_level_kind(text)
    if kind != "a list":
        raise ExportError(f"{name}: expected a list of conversations, found {kind}")
    pos = skip_space(text, skip_space(text) + 1)  # past the "["
    items: list[object | Unreadable] = []
    if text[pos : pos + 1] == "]":
        return items
    while True:
        item, end = _decode_at(text, pos)
        items.append(item)
        if end is None:
            return items
        pos = skip_space(text, end)
        separator = text[pos : pos + 1]
        if separator == "]":
            return items  # what follows the array (if anything) is not ours to judge
        if separator != ",":
            items.append(_cut(text, pos, "expected ',' or ']' after an element"))
            return items
        pos = skip_space(text, pos + 1)


def _typed(data: dict[str, object], key: str, kind: type, expected: str, where: str) -> object:
    """`data[key]`, or None when absent or null; ShapeError naming the field when it is not of
    `kind` (a boolean is no number here, whatever Python says)."""
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ShapeError(f"{where}{key} is {kind_of(value)}, not {expected}")
    return value


def text_field(data: dict[str, object], key: str, where: str = "") -> str | None:
    """A string field: the string, or None when absent or null (ShapeError when not a string).
    `where` is the path to `data` in reasons, e.g. "chat_messages[2]."""
    value = _typed(data, key, str, "a string", where)
    return value if isinstance(value, str) else None


def int_field(data: dict[str, object], key: str, where: str = "") -> int | None:
    """An integer field: the int, or None when absent or null (ShapeError otherwise)."""
    value = _typed(data, key, int, "an integer", where)
    return value if isinstance(value, int) else None


def object_field(data: dict[str, object], key: str, where: str = "") -> dict[str, object] | None:
    """An object field: the dict, or None when absent or null (ShapeError otherwise)."""
    value = _typed(data, key, dict, "an object", where)
    return value if isinstance(value, dict) else None


def list_field(data: dict[str, object], key: str, where: str = "") -> list[object] | None:
    """A list field: the list, or None when absent or null (ShapeError otherwise)."""
    value = _typed(data, key, list, "a list", where)
    return value if isinstance(value, list) else None


def as_object(value: object, where: str) -> dict[str, object]:
    """`value` when it is an object; ShapeError naming `where` otherwise."""
    if not isinstance(value, dict):
        raise ShapeError(f"{where} is {kind_of(value)}, not an object")
    return value


def quote(value: str, limit: int = 60) -> str:
    """`value` quoted for a one-line reason, cut to `limit` characters (ids can be anything)."""
    return repr(value if len(value) <= limit else value[:limit] + "…")


def read_envelope(
    data: object,
    position: int,
    keys: tuple[tuple[str, ...], str, str],
    read: tuple[Callable[[object], datetime | None], Callable[[dict[str, object]], list[Message]]],
) -> Item:
    """The `position`-th (1-based) conversation of an export: `keys` are its id keys (the
    first present wins), its title key and its start-time key; `read` turns the start time's
    value into a time and the conversation object into its messages (raising ShapeError).
    Damaged, with the reason, when the element is not an object or has no id."""
    id_keys, title_key, time_key = keys
    as_time, messages_of = read
    if not isinstance(data, dict):
        return Damaged(f"#{position}", "", f"the conversation is {kind_of(data)}, not an object")
    title = data.get(title_key) if isinstance(data.get(title_key), str) else ""
    try:
        conv_id = next((i for i in (text_field(data, k) for k in id_keys) if i), None)
    except ShapeError as exc:
        return Damaged(f"#{position}", title, str(exc))
    if not conv_id:
        return Damaged(f"#{position}", title, f"no conversation id ({' or '.join(id_keys)})")
    try:
        text_field(data, title_key)  # only to check its type
        messages = messages_of(data)
    except ShapeError as exc:
        return Damaged(conv_id, title, str(exc))
    return Conversation(conv_id, title, as_time(data.get(time_key)), messages)
