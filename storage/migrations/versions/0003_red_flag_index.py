"""Partial index on red-flag reps (the red_flags query).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RED_FLAG_SQL = "reading = 'red_flag'"


def upgrade() -> None:
    op.create_index("ix_reps_red_flag_trial_id", "reps", ["trial_id"], unique=False,
                    sqlite_where=sa.text(RED_FLAG_SQL), postgresql_where=sa.text(RED_FLAG_SQL))


def downgrade() -> None:
    op.drop_index("ix_reps_red_flag_trial_id", table_name="reps")
