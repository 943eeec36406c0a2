"""What every export reader yields: conversations of messages in the order the user last saw
them, or a damaged conversation with the reason it cannot be imported."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

FORMATS = ("chatgpt", "claude", "transcript")
ROLES = ("user", "assistant")


class ExportError(Exception):
    """The file as a whole cannot be read (missing, not an export of a known format, empty
    archive): one line saying why."""


@dataclass(frozen=True)
class Message:
    """One message: `id` is unique within its conversation and the same in every later export
    of it (the source id that makes a repeated import add nothing)."""

    id: str
    role: str  # user | assistant
    text: str  # as exported; the importer cleans it
    at: datetime | None = None  # naive UTC; None when the export gives no time


@dataclass(frozen=True)
class Conversation:
    id: str  # the export's conversation id (stable across exports)
    title: str
    created_at: datetime | None  # naive UTC
    messages: list[Message] = field(default_factory=list)


@dataclass(frozen=True)
class Damaged:
    """A conversation that cannot be imported: `id` and `title` as far as they could be read
    ("#3" when the export gives no id), `reason` one line."""

    id: str
    title: str
    reason: str


Item = Conversation | Damaged


def naive_utc(moment: datetime) -> datetime:
    """`moment` in UTC without tzinfo (how the database stores times)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def epoch_time(value: object) -> datetime | None:
    """A Unix time in seconds (ChatGPT's `create_time`) as naive UTC; None when absent or
    not a plausible time."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(float(value), UTC).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        return None


def iso_time(value: object) -> datetime | None:
    """An ISO 8601 time ("2024-03-05T10:00:00.123456Z", Claude's `created_at`) as naive UTC;
    None when absent or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        return naive_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None
