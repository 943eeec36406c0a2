"""Reading transcripts: a plain-text chat, or a `memchat export` file.

Plain text: a line that starts with a label (`User:`, `Human:`, `Me:` for the user;
`Assistant:`, `AI:`, `ChatGPT:`, `Claude:` for the assistant; any case) starts a message, and
the lines after it without a label continue it. Lines before the first label are ignored. The
file is one conversation named after the file; it has no times. A message's id is made from
its role and text, so the messages of a file that later grows keep their ids.

memchat export (JSON Lines, see storage/transfer.py): a header line
`{"type": "memchat-export", "version": 1 | 2}`, then one row a line, `{"type": TABLE, ...}`.
Only `profiles`, `sessions` and `turns` rows are read: each session is a conversation
("PROFILE/SESSION ID") of its turns in id order.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from agent.history.conversation import (
    ROLES,
    Conversation,
    Damaged,
    ExportError,
    Item,
    Message,
    iso_time,
)
from agent.history.json_items import ShapeError, int_field, kind_of, quote, text_field

ROLE_OF_LABEL = {
    "user": "user",
    "human": "user",
    "me": "user",
    "assistant": "assistant",
    "ai": "assistant",
    "chatgpt": "assistant",
    "claude": "assistant",
}
# The labels that, on the first line, make a text file a transcript without --format (the
# short ones would take too many other files for chats).
DETECTING = ("user", "human", "assistant")
_FIRST = re.compile(r"[^\s][^\r\n]*")
_LABEL = re.compile(r"[ \t]*(" + "|".join(ROLE_OF_LABEL) + r")[ \t]*:[ \t]?", re.IGNORECASE)

HEADER = "memchat-export"
END = "memchat-export-end"
VERSIONS = (1, 2)


def lines_of(text: str) -> list[str]:
    """The lines of `text`, split at line breaks only (str.splitlines would also split at form
    feeds and other control characters, which belong to the text)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _label(line: str) -> tuple[str, str] | None:
    """(role, the rest of the line) when the line starts with a label."""
    match = _LABEL.match(line)
    if match is None:
        return None
    return ROLE_OF_LABEL[match.group(1).lower()], line[match.end() :]


def first_line(text: str) -> str:
    """The first non-blank line, from its first non-blank character (without splitting what
    may be a large file)."""
    match = _FIRST.search(text)
    return match.group() if match else ""


def looks_like_text(text: str) -> bool:
    """Whether the first non-blank line starts with `User:`, `Human:` or `Assistant:`."""
    found = _LABEL.match(first_line(text))
    return found is not None and found.group(1).lower() in DETECTING


def message_id(role: str, text: str, seen: Counter[str]) -> str:
    """A transcript message's id: a hash of its role and text, with `#k` for the k-th repeat
    in the file (so appending messages leaves every earlier id as it was)."""
    digest = hashlib.sha256(f"{role}\n{text}".encode()).hexdigest()[:16]
    seen[digest] += 1
    return digest if seen[digest] == 1 else f"{digest}#{seen[digest]}"


def read_text(path: Path, text: str) -> Conversation | None:
    """The plain-text transcript as one conversation; None when no line has a label."""
    chunks: list[tuple[str, list[str]]] = []
    for line in lines_of(text):
        # Trailing blanks go: an editor re-saving the file may drop them, and the ids must stay.
        line = line.rstrip(" \t")
        labelled = _label(line)
        if labelled is not None:
            chunks.append((labelled[0], [labelled[1]]))
        elif chunks:
            chunks[-1][1].append(line)
    if not chunks:
        return None
    seen: Counter[str] = Counter()
    messages = []
    for role, lines in chunks:
        body = "\n".join(lines).strip()
        if body:
            messages.append(Message(message_id(role, body, seen), role, body))
    return Conversation(path.name, path.stem, None, messages)


def is_memchat_export(text: str) -> bool:
    """Whether the first non-blank line is a memchat export header."""
    first = first_line(text)
    if not first.startswith("{"):
        return False
    try:
        header = json.loads(first)
    except (ValueError, RecursionError):
        return False
    return isinstance(header, dict) and header.get("type") == HEADER


@dataclass
class _Session:
    line: int  # where its row is: the file order of conversations
    id: int
    profile_id: int
    label: str
    started_at: str | None
    turns: dict[int, Message] = field(default_factory=dict)
    damage: str | None = None  # the first bad turn's reason


