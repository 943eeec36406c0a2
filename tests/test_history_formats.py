"""The readers of chat-history exports (agent/history): ChatGPT's current branch and what it
leaves out, Claude's blocks and attachments, transcripts and their stable ids, telling the
formats apart, one-line errors, and damage that costs only the damaged conversation."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from agent.history.conversation import Conversation, Damaged, ExportError, Item, epoch_time
from agent.history.formats import Export, read_export
from tests.history_exports import (
    BRANCHED_CURRENT,
    BRANCHED_DISCARDED,
    CHATGPT_START,
    MEMCHAT_START,
    chatgpt_branched_conversation,
    chatgpt_conversation,
    chatgpt_export,
    chatgpt_image_part,
    chatgpt_message,
    chatgpt_tree,
    claude_block,
    claude_conversation,
    claude_export,
    claude_message,
    memchat_export_rows,
    start_plus,
    write_chatgpt_zip,
    write_claude_zip,
    write_json,
    write_memchat_export,
    write_transcript,
)

HELLO = [("user", "Hello there"), ("assistant", "Hi! How can I help?")]


def only(export: Export) -> Conversation:
    """The export's one item, which must be a readable conversation."""
    assert len(export.items) == 1
    item = export.items[0]
    assert isinstance(item, Conversation), item
    return item


def texts(item: Item) -> list[tuple[str, str]]:
    assert isinstance(item, Conversation), item
    return [(message.role, message.text) for message in item.messages]


def all_text(export: Export) -> str:
    return "\n".join(
        message.text
        for item in export.items
        if isinstance(item, Conversation)
        for message in item.messages
    )


def read_chatgpt(tmp_path: Path, *conversations: Any, fmt: str | None = None) -> Export:
    return read_export(write_json(tmp_path / "conversations.json", list(conversations)), fmt)


def read_claude(tmp_path: Path, *conversations: Any) -> Export:
    return read_export(write_json(tmp_path / "conversations.json", list(conversations)))


# ChatGPT -----------------------------------------------------------------------------------


def test_chatgpt_keeps_exactly_the_current_branch(tmp_path: Path) -> None:
    export = read_chatgpt(tmp_path, chatgpt_branched_conversation("b1"))
    conversation = only(export)
    assert export.format == "chatgpt"
    expected = [(f"b1-{key}", role, text) for key, role, text in BRANCHED_CURRENT]
    assert [(m.id, m.role, m.text) for m in conversation.messages] == expected
    for text in BRANCHED_DISCARDED:
        assert text not in all_text(export)


def test_chatgpt_without_current_node_takes_the_newest_leaf(tmp_path: Path) -> None:
    conversation = chatgpt_branched_conversation("b1")
    del conversation["current_node"]
    assert texts(only(read_chatgpt(tmp_path, conversation)))[-1][1] == BRANCHED_CURRENT[-1][2]
    # Make the regenerated-away reply the newest leaf: its branch is then the one read.
    conversation["mapping"]["a2-old"]["message"]["create_time"] = CHATGPT_START + 3600
    got = texts(only(read_chatgpt(tmp_path, conversation)))
    assert got[-1] == ("assistant", "About two million.")
    assert "Some 2.1 million in the city itself." not in [text for _, text in got]


def test_chatgpt_leaves_out_system_tool_hidden_and_thoughts(tmp_path: Path) -> None:
    export = read_chatgpt(tmp_path, chatgpt_conversation("c1", "Hi", HELLO))
    assert texts(only(export)) == HELLO
    assert "NOISE" not in all_text(export)


def test_chatgpt_ids_times_and_titles(tmp_path: Path) -> None:
    untitled = chatgpt_conversation("c2", "x", HELLO, create_time=CHATGPT_START + 600)
    del untitled["title"], untitled["conversation_id"]  # the id then comes from "id"
    export = read_chatgpt(tmp_path, chatgpt_conversation("c1", "Greetings", HELLO), untitled)
    first, second = export.items
    assert isinstance(first, Conversation) and isinstance(second, Conversation)
    assert (first.id, first.title, first.created_at) == ("c1", "Greetings", start_plus(0))
    assert [(m.id, m.at) for m in first.messages] == [
        ("c1-0", start_plus(0)),
        ("c1-1", start_plus(1)),
    ]
    assert (second.id, second.title, second.created_at) == ("c2", "", start_plus(10))


