"""Hostile input, through the agent API, the command line and both servers (fake models).

Messages, memory keys and values, queries and profile names with control characters, escape
sequences, lone surrogates, bidi overrides, Rich/Textual markup and lengths around the limit
are either stored literally (equal to what `clean_message` documents: escape sequences and
control characters but tab and newline removed, CR and CRLF made LF, ends stripped) or refused
with a one-line error (exit 2, bad usage). Import files that are damaged in any way are
refused in one line (exit 1) and write nothing. A `--db` that is not a memchat database is
refused and left byte for byte as it was. The database passes `PRAGMA integrity_check` after
all of it. Plain cases live in tests/test_cli.py and tests/test_storage.py; these are the
generated ones and the cases those lack.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import io
import json
import shutil
import sqlite3
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from mcp import Client
from mcp.types import CallToolResult, Implementation

from agent.core import Agent
from agent.errors import NotFoundError, UsageError
from agent.memories import WRITABLE_KINDS
from agent.text import clean_message, clean_name, clean_text
from serve.mcp_server import build_server
from serve.openai_app import build_app
from storage import repo
from storage.models import Base
from tests import engines, postgres
from tests.conftest import fake_build_agent, make_fake_agent
from tests.fakes import FakeGenerator, said
from tests.workers import checks
from tui import cli
from tui.args import LARGEST_ID
from tui.terminal import neutralise

pytestmark = pytest.mark.usefixtures("each_engine")

# max_message_chars for the generated cases: text around and beyond it stays cheap.
LIMIT = 64
# Bounded, so the file runs in seconds; deadline off: a first call may load caches. FAST for
# the agent API (milliseconds an example), CLI for the command line (an engine a call).
FAST = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CLI = settings(FAST, max_examples=25)
TABLES = (*Base.metadata.tables, "alembic_version")  # every table the schema has

# Pieces that have broken terminal apps and text pipelines: C0/C1 controls, escape sequences
# (CSI, OSC hyperlink, lone ESC), line and paragraph separators, BOM, bidi overrides and
# isolates, zero-width space, lone surrogates (what Python makes of invalid UTF-8 in argv),
# Rich/Textual markup and actions, and ordinary words the extractor reacts to.
PIECES = [
    "\x00",
    "\x07",
    "\x08",
    "\x1b",
    "\x1b[2J",
    "\x1b[31m",
    "\x1b]8;;http://x\x07",
    "\x1b]0;title\x1b\\",
    "\x1bc",
    "\r",
    "\r\n",
    "\n",
    "\t",
    "\x0b",
    "\x0c",
    "\x7f",
    "\x85",
    "\x9b",
    "\u2028",
    "\u2029",
    "\ufeff",
    "\u202e",
    "\u202d",
    "\u2066",
    "\u2069",
    "\u200b",
    "\ud800",
    "\udfff",
    "\udcff",
    "[bold]",
    "[/]",
    "[/bold]",
    "[link=http://x]",
    "[@click=quit]",
    "[@click=app.quit]",
    "\\[",
    "]",
    " ",
    "My name is Sam",
    "I like jazz",
    "my sister is Alice",
    "é",
    "星球大战",
    "👍",
]


def texts(pieces: int = 12) -> st.SearchStrategy[str]:
    """Text made of arbitrary characters and the hostile pieces above."""
    return st.lists(st.one_of(st.characters(), st.sampled_from(PIECES)), max_size=pieces).map(
        "".join
    )


# Text around and beyond LIMIT characters, before and after cleaning.
long_texts = st.builds(
    lambda n, fill, tail: fill * n + tail,
    st.integers(LIMIT - 8, LIMIT + 8),
    st.sampled_from(["a", "é", "👍", " ", "\x00", "\r\n", "[b]", "\x1b[0m"]),
    texts(3),
)
hostile = st.one_of(texts(), long_texts)


def oracle(text: str, what: str) -> str | UsageError:
    """What the app must store for `text`, or the error it must refuse it with."""
    try:
        return clean_message(text, LIMIT, what)
    except UsageError as exc:
        return exc


def counts(db: engines.Database) -> dict[str, int]:
    """The number of rows of every table."""
    with contextlib.closing(checks.connect(db)) as c:
        return {t: c.execute(f"select count(*) from {t}").fetchone()[0] for t in TABLES}


def assert_intact(db: engines.Database) -> None:
    """The database is sound and its foreign keys all hold (SQLite's checks; PostgreSQL
    enforces both itself, see tests/workers/checks.py)."""
    with contextlib.closing(checks.connect(db)) as c:
        assert checks.engine_problems(c) == []


def db_of(agent: Agent) -> engines.Database:
    """The agent's database: its SQLite file, or its PostgreSQL URL."""
    url = agent.settings.db_url
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else url


# ------------------------------------------------------------------ cleaning itself


@FAST
@given(text=texts(30))
def test_cleaning_is_idempotent_and_leaves_no_controls(text: str) -> None:
    """What is stored holds no escape sequence or control character (tab and newline aside),
    no CR, is stripped, and cleaning it again changes nothing."""
    cleaned = clean_text(text)
    assert clean_text(cleaned) == cleaned
    assert cleaned == cleaned.strip()
    assert not any((ord(c) < 0x20 and c not in "\t\n") or 0x7F <= ord(c) <= 0x9F for c in cleaned)


def _control(c: str) -> bool:
    return ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F


