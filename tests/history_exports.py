"""Builders of chat-history exports in the layouts agent/history's readers take, for the
reader tests and the importer tests.

ChatGPT and Claude conversations are built as Python dicts shaped like the real exports'
`conversations.json` elements (`chatgpt_conversation`, `claude_conversation`), then written as
a bare JSON file (`write_json`) or as the export zip (`write_chatgpt_zip`, `write_claude_zip`).
Transcripts are written by `write_transcript` (plain text) and `write_memchat_export`
(`memchat export` JSON Lines, rows from `memchat_export_rows`).

Ids and times are predictable so that tests can name what they expect: the i-th visible
message (0-based) of a linear conversation `c` has id `f"{c}-{i}"` and is `i` minutes after
the conversation's start.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

Turn = tuple[str, str] | dict[str, Any]  # (role, text), or a message dict built here

CHATGPT_START = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC, in ChatGPT's epoch seconds
CLAUDE_START = "2024-03-05T10:00:00.000000Z"  # Claude's ISO times


def start_plus(minutes: float, start: float = CHATGPT_START) -> datetime:
    """The naive UTC time `minutes` after `start` (epoch seconds): what the readers give."""
    return datetime(1970, 1, 1) + timedelta(seconds=start + 60 * minutes)


def write_json(path: Path, data: object) -> Path:
    """`data` as a JSON file (UTF-8, indented like the real exports); returns `path`."""
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


# ChatGPT -----------------------------------------------------------------------------------


def chatgpt_message(
    msg_id: str,
    role: str,
    text: str | list[Any],
    *,
    create_time: float | None = None,
    content_type: str | None = None,
    recipient: str = "all",
    hidden: bool = False,
) -> dict[str, Any]:
    """One ChatGPT message. `text` a string: one part of content_type "text" (or, for "code"
    and "execution_output", the content's `text`); a list: those parts, "multimodal_text"."""
    kind = content_type or ("text" if isinstance(text, str) else "multimodal_text")
    if kind in ("code", "execution_output"):
        content: dict[str, Any] = {"content_type": kind, "language": "unknown", "text": text}
    else:
        content = {"content_type": kind, "parts": [text] if isinstance(text, str) else text}
    return {
        "id": msg_id,
        "author": {"role": role, "name": None, "metadata": {}},
        "create_time": create_time,
        "update_time": None,
        "content": content,
        "status": "finished_successfully",
        "end_turn": role == "assistant" or None,
        "weight": 1.0,
        "metadata": {"is_visually_hidden_from_conversation": True} if hidden else {},
        "recipient": recipient,
    }


def chatgpt_image_part(content_type: str = "image_asset_pointer") -> dict[str, Any]:
    """A non-text part of a multimodal message (an image by default; the reader shows it as
    a placeholder such as "[image]")."""
    return {
        "content_type": content_type,
        "asset_pointer": "file-service://file-AbC123",
        "size_bytes": 123456,
        "width": 800,
        "height": 600,
        "metadata": {},
    }


def chatgpt_tree(
    conv_id: str,
    title: str,
    nodes: Sequence[tuple[str, str | None, dict[str, Any] | None]],
    *,
    current_node: str | None,
    create_time: float = CHATGPT_START,
) -> dict[str, Any]:
    """A ChatGPT conversation from (node id, parent id, message) triples, the children lists
    filled in from the parents. `current_node` None leaves the key out."""
    mapping = {
        node_id: {"id": node_id, "message": message, "parent": parent, "children": []}
        for node_id, parent, message in nodes
    }
    for node_id, parent, _ in nodes:
        if parent in mapping:
            mapping[parent]["children"].append(node_id)
    conversation: dict[str, Any] = {
        "title": title,
        "create_time": create_time,
        "update_time": create_time + 3600,
        "mapping": mapping,
        "moderation_results": [],
        "plugin_ids": None,
        "conversation_id": conv_id,
        "default_model_slug": "gpt-4o",
        "is_archived": False,
        "id": conv_id,
    }
    if current_node is not None:
        conversation["current_node"] = current_node
    return conversation


def chatgpt_noise(conv_id: str, create_time: float) -> list[dict[str, Any]]:
    """What a real export holds besides the chat, all of which the reader leaves out: a hidden
    system message, the user's custom instructions, a tool call with its output, thoughts."""
    return [
        chatgpt_message(f"{conv_id}-system", "system", "", create_time=None, hidden=True),
        chatgpt_message(
            f"{conv_id}-context",
            "user",
            "NOISE custom instructions",
            content_type="user_editable_context",
            hidden=True,
        ),
        chatgpt_message(
            f"{conv_id}-call",
            "assistant",
            "print('NOISE')",
            content_type="code",
            recipient="python",
        ),
        chatgpt_message(f"{conv_id}-output", "tool", "NOISE", content_type="execution_output"),
        chatgpt_message(f"{conv_id}-thoughts", "assistant", "NOISE", content_type="thoughts"),
        chatgpt_message(f"{conv_id}-hidden", "assistant", "NOISE hidden reply", hidden=True),
    ]


def chatgpt_conversation(
    conv_id: str,
    title: str,
    turns: Sequence[Turn],
    *,
    create_time: float = CHATGPT_START,
    noise: bool = True,
) -> dict[str, Any]:
    """A ChatGPT conversation without branches whose visible messages are `turns`: (role, text)
    pairs, message i with id f"{conv_id}-{i}" at create_time + i minutes, or message dicts
    (`chatgpt_message`) as they are. With `noise` the chain starts with a root node without a
    message and holds `chatgpt_noise` before the first turn: text containing "NOISE" must
    never be read. current_node is the last node."""
    messages = chatgpt_noise(conv_id, create_time) if noise else []
    for index, turn in enumerate(turns):
        if isinstance(turn, dict):
            messages.append(turn)
        else:
            role, text = turn
            when = create_time + 60 * index
            messages.append(chatgpt_message(f"{conv_id}-{index}", role, text, create_time=when))
    nodes: list[tuple[str, str | None, dict[str, Any] | None]] = [("root", None, None)]
    for index, message in enumerate(messages):
        nodes.append((f"node-{index}", nodes[-1][0], message))
    return chatgpt_tree(conv_id, title, nodes, current_node=nodes[-1][0], create_time=create_time)


# The branched conversation: (message id suffix, role, text) of the branch current_node ends,
# and the texts of the branches left behind (an edited question, a regenerated reply).
BRANCHED_CURRENT = [
    ("u1", "user", "What is the capital of France?"),
    ("a1", "assistant", "Paris."),
    ("u2", "user", "How many people live there?"),
    ("a2", "assistant", "Some 2.1 million in the city itself."),
    ("u3", "user", "And in the whole region?"),
    ("a3", "assistant", "About 12 million in Ile-de-France."),
]
BRANCHED_DISCARDED = ["How big is it?", "About 105 square km.", "About two million."]


def chatgpt_branched_conversation(
    conv_id: str = "branched", title: str = "Paris"
) -> dict[str, Any]:
    """A conversation with an edited user message (u2-old, then u2 as its sibling) and a
    regenerated reply (a2-old, then a2 as its sibling), whose current_node ends the branch
    BRANCHED_CURRENT; message ids are f"{conv_id}-{suffix}". The discarded branches' leaves are
    older than the current one."""

    def say(key: str, role: str, text: str, minute: int) -> dict[str, Any]:
        when = CHATGPT_START + 60 * minute
        return chatgpt_message(f"{conv_id}-{key}", role, text, create_time=when)

    texts = {key: (role, text) for key, role, text in BRANCHED_CURRENT}
    old_question, old_answer, old_reply = BRANCHED_DISCARDED
    system = chatgpt_message(f"{conv_id}-system", "system", "", hidden=True)
    nodes = [
        ("root", None, None),
        ("system", "root", system),
        ("u1", "system", say("u1", *texts["u1"], 1)),
        ("a1", "u1", say("a1", *texts["a1"], 2)),
        ("u2-old", "a1", say("u2-old", "user", old_question, 3)),
        ("a2-old-question", "u2-old", say("a2-oq", "assistant", old_answer, 4)),
        ("u2", "a1", say("u2", *texts["u2"], 5)),
        ("a2-old", "u2", say("a2-old", "assistant", old_reply, 6)),
        ("a2", "u2", say("a2", *texts["a2"], 7)),
        ("u3", "a2", say("u3", *texts["u3"], 8)),
        ("a3", "u3", say("a3", *texts["a3"], 9)),
    ]
    return chatgpt_tree(conv_id, title, nodes, current_node="a3")


def chatgpt_export(conversations: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """ChatGPT's conversations.json: the list of conversations."""
    return list(conversations)


def write_chatgpt_zip(
    path: Path, conversations: Sequence[dict[str, Any]], *, folder: str = ""
) -> Path:
    """A ChatGPT data-export zip: conversations.json (under `folder`, e.g. "export/"), beside
    chat.html, user.json, message_feedback.json and shared_conversations.json (another list,
    which the reader must not take for the conversations)."""
    shared = [
        {"id": "share-1", "conversation_id": "shared", "title": "NOISE", "is_anonymous": True}
    ]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("shared_conversations.json", json.dumps(shared))
        archive.writestr(f"{folder}conversations.json", json.dumps(chatgpt_export(conversations)))
        archive.writestr(f"{folder}chat.html", "<html><body>NOISE</body></html>")
        archive.writestr("user.json", json.dumps({"id": "user-1", "email": "a@example.com"}))
        archive.writestr("message_feedback.json", "[]")
    return path


# Claude ------------------------------------------------------------------------------------


def claude_message(
    msg_id: str,
    sender: str,
    text: str,
    *,
    created_at: str = CLAUDE_START,
    content: list[dict[str, Any]] | None = None,
    attachments: Sequence[str] = (),
    files: Sequence[str] = (),
) -> dict[str, Any]:
    """One Claude message. `sender` "human" or "assistant" ("user" is taken as "human");
    `content` defaults to one text block of `text`; `attachments` and `files` are file
    names."""
    blocks = content if content is not None else [claude_block("text", text)]
    return {
        "uuid": msg_id,
        "text": text,
        "content": blocks,
        "sender": "human" if sender == "user" else sender,
        "created_at": created_at,
        "updated_at": created_at,
        "attachments": [
            {"file_name": name, "file_size": 10, "file_type": "txt", "extracted_content": "NOISE"}
            for name in attachments
        ],
        "files": [{"file_name": name} for name in files],
    }


def claude_block(kind: str, text: str = "") -> dict[str, Any]:
    """A content block: "text" carries `text`; "thinking", "tool_use" and "tool_result" carry
    it where the real ones do (the reader leaves them out); "image" carries none."""
    times = {"start_timestamp": CLAUDE_START, "stop_timestamp": CLAUDE_START}
    if kind == "text":
        return {**times, "type": "text", "text": text, "citations": []}
    if kind == "thinking":
        return {**times, "type": "thinking", "thinking": text, "summaries": []}
    if kind == "tool_use":
        return {**times, "type": "tool_use", "name": "web_search", "input": {"query": text}}
    if kind == "tool_result":
        result = [{"type": "text", "text": text}]
        return {**times, "type": "tool_result", "name": "web_search", "content": result}
    return {**times, "type": kind}


def claude_conversation(
    conv_id: str, name: str, turns: Sequence[Turn], *, created_at: str = CLAUDE_START
) -> dict[str, Any]:
    """A Claude conversation of `turns`: (role, text) pairs, message i with id f"{conv_id}-{i}"
    at created_at + i minutes, or message dicts (`claude_message`) as they are."""
    start = datetime.fromisoformat(created_at.replace("Z", "+00:00"))
    messages = []
    for index, turn in enumerate(turns):
        if isinstance(turn, dict):
            messages.append(turn)
            continue
        when = (start + timedelta(minutes=index)).isoformat().replace("+00:00", "Z")
        messages.append(claude_message(f"{conv_id}-{index}", turn[0], turn[1], created_at=when))
    return {
        "uuid": conv_id,
        "name": name,
        "summary": "",
        "created_at": created_at,
        "updated_at": created_at,
        "account": {"uuid": "account-1"},
        "chat_messages": messages,
    }


def claude_export(conversations: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Claude's conversations.json: the list of conversations."""
    return list(conversations)


def write_claude_zip(path: Path, conversations: Sequence[dict[str, Any]]) -> Path:
    """A Claude data-export zip: conversations.json beside users.json and projects.json."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("conversations.json", json.dumps(claude_export(conversations)))
        archive.writestr("users.json", json.dumps([{"uuid": "account-1", "full_name": "A"}]))
        archive.writestr("projects.json", "[]")
    return path


# Transcripts -------------------------------------------------------------------------------


def write_transcript(path: Path, lines: Sequence[str]) -> Path:
    """A plain-text transcript of `lines` (each ends with a newline)."""
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


MEMCHAT_START = datetime(2024, 5, 1, 9, 0, 0)


def memchat_export_rows(
    profile: str,
    sessions: Sequence[tuple[str, Sequence[tuple[str, str]]]],
    *,
    profile_id: int = 1,
    first_session_id: int = 1,
    first_turn_id: int = 1,
) -> list[dict[str, Any]]:
    """The rows `memchat export` writes (storage/transfer.py) for one profile with `sessions`
    ((label, [(role, text)]) each): the profile, its sessions (session k started k hours after
    MEMCHAT_START), their turns (turn j of a session j minutes after it), and a memory row the
    readers ignore. Session ids and turn ids count up from the first ones given."""
    profile_row = {"type": "profiles", "id": profile_id, "name": profile, "memory_version": 1}
    rows: list[dict[str, Any]] = [{**profile_row, "created_at": "2024-01-01T00:00:00"}]
    turns: list[dict[str, Any]] = []
    turn_id = first_turn_id
    for k, (label, messages) in enumerate(sessions):
        session_id, started = first_session_id + k, MEMCHAT_START + timedelta(hours=k)
        owner = {"profile_id": profile_id}
        session_row = {"type": "sessions", "id": session_id, **owner}
        rows.append(session_row | {"started_at": started.isoformat(), "label": label})
        for j, (role, text) in enumerate(messages):
            when = (started + timedelta(minutes=j)).isoformat()
            turn = {"type": "turns", "id": turn_id, **owner, "session_id": session_id}
            extra = {"speaker": "", "status": "complete", "model": "", "created_at": when}
            turns.append(turn | {"role": role, "text": text} | extra)
            turn_id += 1
    memory = {"type": "memories", "id": 1, "profile_id": profile_id, "key_text": "NOISE"}
    return rows + turns + [memory]


def write_memchat_export(
    path: Path, rows: Sequence[dict[str, Any] | str], *, version: int = 2, end: bool = True
) -> Path:
    """A `memchat export` file: the header, `rows` one a line (a string is written as it is:
    a damaged line), and for version 2 with `end` the end line with the row counts."""
    lines = [json.dumps({"type": "memchat-export", "version": version})]
    counts: dict[str, int] = {}
    for row in rows:
        lines.append(row if isinstance(row, str) else json.dumps(row, ensure_ascii=False))
        if isinstance(row, dict):
            counts[row["type"]] = counts.get(row["type"], 0) + 1
    if version >= 2 and end:
        lines.append(json.dumps({"type": "memchat-export-end", "rows": counts}))
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path