def test_chatgpt_message_id_falls_back_to_the_node_id_and_time_to_none(tmp_path: Path) -> None:
    message = chatgpt_message("m", "user", "no id, no time")
    del message["id"]
    conversation = chatgpt_conversation("c1", "t", [message], noise=False)
    got = only(read_chatgpt(tmp_path, conversation)).messages
    assert [(m.id, m.text, m.at) for m in got] == [("node-0", "no id, no time", None)]


def test_chatgpt_placeholders_for_attachments(tmp_path: Path) -> None:
    transcribed = {"content_type": "audio_transcription", "text": "spoken words"}
    parts = [
        chatgpt_image_part(),
        "What is in this picture?",
        chatgpt_image_part("audio_asset_pointer"),
        transcribed,
        chatgpt_image_part("video_container_asset_pointer"),
        {"content_type": "file_asset_pointer"},
    ]
    conversation = chatgpt_conversation("c1", "t", [chatgpt_message("m", "user", parts)])
    expected = "[image]\nWhat is in this picture?\n[audio]\nspoken words\n[video]\n[attachment]"
    assert texts(only(read_chatgpt(tmp_path, conversation))) == [("user", expected)]


def test_chatgpt_skips_empty_and_unshown_messages_and_keeps_shown_code(tmp_path: Path) -> None:
    turns = [
        chatgpt_message("a", "user", "  "),  # empty after stripping
        chatgpt_message("b", "assistant", "browsing", content_type="tether_browsing_display"),
        chatgpt_message("c", "assistant", "print(1)", content_type="code"),  # to the user
        chatgpt_message("d", "user", "replaced below"),
        chatgpt_message("e", "assistant", "search('x')", recipient="browser"),
    ]
    turns[3]["content"] = {"content_type": "unknown_kind", "data": 1}  # neither parts nor text
    got = texts(only(read_chatgpt(tmp_path, chatgpt_conversation("c1", "t", turns))))
    assert got == [("assistant", "print(1)")]


def test_chatgpt_keeps_giant_messages_and_control_characters(tmp_path: Path) -> None:
    giant = "x" * 2_000_000
    odd = "bell\x07 escape\x1b[31m nul\x00 end"
    conversation = chatgpt_conversation("c1", "t", [("user", giant), ("assistant", odd)])
    assert texts(only(read_chatgpt(tmp_path, conversation))) == [
        ("user", giant),
        ("assistant", odd),
    ]


# Claude ------------------------------------------------------------------------------------


def test_claude_messages_ids_times_and_title(tmp_path: Path) -> None:
    export = read_claude(tmp_path, claude_conversation("k1", "Planning", HELLO))
    conversation = only(export)
    assert export.format == "claude"
    assert (conversation.id, conversation.title) == ("k1", "Planning")
    assert conversation.created_at is not None and conversation.created_at.isoformat() == (
        "2024-03-05T10:00:00"
    )
    got = [(m.id, m.role, m.text, m.at and m.at.isoformat()) for m in conversation.messages]
    assert got == [
        ("k1-0", "user", "Hello there", "2024-03-05T10:00:00"),
        ("k1-1", "assistant", "Hi! How can I help?", "2024-03-05T10:01:00"),
    ]


def test_claude_text_blocks_only_with_placeholders_and_attachments(tmp_path: Path) -> None:
    blocks = [
        claude_block("thinking", "NOISE thinking"),
        claude_block("image"),
        claude_block("text", "Let me look."),
        claude_block("tool_use", "NOISE query"),
        claude_block("tool_result", "NOISE result"),
        claude_block("text", "Found it."),
    ]
    stand_in = "This block is not supported on your current device yet. NOISE"
    reply = claude_message("r", "assistant", stand_in, content=blocks)
    question = claude_message(
        "q", "human", "See these", attachments=["notes.txt"], files=["photo.png", "notes.txt"]
    )
    old_style = claude_message("o", "human", "only the text field", content=[])
    other = claude_message("s", "system", "NOISE from another sender")
    export = read_claude(
        tmp_path, claude_conversation("k1", "t", [question, reply, old_style, other])
    )
    assert texts(only(export)) == [
        ("user", "See these\n[attachment: notes.txt]\n[attachment: photo.png]"),
        ("assistant", "[image]\nLet me look.\nFound it."),
        ("user", "only the text field"),
    ]
    assert "NOISE" not in all_text(export)


