"""Which reader an export file needs, and reading it: `read_export(path, fmt)`.

The files it takes: a ChatGPT or Claude data-export zip (each holds a `conversations.json`,
ChatGPT's maybe in a subfolder), a bare `conversations.json` of either, a plain-text
transcript, or a `memchat export` JSON Lines file. Without a format it tells them apart by
content: a zip or a JSON list is ChatGPT's when its conversations have a `mapping`, Claude's
when they have `chat_messages`; a memchat export starts with its header line; a transcript's
first non-blank line starts with `User:`, `Human:` or `Assistant:`.

What makes the whole file unreadable (missing, not an export, a broken zip) is an ExportError
of one line; damage inside the file costs only the conversations it touches (Damaged items).
Bytes that are not UTF-8 are read as U+FFFD rather than refused.
"""

from __future__ import annotations

import codecs
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agent.history import chatgpt, claude, transcript
from agent.history.conversation import FORMATS, Damaged, ExportError, Item
from agent.history.json_items import Unreadable, array_items, skip_space, top_level_kind

Reader = Callable[[object, int], Item]
READERS: dict[str, Reader] = {
    "chatgpt": chatgpt.read_conversation,
    "claude": claude.read_conversation,
}
NAMES = {"chatgpt": "ChatGPT", "claude": "Claude", "transcript": "transcript"}
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a local file header; an empty archive's end
MEMBER = "conversations.json"
# Other files of each export, to name the format of a zip whose list is empty.
ZIP_HINTS = {
    "chat.html": "chatgpt",
    "message_feedback.json": "chatgpt",
    "users.json": "claude",
    "projects.json": "claude",
}
# A broken archive, an encrypted member (RuntimeError), an unknown compression method
# (NotImplementedError), a member cut short (EOFError) or corrupted (zlib.error).
ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    RuntimeError,
    NotImplementedError,
    EOFError,
    zlib.error,
)
# What a shape check in a reader might still raise on input nobody foresaw: it costs the one
# conversation, not the import.
KEYS = {"chatgpt": "mapping", "claude": "chat_messages"}  # a conversation's telltale key
READ_ERRORS = (TypeError, ValueError, KeyError, AttributeError, IndexError, RecursionError)


@dataclass(frozen=True)
class Export:
    format: str  # "chatgpt" | "claude" | "transcript"
    items: list[Item]  # Conversation or Damaged, in file order


@dataclass(frozen=True)
class _Source:
    name: str  # the path, for messages
    text: str
    members: list[str] | None  # the zip's file names; None when not a zip


def read_export(path: Path, fmt: str | None = None) -> Export:
    """The conversations of the export at `path`, in format `fmt` (None: tell it from the
    content). ExportError (one line) when the file cannot be read as that."""
    if fmt is not None and fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    path = Path(path)
    source = _load(path)
    # A transcript may start with "[" too ("[saved 2024-05-01]"): given as one, it is read so.
    is_list = source.text.startswith("[", skip_space(source.text)) and fmt != "transcript"
    if source.members is not None or is_list:
        return _read_list(source, fmt)
    if transcript.is_memchat_export(source.text):
        if fmt not in (None, "transcript"):
            raise ExportError(f"{source.name} is a memchat export, not a {NAMES[fmt]} export")
        return Export("transcript", transcript.read_memchat_export(source.text, source.name))
    if fmt in READERS:
        kind = top_level_kind(source.text)
        raise ExportError(
            f"{source.name} is not a {NAMES[fmt]} export: expected a list of conversations, "
            f"found {kind}"
        )
    return _read_text(path, source, fmt)


def _load(path: Path) -> _Source:
    if path.is_dir():
        raise ExportError(f"{path} is a folder, not an export file")
    try:
        with path.open("rb") as stream:
            magic = stream.read(4)
        if magic in ZIP_MAGIC or path.suffix.lower() == ".zip":
            return _load_zip(path)
        return _Source(str(path), decode(path.read_bytes()), None)
    except FileNotFoundError as exc:
        raise ExportError(f"{path}: no such file") from exc
    except OSError as exc:
        raise ExportError(f"cannot read {path}: {exc.strerror or exc}") from exc


