"""Reading ChatGPT's data export (Settings > Data controls > Export data).

Its `conversations.json` is a list of conversations:
`{"title", "create_time": epoch seconds, "update_time", "current_node": node id,
"conversation_id" (or "id"), "mapping": {node id: {"id", "parent": node id | null,
"children": [node ids], "message": null | {"id", "author": {"role"}, "create_time",
"content": {"content_type", "parts" | "text"}, "recipient", "metadata"}}}}`.

The mapping is a tree: editing a user message or regenerating a reply starts a sibling branch.
The conversation as the user last saw it is the branch that ends at `current_node`, found by
walking the parent links up to the root. Of it only what the user saw as chat is kept: user
and assistant messages with text, not the system prompt, tool calls and their output, hidden
context or the model's thoughts.
"""

from __future__ import annotations

import math

from agent.history.conversation import ROLES, Item, Message, epoch_time
from agent.history.json_items import (
    ShapeError,
    kind_of,
    list_field,
    object_field,
    quote,
    read_envelope,
    text_field,
)

# Content the ChatGPT app does not show as chat text (context, reasoning, tool traffic).
HIDDEN_TYPES = frozenset(
    {
        "user_editable_context",
        "model_editable_context",
        "thoughts",
        "reasoning_recap",
        "execution_output",
        "tether_browsing_display",
        "tether_quote",
        "system_error",
    }
)
# Text kinds whose `parts` must be there.
PART_TYPES = ("text", "multimodal_text")


def looks_like(value: object) -> bool:
    """Whether an element of conversations.json is shaped like a ChatGPT conversation."""
    return isinstance(value, dict) and "mapping" in value


def read_conversation(data: object, position: int) -> Item:
    """The `position`-th (1-based) element of conversations.json as a Conversation, or Damaged
    with the reason."""
    keys = (("conversation_id", "id"), "title", "create_time")
    return read_envelope(data, position, keys, (epoch_time, _messages))


def _messages(data: dict[str, object]) -> list[Message]:
    mapping = object_field(data, "mapping")
    if mapping is None:
        raise ShapeError("mapping is missing")
    messages = []
    for node_id in _branch(mapping, text_field(data, "current_node")):
        message = _message(node_id, _node(mapping, node_id))
        if message is not None:
            messages.append(message)
    return messages


def _node(mapping: dict[str, object], node_id: str) -> dict[str, object]:
    node = mapping[node_id]
    if not isinstance(node, dict):
        raise ShapeError(f"mapping[{quote(node_id)}] is {kind_of(node)}, not an object")
    return node


def _branch(mapping: dict[str, object], current: str | None) -> list[str]:
    """The node ids from the root down to `current` (or, without one, to the latest leaf)."""
    if current is None:
        current = _latest_leaf(mapping)
        if current is None:
            return []
    elif current not in mapping:
        raise ShapeError(f"current_node {quote(current)} names no node in mapping")
    path: list[str] = []
    seen: set[str] = set()
    node_id: str | None = current
    while node_id is not None:
        if node_id in seen:
            raise ShapeError(f"the parent links form a cycle at node {quote(node_id)}")
        seen.add(node_id)
        path.append(node_id)
        parent = text_field(_node(mapping, node_id), "parent", f"mapping[{quote(node_id)}].")
        if parent is not None and parent not in mapping:
            raise ShapeError(f"node {quote(node_id)} has parent {quote(parent)}, not in mapping")
        node_id = parent
    path.reverse()
    return path


def _latest_leaf(mapping: dict[str, object]) -> str | None:
    """Without `current_node`: the leaf whose message is newest (the last in the mapping among
    equals), the likeliest end of what the user last saw."""
    nodes = {key: node for key, node in mapping.items() if isinstance(node, dict)}
    parents = {node.get("parent") for node in nodes.values() if isinstance(node.get("parent"), str)}
    leaves = [key for key in nodes if key not in parents]
    if not leaves and mapping:
        raise ShapeError("mapping has no leaf node (the parent links form a cycle)")
    # reversed: of equal times, max keeps the first it meets, the last in the mapping
    return max(reversed(leaves), key=lambda key: _time_of(nodes[key]), default=None)


def _time_of(node: dict[str, object]) -> float:
    message = node.get("message")
    at = message.get("create_time") if isinstance(message, dict) else None
    return float(at) if isinstance(at, int | float) and not isinstance(at, bool) else -math.inf


def _message(node_id: str, node: dict[str, object]) -> Message | None:
    """The node's message when the user saw it as chat text; None for what is not shown."""
    message = object_field(node, "message", f"mapping[{quote(node_id)}].")
    if message is None:
        return None  # the root (and some placeholders) carry no message
    where = f"mapping[{quote(node_id)}].message."
    role = _role(message, where)
    if role not in ROLES or _hidden(message, where):
        return None
    # An assistant message addressed to a tool ("python", "browser", ...) is a tool call.
    if role == "assistant" and text_field(message, "recipient", where) not in (None, "all"):
        return None
    content = object_field(message, "content", where)
    if content is None:
        raise ShapeError(f"{where}content is missing")
    text = _content_text(content, where + "content.")
    if text is None or not text.strip():
        return None
    msg_id = text_field(message, "id", where) or node_id
    return Message(msg_id, role, text, epoch_time(message.get("create_time")))


def _role(message: dict[str, object], where: str) -> str:
    author = object_field(message, "author", where)
    role = text_field(author, "role", where + "author.") if author is not None else None
    if role is None:
        raise ShapeError(f"{where}author.role is missing")
    return role


def _hidden(message: dict[str, object], where: str) -> bool:
    metadata = object_field(message, "metadata", where)
    return metadata is not None and metadata.get("is_visually_hidden_from_conversation") is True


def _content_text(content: dict[str, object], where: str) -> str | None:
    """The text of a message's content; None for content not shown as chat."""
    content_type = text_field(content, "content_type", where)
    if content_type is None:
        raise ShapeError(f"{where}content_type is missing")
    if content_type in HIDDEN_TYPES:
        return None
    parts = list_field(content, "parts", where)
    if parts is not None:
        return _parts_text(parts, where + "parts")
    if content_type in PART_TYPES:
        raise ShapeError(f"{where}parts is missing")
    return text_field(content, "text", where)  # "code" and the like carry one `text`


def _parts_text(parts: list[object], where: str) -> str:
    """String parts as they are, attachments as short placeholders, one per line."""
    pieces = []
    for index, part in enumerate(parts):
        if isinstance(part, str):
            if part:
                pieces.append(part)
        elif isinstance(part, dict):
            pieces.append(_placeholder(part))
        elif part is not None:
            raise ShapeError(f"{where}[{index}] is {kind_of(part)}, not text or an object")
    return "\n".join(pieces)


def _placeholder(part: dict[str, object]) -> str:
    """What stands for a non-text part: its transcription for audio that has one, else its
    kind in brackets."""
    kind = part.get("content_type")
    kind = kind if isinstance(kind, str) else ""
    spoken = part.get("text")
    if kind == "audio_transcription" and isinstance(spoken, str) and spoken.strip():
        return spoken
    for word in ("video", "audio", "image"):  # video first: a live call has both
        if word in kind:
            return f"[{word}]"
    return "[attachment]"
