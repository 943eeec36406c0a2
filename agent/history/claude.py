"""Reading Claude's data export (Settings > Privacy > Export data).

Its `conversations.json` is a list of conversations: `{"uuid", "name", "created_at": ISO,
"updated_at", "account", "chat_messages": [{"uuid", "sender": "human" | "assistant", "text",
"content": [{"type": "text", "text"} | {"type": "tool_use" | "tool_result" | "thinking" |
"image", ...}], "created_at", "attachments": [{"file_name", "extracted_content"}],
"files": [{"file_name"}]}]}`. Messages are in the order shown; there are no branches.

A message's text is its `text` blocks when it has content blocks (its `text` field then holds
stand-ins for the blocks the app cannot show elsewhere), else its `text` field. Tool traffic
and the model's thinking are left out; images and attached files become placeholders.
"""

from __future__ import annotations

from agent.history.conversation import Item, Message, iso_time
from agent.history.json_items import (
    ShapeError,
    as_object,
    list_field,
    read_envelope,
    text_field,
)

ROLE_OF = {"human": "user", "assistant": "assistant"}


def looks_like(value: object) -> bool:
    """Whether an element of conversations.json is shaped like a Claude conversation."""
    return isinstance(value, dict) and "chat_messages" in value


def read_conversation(data: object, position: int) -> Item:
    """The `position`-th (1-based) element of conversations.json as a Conversation, or Damaged
    with the reason."""
    return read_envelope(data, position, (("uuid",), "name", "created_at"), (iso_time, _messages))


def _messages(data: dict[str, object]) -> list[Message]:
    chat = list_field(data, "chat_messages")
    if chat is None:
        raise ShapeError("chat_messages is missing")
    messages = []
    for index, raw in enumerate(chat):
        message = _message(as_object(raw, f"chat_messages[{index}]"), f"chat_messages[{index}].")
        if message is not None:
            messages.append(message)
    return messages


def _message(message: dict[str, object], where: str) -> Message | None:
    role = ROLE_OF.get(text_field(message, "sender", where) or "")
    if role is None:
        return None
    msg_id = text_field(message, "uuid", where)
    if not msg_id:
        raise ShapeError(f"{where}uuid is missing")
    text = _text(message, where)
    if not text.strip():
        return None
    return Message(msg_id, role, text, iso_time(message.get("created_at")))


def _text(message: dict[str, object], where: str) -> str:
    content = list_field(message, "content", where)
    if content:
        body = _blocks_text(content, where + "content")
    else:
        body = text_field(message, "text", where) or ""
    pieces = [body] if body else []
    pieces += [
        f"[attachment: {name}]" if name else "[attachment]" for name in _files(message, where)
    ]
    return "\n".join(pieces)


def _blocks_text(blocks: list[object], where: str) -> str:
    """The text blocks, one per line, with `[image]` for an image; tool use, tool results and
    thinking are not the conversation."""
    pieces = []
    for index, raw in enumerate(blocks):
        block = as_object(raw, f"{where}[{index}]")
        kind = text_field(block, "type", f"{where}[{index}].")
        if kind is None:
            raise ShapeError(f"{where}[{index}].type is missing")
        if kind == "text":
            text = text_field(block, "text", f"{where}[{index}].")
            if text:
                pieces.append(text)
        elif kind == "image":
            pieces.append("[image]")
    return "\n".join(pieces)


def _files(message: dict[str, object], where: str) -> list[str]:
    """The names of the message's attachments and files, each once ("" when it has none)."""
    names: list[str] = []
    for key in ("attachments", "files"):
        for index, raw in enumerate(list_field(message, key, where) or []):
            attached = as_object(raw, f"{where}{key}[{index}]")
            name = text_field(attached, "file_name", f"{where}{key}[{index}].") or ""
            if name not in names or not name:
                names.append(name)
    return names
