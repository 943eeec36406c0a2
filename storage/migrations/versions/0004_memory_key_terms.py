"""memories.key_terms: each key's lexical terms, stored so loading a profile tokenises nothing

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Left NULL: storage cannot tokenise; the agent computes and stores the terms the first
    # time it loads a profile.
    with op.batch_alter_table("memories") as batch_op:
        batch_op.add_column(sa.Column("key_terms", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("memories") as batch_op:
        batch_op.drop_column("key_terms")