def decode(data: bytes) -> str:
    """Bytes as text: UTF-8, with U+FFFD for what is not (an export with a few bad bytes is
    still worth reading), without a byte-order mark; UTF-16 when such a mark says so (what
    Windows Notepad once saved a transcript as)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace").removeprefix("\ufeff")
    return data.decode("utf-8", errors="replace").removeprefix("\ufeff")


def _load_zip(path: Path) -> _Source:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            member = conversations_member(names)
            if member is None:
                raise ExportError(f"{path}: the zip archive holds no {MEMBER}")
            data = archive.read(member)
    except ZIP_ERRORS as exc:
        raise ExportError(f"cannot read the zip archive {path}: {_first_line(exc)}") from exc
    return _Source(str(path), decode(data), names)


def conversations_member(names: list[str]) -> str | None:
    """The archive's conversations.json: the one nearest the top (ChatGPT's newer exports put
    it in a folder); `shared_conversations.json` and the like are other lists."""
    found = [name for name in names if name.rsplit("/", 1)[-1] == MEMBER]
    return min(found, key=lambda name: (len(name), name), default=None)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).splitlines()
    return lines[0] if lines else type(exc).__name__


def _read_list(source: _Source, fmt: str | None) -> Export:
    """A zip's or a bare conversations.json: ChatGPT's or Claude's."""
    if fmt == "transcript":
        raise ExportError(f"{source.name} is a zip archive, not a transcript")
    values = array_items(source.text, source.name)
    found = _list_format(values)
    if fmt is None:
        fmt = found or _zip_hint(source.members) or _text_hint(source.text, values)
        if fmt is None and not values:
            raise ExportError(f"{source.name} holds no conversations")
        if fmt is None:
            raise ExportError(_cannot_tell(source.name))
    elif found is not None and found != fmt:
        raise ExportError(
            f"{source.name} is a {NAMES[found]} export, not a {NAMES[fmt]} one "
            f"(give --format {found})"
        )
    reader = READERS[fmt]
    return Export(fmt, [_item(reader, value, n) for n, value in enumerate(values, start=1)])


def _list_format(values: list[object]) -> str | None:
    """The format the first conversation that shows one has (a damaged first one tells
    nothing)."""
    for value in values:
        if chatgpt.looks_like(value):
            return "chatgpt"
        if claude.looks_like(value):
            return "claude"
    return None


def _zip_hint(members: list[str] | None) -> str | None:
    for name in members or []:
        hint = ZIP_HINTS.get(name.rsplit("/", 1)[-1])
        if hint is not None:
            return hint
    return None


def _text_hint(text: str, values: list[object]) -> str | None:
    """For a list with no conversation to tell by (a file cut inside the first): the format
    whose telltale key comes first in the text."""
    if not values or not isinstance(values[-1], Unreadable):
        return None
    places = {fmt: text.find(f'"{key}"') for fmt, key in KEYS.items()}
    found = [(place, fmt) for fmt, place in places.items() if place >= 0]
    return min(found)[1] if found else None


def _item(reader: Reader, value: object, position: int) -> Item:
    if isinstance(value, Unreadable):
        return Damaged(f"#{position}", "", value.reason)
    try:
        return reader(value, position)
    except READ_ERRORS as exc:
        return Damaged(f"#{position}", "", f"cannot be read ({type(exc).__name__})")


def _read_text(path: Path, source: _Source, fmt: str | None) -> Export:
    """A plain-text transcript (given as one, or found to start like one)."""
    if fmt is None and not transcript.looks_like_text(source.text):
        raise ExportError(_cannot_tell(source.name))
    conversation = transcript.read_text(path, source.text)
    if conversation is None and source.text.startswith("[", skip_space(source.text)):
        raise ExportError(f"{source.name} is a JSON list, not a transcript")
    if conversation is None:
        raise ExportError(
            f"{source.name} is not a transcript: no line starts with User: or Assistant:"
        )
    return Export("transcript", [conversation])


def _cannot_tell(name: str) -> str:
    return (
        f"cannot tell the format of {name}: not a ChatGPT or Claude export, nor a transcript "
        f"(give --format {'|'.join(FORMATS)})"
    )
