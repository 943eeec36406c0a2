"""Getting an export's conversations ready to write, without the database: each message
cleaned and checked as a chat message is, dated, and left out when before `--since`; the
conversations in the order they were held, so a later statement updates an earlier one."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from agent.history.conversation import Conversation, Damaged, Item
from agent.text import clean_text, storable_text

# A source id longer than this is stored as its digest (the columns hold 300 characters).
SOURCE_ID_CHARS = 200
# A session's label holds this many characters of the title (the title column holds it all).
LABEL_CHARS = 200


@dataclass(frozen=True)
class ReadyMessage:
    source_id: str
    role: str
    said: str  # cleaned, not empty
    at: datetime


@dataclass(frozen=True)
class Ready:
    """A conversation ready to write: its messages cleaned, dated and in order."""

    source_id: str
    title: str
    started_at: datetime
    messages: list[ReadyMessage]
    before_since: int  # messages left out as said before --since


def source_key(raw: str) -> str:
    """An export's id as stored: itself, or "sha256:<digest>" when too long to store."""
    text = storable_text(raw)
    if len(text) <= SOURCE_ID_CHARS:
        return text
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def ready(
    conversation: Conversation, max_chars: int, since: datetime | None, now: datetime
) -> Ready | Damaged:
    """`conversation` cleaned; Damaged when a message is over `max_chars` (the chat's own
    limit, setting max_message_chars) or two messages share an id. A message without a time
    takes the one before it (the conversation's start for the first; `now` without either)."""
    title = storable_text(clean_text(conversation.title))
    started = conversation.created_at or next(
        (m.at for m in conversation.messages if m.at is not None), now
    )
    messages: list[ReadyMessage] = []
    seen: set[str] = set()
    before_since = 0
    at = started
    for message in conversation.messages:
        said = storable_text(clean_text(message.text))
        key = source_key(message.id)
        if len(said) > max_chars:
            reason = (
                f"message {key} is {len(said):,} characters; the limit is {max_chars:,} "
                "(setting max_message_chars)"
            )
            return Damaged(conversation.id, title, reason)
        if key in seen:
            return Damaged(conversation.id, title, f"two messages have the id {key}")
        seen.add(key)
        at = message.at or at
        if since is not None and at < since:
            before_since += 1
        elif said:
            messages.append(ReadyMessage(key, message.role, said, at))
    return Ready(source_key(conversation.id), title, started, messages, before_since)


def in_time_order(items: list[Item]) -> list[Item]:
    """Conversations oldest first (by start; the undated last, in file order), then the
    damaged ones: a newer conversation's statement then updates an older one's."""
    dated = [i for i in items if isinstance(i, Conversation)]
    order = sorted(
        range(len(dated)),
        key=lambda i: (dated[i].created_at is None, dated[i].created_at or datetime.min, i),
    )
    damaged = [i for i in items if isinstance(i, Damaged)]
    return [dated[i] for i in order] + list(damaged)


def label_of(title: str) -> str:
    """A session label from a title: one line, at most LABEL_CHARS characters."""
    flat = " ".join(title.split())
    return flat if len(flat) <= LABEL_CHARS else flat[: LABEL_CHARS - 1] + "…"