printable = st.lists(
    st.one_of(
        st.characters(exclude_categories=["Cc"]),
        st.sampled_from([p for p in PIECES if not any(map(_control, p))]),
    ),
    max_size=30,
).map("".join)


@FAST
@given(text=printable)
def test_text_without_controls_is_kept_as_typed(text: str) -> None:
    """Markup, bidi overrides, BOM, separators and other characters are data: only the ends
    are stripped."""
    assert clean_text(text) == text.strip()


# ------------------------------------------------------------------ the agent API


@pytest.fixture(scope="module")
def small_agents() -> dict[str, Agent]:
    """The module's agent on each engine, made by the first test that asks for it."""
    return {}


@pytest.fixture
def small_agent(
    small_agents: dict[str, Agent], each_engine: str, tmp_path_factory: pytest.TempPathFactory
) -> Agent:
    """One agent for all examples of every test on this engine: what earlier examples (and
    tests) stored stays around."""
    if each_engine not in small_agents:
        home = tmp_path_factory.mktemp("hostile-api")
        small_agents[each_engine] = make_fake_agent(
            home, db=engines.lasting_db_for(home), max_message_chars=LIMIT
        )
    return small_agents[each_engine]


@FAST
@given(key=hostile, value=hostile, kind=st.sampled_from(WRITABLE_KINDS))
def test_add_memory_stores_literally_or_refuses(
    small_agent: Agent, key: str, value: str, kind: str
) -> None:
    agent = small_agent
    want_key, want_value = oracle(key, "key"), oracle(value, "value")
    refusal = next((w for w in (want_key, want_value) if isinstance(w, UsageError)), None)
    if refusal is not None:
        with pytest.raises(UsageError) as raised:
            agent.add_memory(key, value, kind)
        assert str(raised.value) == str(refusal) and "\n" not in str(raised.value)
    else:
        written = agent.add_memory(key, value, kind)
        assert (written.key, written.value) == (want_key, want_value)
        shown = agent.show(written.id).memory
        assert (shown.key_text, shown.value_text) == (want_key, want_value)
        listed = {m.id: (m.key_text, m.value_text) for m in agent.list_memories()}
        assert listed[written.id] == (want_key, want_value)
        last = agent.history(written.id)[-1]
        assert (last.new_key, last.new_value) == (want_key, want_value)
    assert_intact(db_of(agent))


@FAST
@given(message=hostile)
def test_ask_stores_the_message_literally_or_refuses(small_agent: Agent, message: str) -> None:
    agent = small_agent
    want = oracle(message, "message")
    if isinstance(want, UsageError):
        before = counts(db_of(agent))
        with pytest.raises(UsageError) as raised:
            agent.ask(message)
        assert str(raised.value) == str(want) and "\n" not in str(want)
        assert counts(db_of(agent)) == before  # refused before anything was written
        return
    result = agent.ask(message)
    with agent.sessions() as s:
        turn = repo.get_turn(s, agent.profile_id(), result.user_turn_id)
        assert turn is not None and turn.text == want
    for w in result.written:
        if w.kind == "turn":
            assert said(w.key) == want and w.value == want
            assert agent.show(w.id).memory.key_text == w.key
    assert_intact(db_of(agent))


@FAST
@given(query=hostile, hops=st.integers(1, 3), k=st.integers(1, 10))
def test_search_reads_or_refuses(small_agent: Agent, query: str, hops: int, k: int) -> None:
    agent = small_agent
    if not agent.list_memories():
        agent.add_memory("星球大战", "科幻片 [bold]x[/]")
    want = oracle(query, "query")
    if isinstance(want, UsageError):
        with pytest.raises(UsageError, match="^query "):
            agent.search(query, k, hops)
        return
    result = agent.search(query, k, hops)
    stored = {m.id: (m.key_text, m.value_text) for m in agent.list_memories()}
    assert len(result.hops) == hops and 0 < len(result.results) <= k
    total = sum(r.weight for r in result.results)
    assert 0.0 <= total <= 1.0 + 1e-5
    assert all(stored[r.id] == (r.key, r.value) for r in result.results)


@FAST
@given(
    memory_id=st.one_of(
        st.integers(), st.sampled_from([2**31, -(2**31) - 1, 2**63 - 1, 2**63, -(2**63) - 1])
    )
)
def test_any_unknown_id_is_not_found(small_agent: Agent, memory_id: int) -> None:
    """Ids beyond SQLite's 64-bit range name no memory (they raised OverflowError), nor do
    ids beyond PostgreSQL's 32-bit INTEGER ("integer out of range"); nor any proposal."""
    assume(memory_id not in {m.id for m in small_agent.list_memories()})
    agent = small_agent
    for action in (agent.show, agent.history, agent.forget, lambda i: agent.set_pinned(i, True)):
        with pytest.raises(NotFoundError, match=f"^no memory {memory_id} in profile"):
            action(memory_id)
    for decide in (agent.accept_proposal, agent.reject_proposal):
        with pytest.raises(NotFoundError, match=f"^no proposal {memory_id} in profile"):
            decide(memory_id)


