"""Partial index on trials read without a calibrated alignment (sessions_without_alignment).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNCALIBRATED_SQL = "alignment_source IS NULL OR alignment_source <> 'calibration'"


def upgrade() -> None:
    op.create_index("ix_trials_uncalibrated_session_id", "trials", ["session_id"], unique=False,
                    sqlite_where=sa.text(UNCALIBRATED_SQL),
                    postgresql_where=sa.text(UNCALIBRATED_SQL))


def downgrade() -> None:
    op.drop_index("ix_trials_uncalibrated_session_id", table_name="trials")