# Transcripts -------------------------------------------------------------------------------


def test_plain_transcript_labels_and_continuation_lines(tmp_path: Path) -> None:
    path = write_transcript(
        tmp_path / "trip plans.txt",
        [
            "Exported from somewhere, 2024",  # before the first label: ignored
            "",
            "User: Where should I go?",
            "assistant:   Somewhere warm.",
            "  Like Lisbon.",
            "",
            "Or Seville.",
            "HUMAN:I like Lisbon",
            "Me: really",
            "AI: Good choice.",
            "ChatGPT: (a second voice)",
            "Claude: and a third",
        ],
    )
    export = read_export(path, "transcript")  # the first line has no label: not told apart
    conversation = only(export)
    assert export.format == "transcript"
    assert (conversation.id, conversation.title, conversation.created_at) == (
        "trip plans.txt",
        "trip plans",
        None,
    )
    assert texts(conversation) == [
        ("user", "Where should I go?"),
        ("assistant", "Somewhere warm.\n  Like Lisbon.\n\nOr Seville."),
        ("user", "I like Lisbon"),
        ("user", "really"),
        ("assistant", "Good choice."),
        ("assistant", "(a second voice)"),
        ("assistant", "and a third"),
    ]
    assert all(message.at is None for message in conversation.messages)


def test_transcript_ids_stay_when_the_file_grows_or_is_resaved(tmp_path: Path) -> None:
    lines = ["User: hi", "Assistant: hello", "over two lines", "User: hi", "Assistant: bye"]
    before = only(read_export(write_transcript(tmp_path / "t.txt", lines))).messages
    ids = [message.id for message in before]
    assert len(set(ids)) == 4 and ids[2] == ids[0] + "#2"
    grown = write_transcript(tmp_path / "t.txt", [*lines, "User: hi", "Assistant: new"])
    after = only(read_export(grown)).messages
    assert [message.id for message in after[:4]] == ids
    assert after[4].id == ids[0] + "#3"
    # Windows line ends and trailing blanks do not change the ids.
    resaved = tmp_path / "t.txt"
    resaved.write_bytes("\r\n".join(line + "  " for line in lines).encode())
    assert [message.id for message in only(read_export(resaved)).messages] == ids


def test_memchat_export_sessions_become_conversations(tmp_path: Path) -> None:
    sessions = [("Morning", [("user", "hi"), ("assistant", "hello")]), ("", [("user", "again")])]
    rows = memchat_export_rows("alice", sessions, first_session_id=7, first_turn_id=40)
    turn_rows = [row for row in rows if row["type"] == "turns"]
    rows = [row for row in rows if row["type"] != "turns"] + turn_rows[::-1]  # any row order
    export = read_export(write_memchat_export(tmp_path / "backup.jsonl", rows))
    assert export.format == "transcript"
    first, second = export.items
    assert isinstance(first, Conversation) and isinstance(second, Conversation)
    assert (first.id, first.title, first.created_at) == ("alice/7", "Morning", MEMCHAT_START)
    got = [(m.id, m.role, m.text, m.at) for m in first.messages]
    assert got == [
        ("40", "user", "hi", MEMCHAT_START),
        ("41", "assistant", "hello", MEMCHAT_START.replace(minute=1)),
    ]
    assert (second.id, second.title, texts(second)) == ("alice/8", "", [("user", "again")])


