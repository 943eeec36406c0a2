"""Opening a database whose schema is current (every start but the first) reads its revision
without Alembic (issue 22: importing it and its scripts cost ~0.1 s of each cold start); any
other database still goes through Alembic (tests/test_storage.py covers those)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from storage import db
from storage.db import make_engine

OPEN = """
import sys
from storage.db import make_engine
make_engine(sys.argv[1]).dispose()
print('alembic' in sys.modules)
"""


def opens_with_alembic(url: str) -> bool:
    """Whether a fresh process that opens `url` imports Alembic."""
    done = subprocess.run(
        [sys.executable, "-c", OPEN, url], capture_output=True, text=True, check=True
    )
    return done.stdout.strip() == "True"


def test_the_head_read_from_the_files_is_alembics() -> None:
    alembic_head = ScriptDirectory.from_config(db._alembic_config()).get_current_head()
    assert db.script_head() == alembic_head is not None


def test_a_current_database_opens_without_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'memchat.db'}"
    assert opens_with_alembic(url)  # a new database: Alembic builds the schema
    assert not opens_with_alembic(url)  # at head: one read


def test_an_older_schema_still_goes_through_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'memchat.db'}"
    engine = create_engine(url)
    with engine.begin() as connection:  # the schema one migration before the newest
        config = db._alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "0007")
    engine.dispose()
    assert opens_with_alembic(url)
    with make_engine(url).connect() as c:
        version = c.execute(text("select version_num from alembic_version")).scalar()
        assert version == db.script_head()


def test_no_single_head_leaves_the_decision_to_alembic(tmp_path: Path, monkeypatch) -> None:
    versions = tmp_path / "versions"
    versions.mkdir()
    for name, revision, parent in [("a", "a1", "None"), ("b", "b1", '"a1"'), ("c", "c1", '"a1"')]:
        (versions / f"{name}.py").write_text(
            f'revision: str = "{revision}"\ndown_revision: str | None = {parent}\n'
        )
    monkeypatch.setattr(db, "MIGRATIONS_DIR", tmp_path)
    assert db.script_head() is None  # two heads (b1, c1): Alembic says what that means
    (versions / "d.py").write_text('revision = "d1"\ndown_revision = ("b1", "c1")\n')
    assert db.script_head() == "d1"  # a merge