def test_message_at_the_default_limit_is_kept_whole(agent: Agent) -> None:
    limit = agent.settings.max_message_chars
    text = "I like " + "x" * (limit - len("I like "))
    result = agent.ask(text)
    assert next(w for w in result.written if w.kind == "turn").value == text
    with pytest.raises(UsageError, match=f"{limit + 1:,} characters; the limit is {limit:,}"):
        agent.ask(text + "y")
    # characters cleaning removes do not count: a padded message at the limit is kept
    assert agent.ask("\x1b[1m" + text[:-1] + "z" + "\x00" * 10).written[0].value == text[:-1] + "z"


def test_profile_names_are_checked_like_created_ones(tmp_path: Path) -> None:
    """A profile named by a setting (--profile, MEMCHAT_PROFILE) gets the cleaning of
    `profiles create`: escape sequences would reach the terminal in every listing, and a
    lone surrogate cannot be stored (it raised UnicodeEncodeError)."""
    assert make_fake_agent(tmp_path, "\x1b[31mred\x00").profile_name == "red"
    with pytest.raises(UsageError, match="profile name is not valid UTF-8"):
        make_fake_agent(tmp_path, "\udcff")
    with pytest.raises(UsageError, match="profile name is empty"):
        make_fake_agent(tmp_path, " \x07 ")
    with pytest.raises(UsageError, match="the limit is 200$"):
        make_fake_agent(tmp_path, "x" * 201)


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("tau", 0.0, "tau=0.0 must be a finite number above 0"),
        ("tau", float("nan"), "tau=nan must be"),
        ("hop_lambda", float("inf"), "hop_lambda=inf must be a finite number"),
        ("read_k", 0, "read_k=0 must be at least 1"),
        ("hops", 0, "hops=0 must be at least 1"),
        ("max_message_chars", 0, "max_message_chars=0 must be at least 1"),
        ("db", "/tmp/\udcff.db", "setting db is not valid UTF-8"),
        ("db", "/tmp/a\x00b.db", "setting db contains a NUL character"),
    ],
)
def test_settings_that_cannot_work_are_refused(
    tmp_path: Path, setting: str, value: object, message: str
) -> None:
    """tau = 0 made every read weight NaN (and `--json` output invalid JSON); a NUL or a
    lone surrogate in the database path raised from deep inside the driver."""
    with pytest.raises(UsageError, match=message.replace("(", r"\(")):
        make_fake_agent(tmp_path, **{setting: value})


# ------------------------------------------------------------------ the servers

SERVED = settings(FAST, max_examples=25)  # a connection per example


def mcp_call(agent: Agent, tool: str, **arguments: Any) -> CallToolResult:
    """One MCP tool call through the SDK's client, in process."""

    async def go() -> CallToolResult:
        info = Implementation(name="hostile", version="1")
        async with Client(build_server(agent), client_info=info) as client:
            return await client.call_tool(tool, arguments)

    return asyncio.run(go())


def api_post(agent: Agent, body: dict[str, Any]) -> httpx.Response:
    """One POST /v1/chat/completions to `serve openai`'s app, in process."""

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=build_app(agent))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            # json.dumps escapes a lone surrogate (\ud800), as other clients may send it;
            # httpx's own encoder refuses it
            data = json.dumps(body).encode("ascii")
            headers = {"Content-Type": "application/json"}
            return await c.post("/v1/chat/completions", content=data, headers=headers)

    return asyncio.run(go())


def tool_text(result: CallToolResult) -> str:
    return " ".join(getattr(part, "text", "") for part in result.content)


@SERVED
@given(key=hostile, value=hostile)
def test_mcp_add_memory_stores_literally_or_refuses(
    small_agent: Agent, key: str, value: str
) -> None:
    agent = small_agent
    want_key, want_value = oracle(key, "key"), oracle(value, "value")
    result = mcp_call(agent, "add_memory", key=key, value=value)
    refusal = next((w for w in (want_key, want_value) if isinstance(w, UsageError)), None)
    if refusal is not None:
        assert result.is_error and tool_text(result).endswith(str(refusal))
    else:
        assert not result.is_error, tool_text(result)
        written = result.structured_content or {}
        assert (written["key"], written["value"]) == (want_key, want_value)
        shown = agent.show(written["id"]).memory
        assert (shown.key_text, shown.value_text) == (want_key, want_value)
    assert_intact(db_of(agent))


@SERVED
@given(text=hostile, query=hostile)
def test_mcp_remember_and_search_store_literally_or_refuse(
    small_agent: Agent, text: str, query: str
) -> None:
    agent = small_agent
    want = oracle(text, "message")
    result = mcp_call(agent, "remember", text=text)
    if isinstance(want, UsageError):
        assert result.is_error and tool_text(result).endswith(str(want))
    else:
        turn = next(w for w in (result.structured_content or {})["written"] if w["kind"] == "turn")
        assert turn["value"] == want and agent.show(turn["id"]).memory.value_text == want
    want_query = oracle(query, "query")
    found = mcp_call(agent, "search_memory", query=query, k=3)
    if isinstance(want_query, UsageError):
        assert found.is_error and tool_text(found).endswith(str(want_query))
    else:
        stored = {m.id: (m.key_text, m.value_text) for m in agent.list_memories()}
        results = (found.structured_content or {})["results"]
        assert all(stored[r["id"]] == (r["key"], r["value"]) for r in results)
    assert_intact(db_of(agent))


