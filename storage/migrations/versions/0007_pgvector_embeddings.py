"""PostgreSQL: pgvector embeddings and a 64-bit memory version; slots that fit their column

Revision ID: 0007
Revises: 0006

On PostgreSQL the pgvector extension is created (it needs a role allowed to create it; a
database whose administrator created it already needs nothing) and the two bytea columns become
`vector` columns. Rows written before are converted in Python, a batch at a time: SQL has no
cast from float32 bytes to a vector. profiles.memory_version becomes a BIGINT: it starts at a
random 40-bit number (storage/repo.py), which SQLite's INTEGER holds and PostgreSQL's does not.
On both engines, a slot longer than its column (SQLite kept it whole) is rewritten the way every
slot is now written and looked up (storage/slots.py), so it is found again. The (profile, kind)
index gains the id: finding a profile's newest turn memory (every turn does) read the whole
profile on PostgreSQL before its statistics existed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.slots import SLOT_CHARS, fitted_slot
from storage.vector_column import PgVector, to_vector_text

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000
COLUMNS = ("key_emb", "value_emb")


def upgrade() -> None:
    bind = op.get_bind()
    for table in ("memories", "proposals"):
        fit_slots(bind, table)
    op.drop_index("ix_memories_profile_kind", table_name="memories")
    op.create_index("ix_memories_profile_kind_id", "memories", ["profile_id", "kind", "id"])
    if bind.dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.alter_column("profiles", "memory_version", type_=sa.BigInteger())
    for column in COLUMNS:
        op.add_column("memories", sa.Column(f"{column}_vec", PgVector(), nullable=True))
    rows = bind.execute(sa.text("SELECT id, key_emb, value_emb FROM memories ORDER BY id"))
    convert = sa.text(
        "UPDATE memories SET key_emb_vec = CAST(:k AS vector), value_emb_vec = CAST(:v AS vector)"
        " WHERE id = :id"
    )
    while batch := rows.fetchmany(BATCH):
        values = [
            {"id": i, "k": to_vector_text(bytes(k)), "v": to_vector_text(bytes(v))}
            for i, k, v in batch
        ]
        bind.execute(convert, values)
    for column in COLUMNS:
        op.drop_column("memories", column)
        op.alter_column("memories", f"{column}_vec", new_column_name=column, nullable=False)


def fit_slots(bind: sa.Connection, table: str) -> None:
    """Rewrite the table's slots longer than SLOT_CHARS as `fitted_slot` makes them."""
    long = bind.execute(
        sa.text(f"SELECT id, slot FROM {table} WHERE length(slot) > :n"), {"n": SLOT_CHARS}
    ).all()
    if long:
        bind.execute(
            sa.text(f"UPDATE {table} SET slot = :slot WHERE id = :id"),
            [{"id": i, "slot": fitted_slot(slot)} for i, slot in long],
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    raise NotImplementedError("memchat does not downgrade a PostgreSQL database")
