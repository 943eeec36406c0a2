"""profiles.encoder, profiles.encoder_dim: which encoder embedded a profile's memories

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Left NULL: the agent records its encoder at the profile's next write, once it has seen
    # that the stored vectors have that encoder's dimension.
    with op.batch_alter_table("profiles") as batch_op:
        batch_op.add_column(sa.Column("encoder", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("encoder_dim", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("profiles") as batch_op:
        batch_op.drop_column("encoder_dim")
        batch_op.drop_column("encoder")
