"""PostgreSQL credentials: from the URL, PGPASSWORD or a password file (~/.pgpass, or the file
PGPASSFILE names), never printed. A role with a password is made on the test server, and the
server's pg_hba.conf asks that role (only) for its password over the Unix socket."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

from storage.db import StorageError, make_engine
from tests import postgres
from tests.conftest import fake_build_agent
from tui import cli

ROLE, PASSWORD = "memchat_pw_role", "s3cret-Pa55"


def _admin(url: URL, *sql: str) -> list[object]:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            results = [connection.execute(text(s)) for s in sql]
            return [r.scalar() if r.returns_rows else None for r in results]
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def role_url() -> Iterator[URL]:
    """A database owned by ROLE, reachable only with PASSWORD; its URL without the password."""
    admin = postgres.server_url()
    (hba,) = _admin(admin, "SHOW hba_file")
    rules = Path(str(hba))
    original = rules.read_text()
    rules.write_text(f"local all {ROLE} scram-sha-256\n" + original)  # first match wins
    _admin(
        admin,
        f"DROP ROLE IF EXISTS {ROLE}",
        f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'",
        "SELECT pg_reload_conf()",
    )
    database = postgres.new_database()
    name = database.rsplit("/", 1)[1].split("?")[0]
    _admin(admin, f'ALTER DATABASE "{name}" OWNER TO {ROLE}')
    # as a database administrator would: pgvector needs a superuser to create it
    _admin(
        admin.set(database=name),
        f"GRANT ALL ON SCHEMA public TO {ROLE}",
        "CREATE EXTENSION vector",
    )
    yield admin.set(database=name, username=ROLE, password=None)
    rules.write_text(original)
    _admin(admin, "SELECT pg_reload_conf()")
    postgres.drop_created()
    _admin(admin, f"DROP ROLE IF EXISTS {ROLE}")


def plain(url: URL) -> str:
    return url.render_as_string(hide_password=False)


@pytest.fixture(autouse=True)
def no_password_in_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-such-pgpass"))


def test_the_password_in_the_url_opens_the_database(role_url: URL) -> None:
    engine = make_engine(plain(role_url.set(password=PASSWORD)))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT current_user")).scalar() == ROLE
    engine.dispose()


def test_pgpassword_opens_the_database(role_url: URL, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    make_engine(plain(role_url)).dispose()


def test_a_password_file_opens_the_database(
    role_url: URL, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"*:*:*:{ROLE}:{PASSWORD}\n")
    passfile.chmod(0o600)  # libpq ignores a file others can read
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    make_engine(plain(role_url)).dispose()


def test_a_wrong_password_is_one_line_that_never_shows_it(role_url: URL) -> None:
    wrong = "Wr0ng-but-secret"
    with pytest.raises(StorageError) as caught:
        make_engine(plain(role_url.set(password=wrong)))
    message = str(caught.value)
    assert "\n" not in message and wrong not in message and PASSWORD not in message
    assert "password authentication failed" in message and "***" in message


def test_the_command_line_names_the_database_without_its_password(
    role_url: URL, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "build_agent", fake_build_agent)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"")))
    wrong = "An0ther-secret"
    code = cli.main(["--db", plain(role_url.set(password=wrong)), "profiles", "list"])
    out, err = capsys.readouterr()
    assert code != 0 and out == ""
    assert len(err.strip().splitlines()) == 1 and wrong not in err
    assert "password authentication failed" in err


def test_a_role_that_may_not_create_pgvector_is_told_who_must(role_url: URL) -> None:
    without = postgres.new_database()
    name = without.rsplit("/", 1)[1].split("?")[0]
    _admin(postgres.server_url(), f'ALTER DATABASE "{name}" OWNER TO {ROLE}')
    _admin(postgres.server_url().set(database=name), f"GRANT ALL ON SCHEMA public TO {ROLE}")
    url = role_url.set(database=name, password=PASSWORD)
    with pytest.raises(StorageError) as caught:
        make_engine(plain(url))
    message = str(caught.value)
    assert "\n" not in message and PASSWORD not in message
    assert "a superuser must run CREATE EXTENSION vector in this database once" in message
