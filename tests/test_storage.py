"""Storage: migrations from an empty database, pragmas, round trips, bad paths, isolation."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from storage import cache_rows, repo
from storage.db import StorageError, make_engine, parse_url, session_factory
from storage.models import Memory
from tests import engines

pytestmark = pytest.mark.usefixtures("each_engine")


def _memory(profile_id: int, kind: str = "fact", slot: str | None = None, key: str = "k") -> Memory:
    return Memory(
        profile_id=profile_id,
        kind=kind,
        slot=slot,
        key_text=key,
        value_text="v",
        key_emb=b"\x00" * 8,
        value_emb=b"\x01" * 8,
    )


def test_migrations_build_an_empty_database(tmp_path: Path) -> None:
    url = engines.url_for(tmp_path / "new.db")
    engine = make_engine(url)
    tables = set(inspect(engine).get_table_names())
    assert {
        "profiles",
        "sessions",
        "turns",
        "memories",
        "memory_events",
        "turn_reads",
        "proposals",
        "alembic_version",
    } <= tables
    with engine.connect() as c:
        assert c.execute(text("select version_num from alembic_version")).scalar() == "0008"
    make_engine(url)  # a second start migrates nothing


@pytest.mark.sqlite_only("SQLite's pragmas and its file's mode")
def test_a_new_sqlite_database_is_wal_with_foreign_keys_and_owner_only(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    with engine.connect() as c:
        assert c.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert c.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert c.execute(text("PRAGMA busy_timeout")).scalar() == 10_000
    assert (tmp_path / "new.db").stat().st_mode & 0o777 == 0o600


def test_memory_round_trip_and_links(tmp_path: Path) -> None:
    sessions = session_factory(make_engine(engines.url_for(tmp_path / "m.db")))
    with sessions() as s, s.begin():
        pid = repo.create_profile(s, "alice").id
        first = repo.add_memory(s, _memory(pid, "turn", key="one"))
        second = repo.add_memory(s, _memory(pid, "turn", key="two"))
        fact = repo.add_memory(s, _memory(pid, "fact", slot="diet"))
        ids = (first.id, second.id, fact.id)
    with sessions() as s:
        one, two, fact = (repo.get_memory(s, pid, i) for i in ids)
        assert (one.next_id, two.prev_id) == (two.id, one.id)
        assert fact.prev_id is None and fact.key_emb == b"\x00" * 8
        assert repo.find_by_slot(s, pid, "diet").id == fact.id
        assert [e.action for e in repo.memory_history(s, pid, fact.id)] == ["add"]
    with sessions() as s, s.begin():  # forgetting the head of the chain splices it
        repo.remove_memory(s, repo.get_memory(s, pid, ids[0]))
    with sessions() as s:
        assert repo.get_memory(s, pid, ids[1]).prev_id is None
        assert [e.action for e in repo.memory_history(s, pid, ids[0])] == ["add", "forget"]


def test_slot_is_unique_per_profile(tmp_path: Path) -> None:
    sessions = session_factory(make_engine(engines.url_for(tmp_path / "u.db")))
    with sessions() as s, s.begin():
        a, b = repo.create_profile(s, "a").id, repo.create_profile(s, "b").id
        repo.add_memory(s, _memory(a, slot="diet"))
        repo.add_memory(s, _memory(b, slot="diet"))  # another profile: fine
    # the constraint as each engine names it: SQLite by its columns, PostgreSQL by its name
    slot_unique = (
        r"UNIQUE constraint failed: memories\.profile_id, memories\.slot|uq_memories_profile_slot"
    )
    with pytest.raises(IntegrityError, match=slot_unique), sessions() as s, s.begin():
        repo.add_memory(s, _memory(a, slot="diet"))


def test_reset_touches_only_one_profile(tmp_path: Path) -> None:
    sessions = session_factory(make_engine(engines.url_for(tmp_path / "r.db")))
    with sessions() as s, s.begin():
        for name in ("alice", "bob"):
            pid = repo.create_profile(s, name).id
            session = repo.start_session(s, pid)
            turn = repo.add_turn(s, repo.new_turn(pid, session.id, "user", f"hi from {name}"))
            memory = repo.add_memory(s, _memory(pid, "turn"), turn_id=turn.id)
            repo.record_reads(s, turn.id, [(memory.id, 0, 0, 1.0, 2.0)])
    with sessions() as s, s.begin():
        repo.reset_profile(s, repo.get_profile(s, "alice").id)
    with sessions() as s:
        counts = {r.profile.name: (r.memories, r.turns) for r in repo.list_profiles(s)}
        assert counts == {"alice": (0, 0), "bob": (1, 1)}
        bob = repo.get_profile(s, "bob").id
        assert len(repo.memory_history(s, bob, repo.list_memories(s, bob)[0].id)) == 1


@pytest.mark.sqlite_only("an SQLite file's header")
def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"this is not a database, just some text\n" * 100)
    with pytest.raises(StorageError, match="not a database"):
        make_engine(f"sqlite:///{path}")
    assert path.read_bytes().startswith(b"this is not")  # untouched


@pytest.mark.sqlite_only("the SQLite file's path")
def test_unwritable_and_directory_paths(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="directory"):
        make_engine(f"sqlite:///{tmp_path}")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StorageError, match="cannot create database"):
        make_engine(f"sqlite:///{blocker / 'sub' / 'memchat.db'}")


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    url = engines.url_for(tmp_path / "future.db")
    with make_engine(url).begin() as c:
        c.execute(text("update alembic_version set version_num = '9999'"))
    with pytest.raises(StorageError, match="newer memchat"):
        make_engine(url)


# A memory row of an old schema: the values bound, not written in SQL, as the engines spell
# blobs and booleans differently. Its vectors are one float32 each (1.0 and -2.0).
OLD_MEMORY = (
    "insert into memories (profile_id, kind, key_text, value_text, key_emb, value_emb,"
    " usage, pinned, created_at, updated_at) values (1, 'note', 'k', 'v', :key_emb, :value_emb,"
    " 0.5, :pinned, '2026-01-01', :updated_at)"
)
OLD_VECTORS = {"key_emb": b"\x00\x00\x80\x3f", "value_emb": b"\x00\x00\x00\xc0", "pinned": False}


def old_schema(url: str, revision: str, *statements: tuple[str, dict[str, object]]) -> None:
    """A database migrated only up to `revision`, with `statements` (SQL, its bound values) run
    on it."""
    from alembic import command

    from storage.db import _alembic_config

    config = _alembic_config()
    engine = create_engine(parse_url(url))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        for statement, values in statements:
            connection.execute(text(statement), values)
    engine.dispose()


def test_upgrade_from_the_first_schema_keeps_data(tmp_path: Path) -> None:
    url = engines.url_for(tmp_path / "old.db")
    old_schema(
        url, "0001", ("insert into profiles (name, created_at) values ('sam', '2026-01-01')", {})
    )
    sessions = session_factory(make_engine(url))
    with sessions() as s:
        profile = repo.get_profile(s, "sam")
        assert profile is not None and profile.memory_version == 0


def test_migrations_match_the_models(tmp_path: Path) -> None:
    """The schema the migrations build is the one the models describe (nothing forgotten)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from storage.models import Base

    engine = make_engine(engines.url_for(tmp_path / "m.db"))
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_upgrade_to_usage_time_backfills_used_at(tmp_path: Path) -> None:
    url = engines.url_for(tmp_path / "v2.db")
    old_schema(
        url,
        "0002",
        ("insert into profiles (id, name, created_at) values (1, 'sam', '2026-01-01')", {}),
        (OLD_MEMORY, {**OLD_VECTORS, "updated_at": "2026-02-03 04:05:06"}),
    )
    sessions = session_factory(make_engine(url))
    with sessions() as s:
        (memory,) = repo.list_memories(s, 1)
        assert memory.usage == 0.5 and memory.used_at == memory.updated_at
        # the vectors written before are the same floats after (pgvector's on PostgreSQL)
        assert (memory.key_emb, memory.value_emb) == (
            OLD_VECTORS["key_emb"],
            OLD_VECTORS["value_emb"],
        )