def test_memchat_export_bad_lines_cost_their_session_or_themselves(tmp_path: Path) -> None:
    sessions = [("good", [("user", "fine")]), ("bad", [("user", "x"), ("assistant", "y")])]
    rows: list[Any] = memchat_export_rows("bob", sessions)
    rows[-2] = {**rows[-2], "text": 12}  # the bad session's second turn (line 7)
    rows.append("{not json")  # line 9
    rows.append({"type": "turns", "id": 99, "session_id": 55, "role": "user", "text": "z"})
    path = write_memchat_export(tmp_path / "e.jsonl", rows, end=False)
    items = read_export(path).items
    assert [type(item).__name__ for item in items] == [
        "Conversation",
        "Damaged",
        "Damaged",
        "Damaged",
        "Damaged",
    ]
    assert texts(items[0]) == [("user", "fine")]
    assert items[1] == Damaged("bob/2", "bad", "line 7: text is a number, not a string")
    assert items[2].id == "line 9" and "not JSON" in items[2].reason
    assert items[3].id == "line 10" and "session 55" in items[3].reason
    assert items[4].id == "line 11" and "cut short" in items[4].reason


def test_memchat_export_of_an_unknown_version_is_refused(tmp_path: Path) -> None:
    path = write_memchat_export(tmp_path / "e.jsonl", memchat_export_rows("a", []), version=9)
    with pytest.raises(ExportError, match="version 9 is not supported"):
        read_export(path)


# Telling the formats apart -----------------------------------------------------------------


FORMS = {
    "chatgpt-zip": "chatgpt",
    "chatgpt-zip-in-a-folder": "chatgpt",
    "claude-zip": "claude",
    "chatgpt-json": "chatgpt",
    "claude-json": "claude",
    "txt": "transcript",
    "jsonl": "transcript",
}


def write_form(form: str, folder: Path) -> Path:
    """HELLO as the one conversation of a file of form `form` (a key of FORMS)."""
    chatgpt = [chatgpt_conversation("c", "t", HELLO)]
    claude = [claude_conversation("c", "t", HELLO)]
    if form.startswith("chatgpt-zip"):
        inside = "export-2024/" if form.endswith("folder") else ""
        return write_chatgpt_zip(folder / "a.zip", chatgpt, folder=inside)
    if form == "claude-zip":
        return write_claude_zip(folder / "b.zip", claude)
    if form.endswith("json"):
        data = chatgpt_export(chatgpt) if form == "chatgpt-json" else claude_export(claude)
        return write_json(folder / "c.json", data)
    if form == "txt":
        return write_transcript(folder / "c", [f"{role.title()}: {text}" for role, text in HELLO])
    return write_memchat_export(folder / "e.jsonl", memchat_export_rows("c", [("t", HELLO)]))


@pytest.mark.parametrize("form", FORMS)
def test_each_form_is_told_apart_and_read(tmp_path: Path, form: str) -> None:
    path = write_form(form, tmp_path)
    export = read_export(path)
    assert export.format == FORMS[form]
    assert texts(only(export)) == HELLO
    assert read_export(path, FORMS[form]) == export  # the format given says the same


def one_line_error(path: Path, fmt: str | None = None) -> str:
    with pytest.raises(ExportError) as caught:
        read_export(path, fmt)
    message = str(caught.value)
    assert "\n" not in message and message
    return message


def test_the_conversations_json_nearest_the_top_of_a_zip(tmp_path: Path) -> None:
    path = write_chatgpt_zip(tmp_path / "a.zip", [chatgpt_conversation("c", "t", HELLO)])
    with zipfile.ZipFile(path, "a") as archive:
        old = [chatgpt_conversation("old", "t", [("user", "NOISE")])]
        archive.writestr("backup/old/conversations.json", json.dumps(old))
    assert texts(only(read_export(path))) == HELLO