@SERVED
@given(message=hostile, stream=st.booleans())
def test_api_stores_the_message_literally_or_refuses(
    small_agent: Agent, message: str, stream: bool
) -> None:
    agent = small_agent
    want = oracle(message, "message")
    before = counts(db_of(agent))
    said = [{"role": "user", "content": message}]
    response = api_post(agent, {"model": "memchat", "stream": stream, "messages": said})
    if isinstance(want, UsageError):
        assert response.status_code == 400, response.text
        error = response.json()["error"]["message"]
        # an empty string is refused as the request's own fault before it is a message
        assert error == str(want) or (not message.strip() and error.endswith("has no text"))
        assert counts(db_of(agent)) == before  # refused before anything was written
        return
    assert response.status_code == 200, response.text
    with agent.sessions() as s:
        user_turns = [t for t in repo.recent_turns(s, agent.profile_id(), 2) if t.role == "user"]
    assert user_turns[-1].text == want
    assert_intact(db_of(agent))


# ------------------------------------------------------------------ the command line


class Cli:
    """`memchat` in this process with fake models; stdout and stderr captured per call."""

    def __init__(self, home: Path) -> None:
        self.home = home

    def __call__(self, *argv: str, stdin: bytes = b"") -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        saved = sys.stdin
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = cli.main(list(argv))
        finally:
            sys.stdin = saved
        return code, out.getvalue(), err.getvalue()


@contextlib.contextmanager
def cli_in(home: Path, **env: str) -> Iterator[Cli]:
    """The command line with fake models, MEMCHAT_HOME=`home` and `env` set."""
    patch = pytest.MonkeyPatch()
    try:
        for name in ("MEMCHAT_PROFILE", "MEMCHAT_DB", "MEMCHAT_REVIEW"):
            patch.delenv(name, raising=False)
        patch.setenv("MEMCHAT_HOME", str(home))
        for name, value in env.items():
            patch.setenv(name, value)
        patch.setattr(cli, "build_agent", fake_build_agent)
        yield Cli(home)
    finally:
        patch.undo()


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """One home for all examples of the module, max_message_chars = LIMIT."""
    with cli_in(tmp_path_factory.mktemp("hostile-cli"), MEMCHAT_MAX_MESSAGE_CHARS=str(LIMIT)) as c:
        yield c


def assert_refused(result: tuple[int, str, str], status: int, message: str) -> None:
    """Refused with `status` and exactly one line on stderr, nothing on stdout."""
    code, out, err = result
    assert (code, out) == (status, "")
    assert err == f"memchat: error: {message}\n"


@CLI
@given(key=hostile, value=hostile)
def test_cli_add_and_show(run: Cli, key: str, value: str) -> None:
    want_key, want_value = oracle(key, "key"), oracle(value, "value")
    result = run("memories", "add", f"--key={key}", f"--value={value}", "--json")
    refusal = next((w for w in (want_key, want_value) if isinstance(w, UsageError)), None)
    if refusal is not None:
        assert_refused(result, 2, str(refusal))
        return
    code, out, err = result
    assert code == 0 and err == ""
    added = json.loads(out)
    assert (added["key"], added["value"]) == (want_key, want_value)
    code, out, _ = run("memories", "show", str(added["id"]))
    shown = f"key:   {neutralise(want_key)}\nvalue: {neutralise(want_value)}\n"
    assert code == 0 and shown in out  # control characters printed as \uXXXX
    code, out, _ = run("memories", "show", str(added["id"]), "--json")
    assert (json.loads(out)["key"], json.loads(out)["value"]) == (want_key, want_value)
    assert_intact(engines.database(run.home))


def _has_surrogate(text: str) -> bool:
    return any(0xD800 <= ord(c) <= 0xDFFF for c in text)


@CLI
@given(message=hostile, from_stdin=st.booleans())
def test_cli_ask(run: Cli, message: str, from_stdin: bool) -> None:
    """`ask MESSAGE` and `ask -` (standard input, where a lone surrogate arrives as the
    invalid UTF-8 it stands for)."""
    assume(from_stdin or message != "-")  # "-" itself means: read standard input
    if from_stdin:
        result = run("ask", "-", "--json", stdin=message.encode("utf-8", "surrogatepass"))
    else:
        result = run("ask", "--json", "--", message)
    want = oracle(message, "message")
    if from_stdin and _has_surrogate(message):
        assert result[0] == 2 and result[1] == ""
        assert result[2].startswith("memchat: error: standard input is not valid UTF-8 (byte ")
        assert result[2].count("\n") == 1
    elif isinstance(want, UsageError):
        assert_refused(result, 2, str(want))
    else:
        code, out, err = result
        assert code == 0, err
        written = json.loads(out)["written"]
        turns = [w for w in written if w["kind"] == "turn"]
        assert all(said(w["key"]) == want and w["value"] == want for w in turns)
    assert_intact(engines.database(run.home))


@CLI
@given(query=hostile)
def test_cli_search(run: Cli, query: str) -> None:
    run("memories", "add", "--key", "星球大战", "--value", "科幻片")
    result = run("memories", "search", "--json", "--", query)
    want = oracle(query, "query")
    if isinstance(want, UsageError):
        assert_refused(result, 2, str(want))
        return
    code, out, err = result
    assert code == 0, err
    data = json.loads(out)
    assert data["query"] == query and data["results"]


