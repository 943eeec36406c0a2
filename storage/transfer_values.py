"""Checking and decoding the values of an import file's rows, column by column: each error
is a ValueError whose message names the column and the value (escaped, cut short)."""

from __future__ import annotations

import base64
import binascii
import math
import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Boolean, Column, DateTime, Float, Integer, LargeBinary, String
from sqlalchemy.types import TypeDecorator

from storage.ids import MAX_ID

# Control characters that `profiles create` never leaves in a name (tab and newline aside).
_NAME_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def show(value: Any) -> str:
    """A value for an error message: escaped, on one line, cut short."""
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def decode(column: Column[Any], value: Any) -> Any:
    """The Python value of `column` for a JSON value, or a ValueError saying what is wrong."""
    name, kind = column.name, column.type
    if isinstance(kind, TypeDecorator):  # the embeddings: bytes in Python on every engine
        kind = kind.impl
    if value is None:
        if not column.nullable:
            raise ValueError(f"{name} must not be null")
        return None
    if isinstance(kind, Boolean):
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false, not {show(value)}")
        return value
    if isinstance(kind, Integer):
        if isinstance(value, bool) or not isinstance(value, int) or abs(value) > MAX_ID:
            raise ValueError(f"{name} must be a whole number, not {show(value)}")
        return value
    if isinstance(kind, Float):
        number_ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not number_ok or not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number, not {show(value)}")
        return float(value)
    if isinstance(kind, DateTime):
        return _datetime(name, value)
    if isinstance(kind, LargeBinary):
        if not (
            isinstance(value, dict) and set(value) == {"b64"} and isinstance(value["b64"], str)
        ):
            raise ValueError(f'{name} must be {{"b64": "..."}}, not {show(value)}')
        try:
            return base64.b64decode(value["b64"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"{name} is not valid base64") from exc
    if isinstance(kind, String):  # Text too
        return _text(name, value)
    raise ValueError(f"{name}: unsupported column type {kind}")  # a new column type: say so


def _datetime(name: str, value: Any) -> datetime:
    """A naive UTC datetime from ISO text (an offset, if any, is converted to UTC)."""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be an ISO date and time, not {show(value)}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{name} is not an ISO date and time: {show(value)}") from exc
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def _text(name: str, value: Any) -> str:
    """Text the database can store: a str, valid UTF-8 (JSON's "\\ud800" escapes decode to
    lone surrogates, which no UTF-8 database takes). Lengths are not checked: SQLite does not
    check them either, and the app stores longer slots than String(300) says (a long key)."""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be text, not {show(value)}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{name} is not valid UTF-8 text (a lone surrogate)") from exc
    return value


def check_name(name: str) -> None:
    """A profile name `profiles create` could have made (names are shown in every listing)."""
    if not name.strip() or name != name.strip() or _NAME_CONTROL.search(name) or len(name) > 200:
        raise ValueError(
            f"profile name {show(name)} is not one memchat makes (empty, padded, too long, "
            "or with control characters)"
        )