def test_unknown_format_and_format_that_does_not_fit(tmp_path: Path) -> None:
    chatgpt = write_chatgpt_zip(tmp_path / "a.zip", [chatgpt_conversation("c", "t", HELLO)])
    claude = write_json(tmp_path / "k.json", [claude_conversation("k", "t", HELLO)])
    text = write_transcript(tmp_path / "t.txt", ["User: hi"])
    jsonl = write_memchat_export(tmp_path / "e.jsonl", memchat_export_rows("p", []))
    message = one_line_error(text, "html")
    assert message == "unknown format 'html'; one of chatgpt, claude, transcript"
    assert "is a Claude export, not a ChatGPT one" in one_line_error(claude, "chatgpt")
    assert "is a ChatGPT export, not a Claude one" in one_line_error(chatgpt, "claude")
    assert "is a zip archive, not a transcript" in one_line_error(chatgpt, "transcript")
    assert "is a JSON list, not a transcript" in one_line_error(claude, "transcript")
    assert "is not a ChatGPT export: expected a list of conversations, found no JSON" in (
        one_line_error(text, "chatgpt")
    )
    assert "is a memchat export, not a Claude export" in one_line_error(jsonl, "claude")
    bracket = write_transcript(tmp_path / "b.txt", ["[saved 2024-05-01]", "User: hi"])
    assert "cannot tell" in one_line_error(bracket)
    assert texts(only(read_export(bracket, "transcript"))) == [("user", "hi")]
    odd = write_transcript(tmp_path / "odd.txt", ["no labels here"])
    assert "is not a transcript" in one_line_error(odd, "transcript")


def test_files_that_are_no_export_give_one_line(tmp_path: Path) -> None:
    assert "no such file" in one_line_error(tmp_path / "missing.zip")
    assert "is a folder" in one_line_error(tmp_path)
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 this is no zip")
    assert "cannot read the zip archive" in one_line_error(broken)
    empty_zip = tmp_path / "other.zip"
    with zipfile.ZipFile(empty_zip, "w") as archive:
        archive.writestr("shared_conversations.json", "[]")
    assert "holds no conversations.json" in one_line_error(empty_zip)
    prose = write_transcript(tmp_path / "notes.txt", ["Dear diary,", "User: later"])
    expected = (
        f"cannot tell the format of {prose}: not a ChatGPT or Claude export, nor a transcript "
        "(give --format chatgpt|claude|transcript)"
    )
    assert one_line_error(prose) == expected
    obj = write_json(tmp_path / "obj.json", {"mapping": {}})
    assert "cannot tell" in one_line_error(obj)
    assert "expected a list of conversations, found an object" in one_line_error(obj, "chatgpt")
    unknown = write_json(tmp_path / "list.json", [{"a": 1}])
    assert "cannot tell" in one_line_error(unknown)


def test_an_empty_list(tmp_path: Path) -> None:
    bare = write_json(tmp_path / "conversations.json", [])
    assert "holds no conversations" in one_line_error(bare)
    assert read_export(bare, "claude") == Export("claude", [])
    assert read_export(write_chatgpt_zip(tmp_path / "a.zip", [])) == Export("chatgpt", [])


# Damage ------------------------------------------------------------------------------------


def three_conversations(fmt: str) -> list[dict[str, Any]]:
    if fmt == "chatgpt":
        return [chatgpt_conversation(f"c{n}", f"T{n}", HELLO) for n in (1, 2, 3)]
    return [claude_conversation(f"c{n}", f"T{n}", HELLO) for n in (1, 2, 3)]


@pytest.mark.parametrize("fmt", ["chatgpt", "claude"])
def test_a_cut_file_keeps_the_conversations_before_the_cut(tmp_path: Path, fmt: str) -> None:
    text = json.dumps(three_conversations(fmt), indent=2)
    cut = text[: text.index("Hi! How can I help?", text.index('"T3"')) + 5]
    path = tmp_path / "conversations.json"
    path.write_text(cut, encoding="utf-8")
    items = read_export(path).items  # told apart by the whole conversations before the cut
    assert [item.id for item in items] == ["c1", "c2", "#3"]
    assert all(texts(item) == HELLO for item in items[:2])
    assert isinstance(items[2], Damaged)
    assert items[2].reason.startswith("the file is cut or not JSON here (line ")


def test_a_cut_between_conversations_and_a_cut_first_one(tmp_path: Path) -> None:
    text = json.dumps(three_conversations("chatgpt"))
    path = tmp_path / "conversations.json"
    path.write_text(text[: text.index('{"title": "T3"') - 2], encoding="utf-8")  # after c2's }
    items = read_export(path).items
    assert [item.id for item in items] == ["c1", "c2", "#3"]
    assert "expected ',' or ']'" in items[2].reason  # type: ignore[union-attr]
    path.write_text(text[:500], encoding="utf-8")  # inside the first: its key tells the format
    export = read_export(path)
    assert export.format == "chatgpt" and [type(i) for i in export.items] == [Damaged]


