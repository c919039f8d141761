"""Bearer tokens of the HTTP API (models.tables.ApiToken); the host a port is requested on.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04

Not watched by the controller: tokens change no flow, so the table has no change trigger.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ports") as ports:
        ports.add_column(sa.Column("requested_host_id", sa.Integer(), nullable=True))
        ports.create_foreign_key(op.f("fk_ports_requested_host_id_hosts"), "hosts",
                                 ["requested_host_id"], ["id"], ondelete="SET NULL")
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("host_id", sa.Integer(), nullable=True),
        sa.Column("secret_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("(role = 'host') = (host_id IS NOT NULL)",
                           name=op.f("ck_api_tokens_host_role_has_host")),
        sa.CheckConstraint("role IN ('admin', 'host')", name=op.f("ck_api_tokens_role")),
        sa.ForeignKeyConstraint(["host_id"], ["hosts.id"], name=op.f("fk_api_tokens_host_id_hosts"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("name", name=op.f("uq_api_tokens_name")),
        sa.UniqueConstraint("secret_sha256", name=op.f("uq_api_tokens_secret_sha256")),
    )


def downgrade() -> None:
    op.drop_table("api_tokens")
    with op.batch_alter_table("ports") as ports:
        ports.drop_constraint(op.f("fk_ports_requested_host_id_hosts"), type_="foreignkey")
        ports.drop_column("requested_host_id")