@settings(CLI, max_examples=12)
@given(memory_id=st.integers(min_value=1, max_value=10**30))
@example(memory_id=2**63)
@example(memory_id=99999999999999999999999)
def test_cli_any_memory_id(run: Cli, memory_id: int) -> None:
    """Ids too large for SQLite are a usage error, others not found or shown (they ended in
    an OverflowError traceback)."""
    for action in ("show", "history", "forget", "pin", "unpin"):
        code, out, err = run("memories", action, str(memory_id))
        if memory_id > LARGEST_ID:
            assert (code, out) == (2, "") and err.endswith("is too large (at most 2^63 - 1)\n")
        elif code != 0:
            assert_refused((code, out, err), 1, f"no memory {memory_id} in profile 'default'")


@CLI
@given(name=hostile)
def test_cli_profile_names(run: Cli, name: str) -> None:
    """`--profile NAME`: a name is cleaned as `profiles create` cleans one (at most 200
    characters) or refused; listings never show an escape sequence."""
    try:
        want: str | UsageError = clean_name(name)
    except UsageError as exc:
        want = exc
    result = run(f"--profile={name}", "memories", "add", "--key", "k", "--value", "v")
    if isinstance(want, UsageError):
        assert_refused(result, 2, str(want))
        return
    assert result[0] == 0, result[2]
    code, out, _ = run("profiles", "list", "--json")
    assert want in {p["name"] for p in json.loads(out)}
    code, out, _ = run("profiles", "list")
    assert "\x1b" not in out and "\x00" not in out


def assert_one_line_or_done(result: tuple[int, str, str]) -> None:
    """Done (status 0), or refused in one line on stderr; nothing that could drive a terminal
    printed either way."""
    code, out, err = result
    assert "Traceback" not in err and neutralise(out) == out and neutralise(err) == err
    if code != 0:
        assert code in (1, 2) and out == "" and err.count("\n") == 1, result


@CLI
@given(reply=hostile)
@example(reply="\ud800 a lone surrogate")  # a server's JSON "\ud800": storing it failed
@example(reply="a NUL \x00 in it")  # a server's JSON "\u0000": PostgreSQL's text holds none
def test_cli_a_hostile_reply_is_printed_neutralised(run: Cli, reply: str) -> None:
    """The generator's own text (a model can emit anything): printed with every control
    character as \\uXXXX, in --json the same string once parsed, one turn stored."""

    def stream(self: FakeGenerator, *args: object, **kwargs: object) -> Iterator[str]:
        yield reply

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(FakeGenerator, "stream", stream)
        result = run("ask", "Tell me a story about the sea.")
        assert_one_line_or_done(result)
        assert result[0] == 0
        code, out, err = run("ask", "Tell me a story about the sea.", "--json")
    assert code == 0 and neutralise(out) == out, err
    replied = json.loads(out)["reply"]
    db = engines.database(run.home)
    stored = checks.rows(db, "select text from turns where role = 'assistant' order by id desc")
    assert stored[0][0] == replied  # stored as the model said it, shown escaped
    assert_intact(db)


@CLI
@given(name=hostile, file=hostile)
def test_cli_reset_and_reindex_any_name_or_path(run: Cli, name: str, file: str) -> None:
    """`profiles reset NAME --export FILE` and `--profile NAME reindex` with any text: done,
    or refused in one line; never a traceback."""
    run("memories", "add", "--key", "k", "--value", "v")
    export = str(run.home / "exports" / file[:100])
    assert_one_line_or_done(run("profiles", "reset", name, "--yes", f"--export={export}"))
    assert_one_line_or_done(run("profiles", "reset", name, "--yes"))
    assert_one_line_or_done(run(f"--profile={name}", "reindex"))
    assert_one_line_or_done(run(f"--profile={name}", "reindex", "--force", "--json"))
    assert_intact(engines.database(run.home))


# ------------------------------------------------------------------ import files


