from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agent.core import Agent, Models
from agent.settings import Settings, load_settings
from storage.db import make_engine, session_factory
from tests import engines
from tests.fakes import FakeEncoder, FakeGenerator


def make_fake_agent(home: Path, profile: str = "default", **settings: object) -> Agent:
    if not settings.get("db"):  # None, or "" as the command line's settings say "not set"
        settings["db"] = engines.db_for(home)
    config = load_settings(environ={"MEMCHAT_HOME": str(home)}, profile=profile, **settings)
    engine = make_engine(config.db_url)
    generator = FakeGenerator()
    return Agent(config, session_factory(engine), Models(FakeEncoder, lambda: generator))


def fake_build_agent(settings: Settings, progress: object = None) -> Agent:
    """A stand-in for agent.bootstrap.build_agent (the command line's): the settings the command
    line resolved, on fake models."""
    return make_fake_agent(
        Path(settings.home),
        settings.profile,
        db=settings.db,
        review=settings.review,
        capacity=settings.capacity,
        max_message_chars=settings.max_message_chars,
    )


def pytest_configure(config: pytest.Config) -> None:
    # Registered here, beside `each_engine` which reads it (pyproject.toml lists the others).
    config.addinivalue_line(
        "markers",
        "sqlite_only(reason): in a module on both engines, a test about SQLite itself (its "
        "file, pragmas, journal): its postgresql run is skipped, saying why",
    )


@pytest.fixture(params=engines.ENGINES)
def each_engine(request: pytest.FixtureRequest) -> Iterator[str]:
    """Runs the test on SQLite, then on PostgreSQL (tests/engines.py); a test marked
    `sqlite_only` runs on SQLite alone."""
    only = request.node.get_closest_marker("sqlite_only")
    if only is not None and request.param != "sqlite":
        pytest.skip(f"about SQLite itself ({only.args[0]})")
    engines.current = request.param
    try:
        yield request.param
    finally:
        engines.reset()


@pytest.fixture
def agent(tmp_path: Path) -> Agent:
    return make_fake_agent(tmp_path)


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One converted-model cache for the whole test run: the GGUF is converted once."""
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every timestamp is 2026-01-02 03:04:05, so screens render the same in every run."""
    from datetime import datetime

    import storage.models

    monkeypatch.setattr(storage.models, "CLOCK", lambda: datetime(2026, 1, 2, 3, 4, 5))


@pytest.fixture
def tui_agent(tmp_path: Path, fixed_clock: None) -> Agent:
    """An agent with fake models on a fresh database, for Pilot and snapshot tests."""
    return make_fake_agent(tmp_path)


@pytest.fixture
def run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., tuple[int, str, str]]:
    """The command line with fake models, MEMCHAT_HOME the test's folder and no MEMCHAT_DB:
    run(*argv, tty=False) -> (exit status, stdout, stderr). tests/test_cli.py has its own."""
    from tui import cli

    monkeypatch.setenv("MEMCHAT_HOME", str(tmp_path))
    monkeypatch.delenv("MEMCHAT_PROFILE", raising=False)
    monkeypatch.delenv("MEMCHAT_DB", raising=False)
    monkeypatch.setattr(cli, "build_agent", fake_build_agent)

    def invoke(*argv: str, tty: bool = False) -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"")))
        monkeypatch.setattr(sys.stderr, "isatty", lambda: tty)
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return invoke