class _Rows:
    """The readable rows of a memchat export, and what could not be read."""

    def __init__(self) -> None:
        self.profiles: dict[int, str] = {}
        self.sessions: dict[int, _Session] = {}
        self.loose: list[tuple[int, Damaged]] = []  # bad lines no session owns
        self.ended = False

    def bad_line(self, number: int, reason: str, title: str = "") -> None:
        self.loose.append((number, Damaged(f"line {number}", title, reason)))

    def add(self, number: int, raw: str) -> None:
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as exc:
            self.bad_line(number, f"not JSON ({exc.msg}, column {exc.colno})")
            return
        except RecursionError:
            self.bad_line(number, "JSON nested too deeply to read")
            return
        if not isinstance(row, dict) or not isinstance(row.get("type"), str):
            self.bad_line(number, f"{kind_of(row)}, not a row with a 'type'")
            return
        if row["type"] == END:
            self.ended = True
        elif row["type"] in ("profiles", "sessions", "turns"):
            getattr(self, "add_" + row["type"])(number, row)

    def add_profiles(self, number: int, row: dict[str, object]) -> None:
        try:
            profile_id, name = int_field(row, "id"), text_field(row, "name")
        except ShapeError as exc:
            self.bad_line(number, f"profile row: {exc}")
            return
        if profile_id is None or name is None:
            self.bad_line(number, "profile row without an id or a name")
            return
        self.profiles[profile_id] = name

    def add_sessions(self, number: int, row: dict[str, object]) -> None:
        label = row.get("label") if isinstance(row.get("label"), str) else ""
        try:
            ids = int_field(row, "id"), int_field(row, "profile_id")
            text_field(row, "label")
            started = text_field(row, "started_at")
        except ShapeError as exc:
            self.bad_line(number, f"session row: {exc}", label)
            return
        if ids[0] is None or ids[1] is None:
            self.bad_line(number, "session row without an id or a profile_id", label)
        elif ids[0] in self.sessions:
            self.bad_line(number, f"session {ids[0]} is in the file twice", label)
        else:
            self.sessions[ids[0]] = _Session(number, ids[0], ids[1], label, started)

    def add_turns(self, number: int, row: dict[str, object]) -> None:
        try:
            session_id = int_field(row, "session_id")
        except ShapeError as exc:
            self.bad_line(number, f"turn row: {exc}")
            return
        session = None if session_id is None else self.sessions.get(session_id)
        if session is None:
            self.bad_line(number, f"turn row of session {session_id}, which is not in the file")
            return
        try:
            turn_id, message = _turn(row)
        except ShapeError as exc:
            session.damage = session.damage or f"line {number}: {exc}"
            return
        if turn_id in session.turns:
            session.damage = session.damage or f"line {number}: turn {turn_id} is there twice"
        elif message.text.strip():
            session.turns[turn_id] = message

    def items(self, version: int, last_line: int) -> list[Item]:
        placed = [(session.line, self._item(session)) for session in self.sessions.values()]
        placed += self.loose
        if version >= 2 and not self.ended:
            reason = "the file is cut short (no end line): sessions may lack their last turns"
            placed.append((last_line + 1, Damaged(f"line {last_line + 1}", "", reason)))
        return [item for _, item in sorted(placed, key=lambda pair: pair[0])]

    def _item(self, session: _Session) -> Item:
        profile = self.profiles.get(session.profile_id)
        if profile is None:
            reason = f"session {session.id} is of profile {session.profile_id}, not in the file"
            return Damaged(f"line {session.line}", session.label, reason)
        conv_id = f"{profile}/{session.id}"
        if session.damage is not None:
            return Damaged(conv_id, session.label, session.damage)
        messages = [session.turns[turn_id] for turn_id in sorted(session.turns)]
        return Conversation(conv_id, session.label, iso_time(session.started_at), messages)


def _turn(row: dict[str, object]) -> tuple[int, Message]:
    turn_id, role = int_field(row, "id"), text_field(row, "role")
    text = text_field(row, "text")
    if turn_id is None or text is None:
        raise ShapeError("turn row without an id or a text")
    if role not in ROLES:
        shown = "missing" if role is None else quote(role)
        raise ShapeError(f"turn {turn_id}: role {shown} is not user or assistant")
    at = iso_time(text_field(row, "created_at"))
    return turn_id, Message(str(turn_id), role, text, at)


def read_memchat_export(text: str, name: str) -> list[Item]:
    """A memchat export's sessions as conversations, in file order, with a Damaged item for
    each session or line that cannot be read. ExportError when the header is not one."""
    numbered = [(n, line) for n, line in enumerate(lines_of(text), start=1) if line.strip()]
    if not numbered or not is_memchat_export(numbered[0][1]):
        raise ExportError(f"{name} is not a memchat export (no header line)")
    version = json.loads(numbered[0][1]).get("version")
    if isinstance(version, bool) or version not in VERSIONS:
        raise ExportError(f"{name}: memchat export version {version!r} is not supported")
    rows = _Rows()
    for number, raw in numbered[1:]:
        rows.add(number, raw)
    return rows.items(version, numbered[-1][0])