@pytest.fixture(scope="module")
def export_lines(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """An export of profile alice with a row in every table: turns, memories with links and
    provenance, events of a forgotten memory, turn reads, proposals."""
    home = tmp_path_factory.mktemp("export-source")
    alice = make_fake_agent(home, "alice")
    alice.ask("My name is Alice and I like jazz.")
    alice.ask("My sister is Eve.")
    gone = alice.add_memory("old", "gone")
    alice.forget(gone.id)
    alice.ask("What music do I like?")
    alice.set_pinned(alice.list_memories("preference")[0].id, True)
    make_fake_agent(home, "alice", review=True).ask("I'm vegetarian.")
    path = home / "alice.jsonl"
    alice.export(path)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    types = {json.loads(line)["type"] for line in lines}
    assert types >= {"sessions", "turns", "memories", "memory_events", "turn_reads", "proposals"}
    return lines


@pytest.fixture(scope="module")
def target_dbs() -> dict[str, engines.Database]:
    """The module's import target on each engine, made by the first test that asks for it."""
    return {}


@pytest.fixture
def target_db(
    target_dbs: dict[str, engines.Database],
    each_engine: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> engines.Database:
    """A database with profile bob in it, closed: it is copied for each import."""
    if each_engine not in target_dbs:
        home = tmp_path_factory.mktemp("import-target")
        bob = make_fake_agent(home, "bob", db=engines.lasting_db_for(home))
        bob.ask("I am Bob and I like tea.")
        bob.add_memory("city", "Paris")
        bob.sessions.kw["bind"].dispose()  # a PostgreSQL template takes no connections
        target_dbs[each_engine] = db_of(bob)
    return target_dbs[each_engine]


def import_into(
    target_db: engines.Database, where: Path, content: bytes
) -> tuple[tuple[int, str, str], engines.Database]:
    """Import `content` as a file into a copy of the target database in `where`, named by
    `--db` (its path, or its URL)."""
    db, source = engines.copy_of(target_db, where), where / "import.jsonl"
    source.write_bytes(content)
    with cli_in(where) as run:
        return run("--db", str(db), "import", str(source)), db


def rows(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines]


def dump(data: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(row) + "\n" for row in data).encode()  # "\\ud800" escaped


def _first(data: list[dict[str, Any]], table: str, n: int = 0) -> dict[str, Any]:
    return [row for row in data if row["type"] == table][n]


def _set(table: str, column: str, value: Any, n: int = 0) -> Callable[[list[dict]], None]:
    def change(data: list[dict[str, Any]]) -> None:
        _first(data, table, n)[column] = value

    return change


def _drop(table: str, n: int = 0) -> Callable[[list[dict]], None]:
    def change(data: list[dict[str, Any]]) -> None:
        data.remove(_first(data, table, n))

    return change


def _duplicate(table: str) -> Callable[[list[dict]], None]:
    def change(data: list[dict[str, Any]]) -> None:
        row = _first(data, table)
        data.insert(data.index(row) + 1, dict(row))

    return change


def _same_id(table: str) -> Callable[[list[dict]], None]:
    def change(data: list[dict[str, Any]]) -> None:
        _first(data, table, 1)["id"] = _first(data, table, 0)["id"]

    return change


def _fix_end(change: Callable[[list[dict]], None]) -> Callable[[list[dict]], None]:
    """`change`, then the end line's counts made to match (so the row checks are reached)."""

    def fixed(data: list[dict[str, Any]]) -> None:
        change(data)
        end = data[-1]
        end["rows"] = {t: sum(r["type"] == t for r in data) for t in end["rows"]}

    return fixed


ROW_CASES = {
    "lone surrogate in a text": (
        _set("memories", "key_text", "\ud800"),
        "key_text is not valid UTF-8 text",
    ),
    "text is a number": (_set("memories", "value_text", 5), "value_text must be text, not 5"),
    "text is null": (_set("turns", "text", None), "text must not be null"),
    "text is a list": (_set("memories", "key_text", ["a"]), "key_text must be text"),
    "boolean is a string": (_set("memories", "pinned", "yes"), "pinned must be true or false"),
    "float is a string": (_set("memories", "usage", "x"), "usage must be a finite number"),
    "float is NaN": (_set("turn_reads", "weight", float("nan")), "weight must be a finite number"),
    "float is infinite": (_set("turn_reads", "score", float("inf")), "score must be a finite"),
    "date is a number": (_set("turns", "created_at", 5), "created_at must be an ISO date"),
    "date is not a date": (_set("memories", "updated_at", "yesterday"), "not an ISO date"),
    "blob is text": (_set("memories", "key_emb", "AAAA"), 'key_emb must be {"b64": "..."}'),
    "blob is bad base64": (_set("memories", "value_emb", {"b64": "!!"}), "not valid base64"),
    "embedding of another size": (
        _set("memories", "key_emb", {"b64": "AACAPwAAAAA="}),  # 2 floats; the others: 64
        "key_emb has 2 dimensions where the others have 64",
    ),
    "embedding not float32": (
        _set("memories", "value_emb", {"b64": "AAAA"}),
        "value_emb is not a float32 vector (3 bytes)",
    ),
    "id is text": (_set("memories", "id", "1"), "id must be a whole number"),
    "id is a float": (_set("turns", "id", 1.5), "id must be a whole number"),
    "id is true": (_set("sessions", "id", True), "id must be a whole number"),
    "id is negative": (_set("memories", "id", -1), "id must be at least 1"),
    "id beyond 64 bits": (_set("memories", "id", 2**70), "id must be a whole number"),
    "unknown kind": (_set("memories", "kind", "secret"), "kind must be one of"),
    "unknown action": (_set("memory_events", "action", "steal"), "action must be one of"),
    "unknown role": (_set("turns", "role", "system"), "role must be one of"),
    "id missing": (
        lambda d: _first(d, "memories").pop("id"),
        "missing field(s): id",
    ),
    "column missing": (
        lambda d: _first(d, "memories").pop("key_emb"),
        "missing field(s): key_emb",
    ),
    "no such profile": (_set("sessions", "profile_id", 4242), "profile_id 4242 names no row"),
    "no such session": (_set("turns", "session_id", 4242), "session_id 4242 names no row"),
    "no such source turn": (
        _set("memories", "source_turn_id", 4242),
        "source_turn_id 4242 names no row",
    ),
    "no such turn read": (_set("turn_reads", "turn_id", 4242), "turn_id 4242 names no row"),
    "no such linked memory": (_set("memories", "next_id", 4242), "next_id 4242 names no memory"),
    "duplicate memory id": (_same_id("memories"), "duplicate id"),
    "duplicate turn id": (_same_id("turns"), "duplicate id"),
    "duplicate row": (_duplicate("memory_events"), "duplicate id"),
    "duplicate slot": (
        lambda d: _first(d, "memories", 2).update(slot=_first(d, "memories", 1)["slot"]),
        "is used by two memories",
    ),
    "profile name with escapes": (
        _set("profiles", "name", "\x1b[2Jalice"),
        "is not one memchat makes",
    ),
    "profile name padded": (_set("profiles", "name", " alice"), "is not one memchat makes"),
    "profile twice": (_duplicate("profiles"), "duplicate id"),
    "rows out of order": (
        lambda d: d.insert(1, d.pop(d.index(_first(d, "memories")))),
        "names no row of profiles before this line",
    ),
}


@pytest.mark.parametrize("case", ROW_CASES, ids=list(ROW_CASES))
def test_import_refuses_bad_rows_and_writes_nothing(
    case: str, export_lines: list[str], target_db: Path, tmp_path: Path
) -> None:
    change, message = ROW_CASES[case]
    data = rows(export_lines)
    _fix_end(change)(data)
    before = counts(target_db)
    (code, out, err), db = import_into(target_db, tmp_path, dump(data))
    assert code == 1 and out == "" and err.count("\n") == 1, err
    assert err.startswith("memchat: error: ") and message in err
    assert counts(db) == before
    assert_intact(db)


def _cut_at_line_break(lines: list[str]) -> bytes:
    return "".join(lines[:-3]).encode()


FILE_CASES: dict[str, tuple[Callable[[list[str]], bytes], str]] = {
    "invalid UTF-8": (
        lambda ls: "".join(ls[:3]).encode() + b'{"type": "turns", "text": "caf\xe9"}\n',
        ":4: not valid UTF-8",
    ),
    "a line that is not JSON": (
        lambda ls: "".join(ls[:3] + ["{'type': 'turns'}\n"] + ls[3:]).encode(),
        ":4: not valid JSON",
    ),
    "last line cut": (lambda ls: "".join(ls).encode()[:-7], "not valid JSON"),
    "cut at a line break": (_cut_at_line_break, "cut short (no end line)"),
    "a row lost": (  # the last row (a proposal): no other row refers to it
        lambda ls: "".join(ls[:-2] + ls[-1:]).encode(),
        "row counts do not match",
    ),
    "a row after the end": (lambda ls: "".join(ls + ls[1:2]).encode(), "a row after the end"),
    "no header": (lambda ls: "".join(ls[1:]).encode(), "not a memchat export (no header line)"),
    "header of another format": (
        lambda ls: ('{"type": "other-export", "version": 2}\n' + "".join(ls[1:])).encode(),
        "not a memchat export",
    ),
    "a newer version": (
        lambda ls: ('{"type": "memchat-export", "version": 3}\n' + "".join(ls[1:])).encode(),
        "export version 3 is not supported",
    ),
    "a version that is not a number": (
        lambda ls: ('{"type": "memchat-export", "version": "2"}\n' + "".join(ls[1:])).encode(),
        "export version '2' is not supported",
    ),
    "an array line": (lambda ls: "".join(ls[:2] + ["[1, 2]\n"] + ls[2:]).encode(), "'type'"),
    "a type that is not text": (
        lambda ls: "".join(ls[:2] + ['{"type": ["turns"]}\n'] + ls[2:]).encode(),
        "expected an object with a 'type'",
    ),
    "unknown row type": (
        lambda ls: "".join(ls[:2] + ['{"type": "secrets", "id": 1}\n'] + ls[2:]).encode(),
        "unknown row type 'secrets'",
    ),
    "deep nesting": (
        lambda ls: "".join(ls[:2]).encode() + b"[" * 100_000 + b"\n",
        "JSON nested too deeply",
    ),
    "empty file": (lambda ls: b"", "not a memchat export"),
    "NUL bytes": (lambda ls: b"\x00" * 64, "not valid JSON"),
}


@pytest.mark.parametrize("case", FILE_CASES, ids=list(FILE_CASES))
def test_import_refuses_bad_files_and_writes_nothing(
    case: str, export_lines: list[str], target_db: Path, tmp_path: Path
) -> None:
    make, message = FILE_CASES[case]
    before = counts(target_db)
    (code, out, err), db = import_into(target_db, tmp_path, make(export_lines))
    assert code == 1 and out == "" and err.count("\n") == 1, err
    assert message in err
    assert counts(db) == before


def test_an_export_of_version_1_still_imports(
    export_lines: list[str], target_db: Path, tmp_path: Path
) -> None:
    """Files written before the end line existed (version 1) import as before."""
    old = ['{"type": "memchat-export", "version": 1}\n', *export_lines[1:-1]]
    (code, _, err), db = import_into(target_db, tmp_path, "".join(old).encode())
    assert code == 0, err
    assert counts(db)["profiles"] == counts(target_db)["profiles"] + 1


def test_the_unchanged_export_imports(
    export_lines: list[str], target_db: Path, tmp_path: Path
) -> None:
    """The control: the file every case above damages imports whole."""
    (code, out, err), db = import_into(target_db, tmp_path, "".join(export_lines).encode())
    assert code == 0, err
    after, before = counts(db), counts(target_db)
    exported = [json.loads(line)["type"] for line in export_lines]
    assert after["memories"] == before["memories"] + exported.count("memories")
    assert_intact(db)


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.text(max_size=8),
        st.sampled_from(["\ud800", "2026-01-02T03:04:05", "[bold]", "\x1b[2J"]),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)


@st.composite
def damaged(draw: st.DrawFn, lines: list[str]) -> bytes:
    """The export with one random change: a byte, a cut, a lost, doubled or moved line, or a
    field of a row set to any JSON value."""
    how = draw(st.sampled_from(["byte", "cut", "lose", "double", "move", "field"]))
    data = "".join(lines).encode()
    if how == "byte":
        at = draw(st.integers(0, len(data) - 1))
        return data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
    if how == "cut":
        return data[: draw(st.integers(0, len(data) - 1))]
    at = draw(st.integers(0, len(lines) - 1))
    if how == "lose":
        return "".join(lines[:at] + lines[at + 1 :]).encode()
    if how == "double":
        return "".join(lines[: at + 1] + lines[at:]).encode()
    if how == "move":
        moved = lines[:at] + lines[at + 1 :]
        moved.insert(draw(st.integers(0, len(moved))), lines[at])
        return "".join(moved).encode()
    row = json.loads(lines[at])
    row[draw(st.sampled_from(sorted(row)))] = draw(json_values)
    # ensure_ascii: a lone surrogate as the escape "\\ud800" (valid UTF-8) or as raw bytes
    line = json.dumps(row, ensure_ascii=draw(st.booleans())) + "\n"
    changed = lines[:at] + [line] + lines[at + 1 :]
    return "".join(changed).encode("utf-8", "surrogatepass")


@settings(FAST, max_examples=60)
@given(data=st.data())
def test_a_damaged_import_is_refused_in_one_line_or_imported_whole(
    data: st.DataObject, export_lines: list[str], target_db: Path, tmp_path_factory: Any
) -> None:
    content = data.draw(damaged(export_lines))
    where = tmp_path_factory.mktemp("damaged")
    before = counts(target_db)
    (code, out, err), db = import_into(target_db, where, content)
    if code == 0:  # the change was harmless (a date moved, a text changed): a sound import
        assert counts(db)["profiles"] == before["profiles"] + 1
    else:
        assert code == 1 and out == "" and err.count("\n") == 1, err
        assert err.startswith("memchat: error: ")
        assert counts(db) == before
    assert_intact(db)
    shutil.rmtree(where)
    if isinstance(db, str):  # sixty examples: their databases go as they are done with
        postgres.drop(db)


# ------------------------------------------------------------------ --db that is no database


def _snapshot(path: Path) -> dict[str, bytes | None]:
    """The bytes of every file in the folder of `path` (a folder: None)."""
    return {p.name: None if p.is_dir() else p.read_bytes() for p in sorted(path.parent.iterdir())}


def _refused_untouched(where: Path, target: Path, message: str) -> None:
    before = _snapshot(target)
    with cli_in(where) as run:
        code, out, err = run("--db", str(target), "memories", "list")
    assert (code, out) == (1, "")
    assert err.startswith("memchat: error: ") and err.count("\n") == 1 and message in err
    if _snapshot(target) != before:
        gc.collect()  # the refused engine's connections close (as they do when the process ends)
    assert _snapshot(target) == before  # byte for byte, and no -wal or -shm left beside it


@pytest.mark.sqlite_only("a file given as --db")
@settings(CLI)
@given(content=st.binary(min_size=2, max_size=9000))
def test_random_bytes_are_no_database(content: bytes, tmp_path_factory: Any) -> None:
    where = tmp_path_factory.mktemp("random-db")
    target = where / "data" / "random.db"
    target.parent.mkdir()
    target.write_bytes(content)
    _refused_untouched(where, target, "not a database")
    shutil.rmtree(where)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_text("my notes\n" * 500, encoding="utf-8"), "not a database"),
        (lambda p: p.write_bytes(b"SQLite format 3\x00" + b"\xff" * 5000), "not a database"),
        (lambda p: p.mkdir(), "is a directory"),
    ],
    ids=["text file", "a SQLite header then garbage", "a directory"],
)
@pytest.mark.sqlite_only("a file given as --db")
def test_files_that_are_no_database(
    tmp_path: Path, make: Callable[[Path], None], message: str
) -> None:
    target = tmp_path / "data" / "memchat.db"
    target.parent.mkdir()
    make(target)
    _refused_untouched(tmp_path, target, message)


