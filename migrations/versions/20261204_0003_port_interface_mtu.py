"""ports.mtu: the MTU of a bound port's interface, as OVSDB reports it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04

Observed, like host_id and ofport: written by the OVSDB manager's BindingWriter, read by
`weft status`, which names every port whose interface MTU exceeds its network's.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ports") as batch:
        batch.add_column(sa.Column("mtu", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ports") as batch:
        batch.drop_column("mtu")