def test_a_new_key_text_clears_its_stored_terms(tmp_path: Path) -> None:
    """key_terms are derived from key_text: a changed key drops them, an unchanged one keeps
    them, and terms set after the key stay."""
    sessions = session_factory(make_engine(engines.url_for(tmp_path / "t.db")))
    with sessions() as s, s.begin():
        pid = repo.create_profile(s, "sam").id
        memory = _memory(pid, key="old key")
        memory.key_terms = b"terms"
        repo.add_memory(s, memory)
        assert memory.key_terms == b"terms"
        memory.key_text = "old key"  # the same text: kept
        assert memory.key_terms == b"terms"
        memory.key_text = "new key"
        assert memory.key_terms is None
        vector = b"\x00" * 8
        repo.update_memory(
            s,
            memory,
            key_text="k2",
            value_text="v",
            key_emb=vector,
            value_emb=vector,
            key_terms=b"t2",
        )
    with sessions() as s:
        assert repo.get_memory(s, pid, memory.id).key_terms == b"t2"


def test_upgrade_to_key_terms_leaves_them_to_compute(tmp_path: Path) -> None:
    url = engines.url_for(tmp_path / "v3.db")
    old_schema(
        url,
        "0003",
        ("insert into profiles (id, name, created_at) values (1, 'sam', '2026-01-01')", {}),
        (OLD_MEMORY, {**OLD_VECTORS, "updated_at": "2026-01-01"}),
    )
    sessions = session_factory(make_engine(url))
    with sessions() as s:
        (row,) = cache_rows.cache_rows(s, 1)
        assert row[4] is None and row[8] == "v"  # no terms yet; the value differs from the key
        assert cache_rows.key_texts(s, [row[0]]) == {row[0]: "k"}
    with sessions() as s, s.begin():
        cache_rows.store_key_terms(s, [(row[0], "not the key", b"x"), (row[0], "k", b"terms")])
    with sessions() as s:
        assert cache_rows.cache_rows(s, 1)[0][4] == b"terms"
