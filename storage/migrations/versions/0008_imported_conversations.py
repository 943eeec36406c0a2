"""Imported conversations: where a session and its turns came from

Revision ID: 0008
Revises: 0007

`memchat import-chats` records each conversation's export format, conversation id, file and
title on its session, and each message's id on its turn; unique indexes make a repeated import
find them instead of adding them twice. `forgotten_at` marks a conversation the user forgot.
Columns are added in place (no table is rebuilt): every existing session is a chat session.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch_op:
        batch_op.add_column(
            sa.Column("source", sa.String(length=20), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("source_id", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("source_file", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("title", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("forgotten_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("turns") as batch_op:
        batch_op.add_column(sa.Column("source_id", sa.String(length=300), nullable=True))
    op.create_index(
        "ix_sessions_profile_source", "sessions", ["profile_id", "source", "source_id"], unique=True
    )
    op.create_index("ix_turns_session_source", "turns", ["session_id", "source_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_turns_session_source", table_name="turns")
    op.drop_index("ix_sessions_profile_source", table_name="sessions")
    with op.batch_alter_table("turns") as batch_op:
        batch_op.drop_column("source_id")
    with op.batch_alter_table("sessions") as batch_op:
        for column in ("forgotten_at", "title", "source_file", "source_id", "source"):
            batch_op.drop_column(column)