def test_a_file_that_is_not_json_at_all(tmp_path: Path) -> None:
    path = tmp_path / "conversations.json"
    path.write_text("<html>not an export</html>", encoding="utf-8")
    assert "found no JSON (line 1: Expecting value)" in one_line_error(path, "chatgpt")
    path.write_text('"just a string"', encoding="utf-8")
    assert "found a string" in one_line_error(path, "claude")


def break_chatgpt(conversation: dict[str, Any], how: str) -> Any:
    """`conversation` damaged one way (`how` names the field the reason must name)."""
    node = conversation["mapping"]["node-6"]  # the first visible message's node
    message = node["message"]
    if how == "not an object":
        return ["a list"]
    if how == "mapping":
        conversation["mapping"] = ["a", "list"]
    elif how == "parts":
        message["content"]["parts"] = "a string"
    elif how == "parts[0]":
        message["content"]["parts"] = [42]
    elif how == "author.role":
        message["author"]["role"] = 7
    elif how == "content":
        del message["content"]
    elif how == "metadata":
        message["metadata"] = ["x"]
    elif how == "title":
        conversation["title"] = 3.5
    elif how == "conversation_id":
        conversation["conversation_id"] = 12
    elif how == "mapping['node-6']":
        conversation["mapping"]["node-6"] = "a string"
    elif how == "parent":
        node["parent"] = "nowhere"
    elif how == "current_node":
        conversation["current_node"] = "nowhere"
    elif how == "cycle":
        conversation["mapping"]["node-0"]["parent"] = "node-6"
        conversation["mapping"]["root"]["parent"] = "node-6"
    return conversation


@pytest.mark.parametrize(
    "how",
    [
        "not an object",
        "mapping",
        "parts",
        "parts[0]",
        "author.role",
        "content",
        "metadata",
        "title",
        "conversation_id",
        "mapping['node-6']",
        "parent",
        "current_node",
        "cycle",
    ],
)
def test_a_damaged_chatgpt_conversation_costs_only_itself(tmp_path: Path, how: str) -> None:
    damaged = break_chatgpt(chatgpt_conversation("c2", "Two", HELLO), how)
    good = [chatgpt_conversation(f"c{n}", "t", HELLO) for n in (1, 3)]
    items = read_chatgpt(tmp_path, good[0], damaged, good[1], fmt="chatgpt").items
    assert [texts(items[0]), texts(items[2])] == [HELLO, HELLO]
    assert isinstance(items[1], Damaged), items[1]
    assert items[1].id in ("c2", "#2") and "\n" not in items[1].reason
    named = {"not an object": "not an object", "cycle": "cycle", "parent": "'nowhere'"}
    assert named.get(how, how) in items[1].reason


def test_chatgpt_damage_reasons_read_well(tmp_path: Path) -> None:
    conversations = [
        break_chatgpt(chatgpt_conversation("c1", "One", HELLO), "cycle"),
        break_chatgpt(chatgpt_conversation("c2", "Two", HELLO), "current_node"),
        break_chatgpt(chatgpt_conversation("c3", "Three", HELLO), "parts"),
        {"title": "no id", "mapping": {}},
    ]
    assert read_chatgpt(tmp_path, *conversations).items == [
        Damaged("c1", "One", "the parent links form a cycle at node 'node-6'"),
        Damaged("c2", "Two", "current_node 'nowhere' names no node in mapping"),
        Damaged("c3", "Three", "mapping['node-6'].message.content.parts is a string, not a list"),
        Damaged("#4", "no id", "no conversation id (conversation_id or id)"),
    ]