@pytest.mark.sqlite_only("the file left byte for byte; test_storage refuses a newer schema on both")
def test_newer_schema_is_left_as_it_was(tmp_path: Path) -> None:
    target = tmp_path / "data" / "future.db"
    agent = make_fake_agent(tmp_path, db=str(target))
    agent.add_memory("city", "Paris")
    agent.sessions.kw["bind"].dispose()
    with contextlib.closing(sqlite3.connect(target)) as c:
        c.execute("update alembic_version set version_num = '9999'")
        c.commit()
    assert sorted(p.name for p in target.parent.iterdir()) == ["future.db"]  # all in the file
    _refused_untouched(tmp_path, target, "newer memchat (schema 9999)")


@pytest.mark.sqlite_only("a file given as --db")
def test_a_one_byte_file_is_no_database(tmp_path: Path) -> None:
    target = tmp_path / "data" / "notes.txt"
    target.parent.mkdir()
    target.write_bytes(b"\n")
    _refused_untouched(tmp_path, target, "not a database")


@pytest.mark.sqlite_only("another program's SQLite file")
def test_another_programs_database_is_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "data" / "places.sqlite"
    target.parent.mkdir()
    with contextlib.closing(sqlite3.connect(target)) as c:
        c.execute("create table bookmarks (url text)")
        c.execute("insert into bookmarks values ('https://example.org')")
        c.commit()
    _refused_untouched(tmp_path, target, "not a memchat database")
