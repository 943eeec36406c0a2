"""memories.used_at (usage decays with time) and proposals (review mode)

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("memories") as batch_op:
        batch_op.add_column(sa.Column("used_at", sa.DateTime(), nullable=True))
    # Usage so far was last changed at the latest write: decay from there.
    op.execute("UPDATE memories SET used_at = updated_at")
    op.create_table(
        "proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("slot", sa.String(length=300), nullable=False),
        sa.Column("key_text", sa.Text(), nullable=False),
        sa.Column("value_text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("source_turn_id", sa.Integer(), nullable=True),
        sa.Column("memory_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profiles.id"],
            name=op.f("fk_proposals_profile_id_profiles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_turn_id"],
            ["turns.id"],
            name=op.f("fk_proposals_source_turn_id_turns"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposals")),
    )
    with op.batch_alter_table("proposals") as batch_op:
        batch_op.create_index(batch_op.f("ix_proposals_profile_id"), ["profile_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("proposals") as batch_op:
        batch_op.drop_index(batch_op.f("ix_proposals_profile_id"))
    op.drop_table("proposals")
    with op.batch_alter_table("memories") as batch_op:
        batch_op.drop_column("used_at")