def test_a_cycle_without_current_node(tmp_path: Path) -> None:
    nodes = [("a", "b", None), ("b", "a", chatgpt_message("m", "user", "hi"))]
    conversation = chatgpt_tree("c1", "t", nodes, current_node=None)
    (item,) = read_chatgpt(tmp_path, conversation, fmt="chatgpt").items
    assert isinstance(item, Damaged) and "cycle" in item.reason


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("chat_messages", "chat_messages is an object, not a list"),
        ("message", "chat_messages[1] is a string, not an object"),
        ("block", "chat_messages[1].content[0] is a number, not an object"),
        ("text", "chat_messages[1].content[0].text is a list, not a string"),
        ("uuid", "chat_messages[1].uuid is missing"),
        ("attachments", "chat_messages[1].attachments is a string, not a list"),
        ("name", "name is a number, not a string"),
    ],
)
def test_a_damaged_claude_conversation_costs_only_itself(
    tmp_path: Path, how: str, reason: str
) -> None:
    damaged = claude_conversation("k2", "Two", HELLO)
    message = damaged["chat_messages"][1]
    if how == "chat_messages":
        damaged["chat_messages"] = {"a": 1}
    elif how == "message":
        damaged["chat_messages"][1] = "a string"
    elif how == "block":
        message["content"] = [5]
    elif how == "text":
        message["content"][0]["text"] = ["x"]
    elif how == "name":
        damaged["name"] = 5
    else:
        message[how] = "a string" if how == "attachments" else None
    good = [claude_conversation(f"k{n}", "t", HELLO) for n in (1, 3)]
    items = read_claude(tmp_path, good[0], damaged, good[1]).items
    assert [texts(items[0]), texts(items[2])] == [HELLO, HELLO]
    title = "" if how == "name" else "Two"
    assert items[1] == Damaged("k2", title, reason)


def test_claude_conversation_without_uuid(tmp_path: Path) -> None:
    conversation = claude_conversation("k1", "Lost", HELLO)
    del conversation["uuid"]
    items = read_claude(tmp_path, claude_conversation("k0", "t", HELLO), conversation).items
    assert items[1] == Damaged("#2", "Lost", "no conversation id (uuid)")


def deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_deep_nesting_costs_one_conversation_or_the_file(tmp_path: Path) -> None:
    good = [json.dumps(c) for c in three_conversations("chatgpt")]
    path = tmp_path / "conversations.json"
    deeply = '{"title": "deep", "mapping": ' + deep(100_000) + "}"
    path.write_text(f"[{good[0]}, {deeply}, {good[1]}]", encoding="utf-8")
    items = read_export(path).items
    assert [item.id for item in items] == ["c1", "#2", "c2"]
    assert items[1] == Damaged("#2", "", "JSON nested too deeply to read")
    path.write_text(f"[{good[0]}, {deeply[:-1]}", encoding="utf-8")  # never closed
    assert [item.id for item in read_export(path).items] == ["c1", "#2"]
    path.write_text('{"a": ' + deep(100_000) + "}", encoding="utf-8")
    assert "nested too deeply" in one_line_error(path, "chatgpt")
    lines = write_memchat_export(tmp_path / "e.jsonl", [deep(100_000)])
    assert read_export(lines).items[0] == Damaged("line 2", "", "JSON nested too deeply to read")


def test_bytes_that_are_not_utf8_are_replaced(tmp_path: Path) -> None:
    text = json.dumps([chatgpt_conversation("c1", "t", [("user", "caf@"), ("assistant", "ok")])])
    path = tmp_path / "conversations.json"
    path.write_bytes(text.encode().replace(b"caf@", b"caf\xe9\xff"))
    assert texts(only(read_export(path)))[0] == ("user", "caf\ufffd\ufffd")
    transcript = tmp_path / "t.txt"
    transcript.write_bytes(b"\xef\xbb\xbfUser: na\xefve\nAssistant: fine\n")  # BOM, then Latin-1
    assert texts(only(read_export(transcript))) == [("user", "na\ufffdve"), ("assistant", "fine")]
    transcript.write_bytes("User: naïve\r\nAssistant: ok".encode("utf-16"))  # with its BOM
    assert texts(only(read_export(transcript))) == [("user", "naïve"), ("assistant", "ok")]


def test_times_are_naive_utc() -> None:
    assert epoch_time(CHATGPT_START) == start_plus(0)
    assert start_plus(0).tzinfo is None
