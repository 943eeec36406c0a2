"""The same Alembic migrations build the same schema on SQLite and on PostgreSQL: every
migration runs from an empty database on both, each result matches the models, and the two
match each other table by table (types compared by kind: a BLOB and a pgvector vector are both
an embedding, SQLite's INTEGER and PostgreSQL's BIGINT both integers)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text, types

from storage.db import make_engine
from storage.models import Base
from storage.vector_column import PgVector
from tests import postgres

KINDS: list[tuple[type[Any], str]] = [
    (PgVector, "embedding"),
    (types.LargeBinary, "embedding"),  # BLOB, bytea: the embeddings on SQLite, key_terms on both
    (types.Integer, "integer"),
    (types.Float, "float"),
    (types.Boolean, "boolean"),
    (types.DateTime, "datetime"),
    (types.Text, "text"),
    (types.String, "string"),
]


@pytest.fixture
def both() -> Iterator[dict[str, Engine]]:
    folder = Path(tempfile.mkdtemp())
    engines = {
        "sqlite": make_engine(f"sqlite:///{folder / 'schema.db'}"),
        "postgresql": make_engine(postgres.new_database()),
    }
    yield engines
    for engine in engines.values():
        engine.dispose()
    postgres.drop_created()


def kind(column_type: Any) -> str:
    for cls, name in KINDS:
        if isinstance(column_type, cls):
            length = getattr(column_type, "length", None)
            return f"{name}({length})" if name == "string" and length else name
    return repr(column_type)


def described(engine: Engine) -> dict[str, Any]:
    """Each table's columns (name, kind, nullable), key, foreign keys, indexes and unique
    constraints, as reflected from the database."""
    found = inspect(engine)
    tables = {}
    for table in sorted(found.get_table_names()):
        foreign = found.get_foreign_keys(table)
        tables[table] = {
            # sorted: PostgreSQL adds a converted column at the end of the table
            "columns": sorted(
                (c["name"], kind(c["type"]), c["nullable"]) for c in found.get_columns(table)
            ),
            "primary": found.get_pk_constraint(table)["constrained_columns"],
            "foreign": sorted(
                (tuple(f["constrained_columns"]), f["referred_table"], f["options"].get("ondelete"))
                for f in foreign
            ),
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in found.get_indexes(table)
                if "duplicates_constraint" not in i  # PostgreSQL's index behind a UNIQUE
            ),
            "unique": sorted(tuple(u["column_names"]) for u in found.get_unique_constraints(table)),
        }
    return tables


def test_every_migration_from_empty_matches_the_models_on_both(both: dict[str, Engine]) -> None:
    for name, engine in both.items():
        with engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == [], (
                name
            )
            version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
            assert version == "0008", name


def test_both_engines_get_the_same_tables(both: dict[str, Engine]) -> None:
    sqlite, postgresql = described(both["sqlite"]), described(both["postgresql"])
    assert sqlite.keys() == postgresql.keys()
    for table in sqlite:
        assert sqlite[table] == postgresql[table], table
    assert ("key_emb", "embedding", False) in sqlite["memories"]["columns"]


def test_embeddings_are_pgvector_vectors_on_postgresql(both: dict[str, Engine]) -> None:
    with both["postgresql"].connect() as connection:
        found = connection.execute(
            text(
                "SELECT column_name, udt_name FROM information_schema.columns "
                "WHERE table_name = 'memories' AND column_name LIKE '%_emb'"
            )
        ).all()
    assert sorted(found) == [("key_emb", "vector"), ("value_emb", "vector")]


def test_an_sqlite_slot_longer_than_its_column_is_fitted_and_found_again(tmp_path: Path) -> None:
    """SQLite kept a slot longer than VARCHAR(300) whole; every slot is now written and looked
    up fitted (storage/slots.py), so migration 0007 rewrites the old long ones the same way."""
    from sqlalchemy import select

    from storage import repo
    from storage.db import session_factory
    from storage.models import Memory
    from storage.slots import SLOT_CHARS, fitted_slot
    from tests.test_storage import OLD_MEMORY, OLD_VECTORS, old_schema

    long_slot = "likes:" + "very " * 100 + "long things"
    url = f"sqlite:///{tmp_path / 'v6.db'}"
    old_schema(
        url,
        "0006",
        ("insert into profiles (id, name, created_at) values (1, 'sam', '2026-01-01')", {}),
        (OLD_MEMORY, {**OLD_VECTORS, "updated_at": "2026-02-03 04:05:06"}),
        ("update memories set slot = :slot", {"slot": long_slot}),
    )
    sessions = session_factory(make_engine(url))
    with sessions() as s:
        (memory,) = s.scalars(select(Memory)).all()
        assert memory.slot == fitted_slot(long_slot) and len(memory.slot) == SLOT_CHARS
        found = repo.find_by_slot(s, 1, long_slot)
        assert found is not None and found.id == memory.id
