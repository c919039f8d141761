"""Initial schema, with change notifications on PostgreSQL.

Revision ID: 0001
Revises:
Create Date: 2026-11-23

Constraints that need PostgreSQL's network operators (`<<`, `&&`) are created there only, as
the models mark them. On PostgreSQL every change to a row that the controller compiles flows
from is announced on the `weft_changes` channel (see NOTIFY_FUNCTION); SQLite needs nothing:
the controller polls `PRAGMA data_version` there.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ExcludeConstraint

from models.types import CidrNetwork, DatapathId, InetAddress, MacAddress

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Bounds quoted so SQLite compares them with the 20-digit text DatapathId stores there.
DATAPATH_ID_RANGE = "datapath_id BETWEEN '0' AND '18446744073709551615'"
NOTIFY_CHANNEL = "weft_changes"

# One JSON message per changed row: {"table", "op" (INSERT/UPDATE/DELETE), "id", "network_id"}.
# "id" is the row's `id`, or for a table without one (group_members) an object of the key
# columns named in the trigger's arguments. "network_id" is the row's network (a network's
# own id for the networks table), null for rows outside any network (hosts, tunnels). An
# UPDATE that moves a row to another network also tells the old network.
NOTIFY_FUNCTION = """
CREATE FUNCTION weft_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    before jsonb := to_jsonb(OLD);  -- NULL on INSERT
    after jsonb := to_jsonb(NEW);   -- NULL on DELETE
    changed jsonb := coalesce(after, before);
    row_id jsonb;
BEGIN
    IF TG_NARGS = 0 THEN
        row_id := changed -> 'id';
    ELSE
        SELECT jsonb_object_agg(key, changed -> key) INTO row_id FROM unnest(TG_ARGV) AS key;
    END IF;
    PERFORM weft_send_change(TG_TABLE_NAME, TG_OP, row_id, changed);
    IF TG_OP = 'UPDATE' AND (before -> 'network_id') IS DISTINCT FROM (after -> 'network_id') THEN
        PERFORM weft_send_change(TG_TABLE_NAME, TG_OP, row_id, before);
    END IF;
    RETURN NULL;
END
$$
"""

SEND_FUNCTION = f"""
CREATE FUNCTION weft_send_change(table_name text, op text, row_id jsonb, changed jsonb)
RETURNS void LANGUAGE sql AS $$
    SELECT pg_notify('{NOTIFY_CHANNEL}', jsonb_build_object(
        'table', table_name,
        'op', op,
        'id', row_id,
        'network_id',
        CASE table_name WHEN 'networks' THEN changed -> 'id' ELSE changed -> 'network_id' END
    )::text)
$$
"""

# Table -> the key columns identifying a row when it has no `id` column.
NOTIFYING_TABLES = {
    "hosts": (),
    "networks": (),
    "subnets": (),
    "ports": (),
    "port_addresses": (),
    "multicast_groups": (),
    "group_members": ("group_id", "port_id", "origin"),
    "tunnels": (),
}


def _pg_only(constraint):
    """Create `constraint` on PostgreSQL only (it uses operators SQLite lacks)."""
    return constraint.ddl_if(dialect="postgresql")


def _created_at(name: str = "created_at") -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def upgrade() -> None:
    on_postgresql = op.get_context().dialect.name == "postgresql"
    if on_postgresql:
        # Lets one GiST index (the subnets exclusion constraint) mix `=` on integers and `&&`.
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    _create_tables()
    if on_postgresql:
        _create_change_notifications()


def downgrade() -> None:
    on_postgresql = op.get_context().dialect.name == "postgresql"
    for table in (
        "port_addresses",
        "group_members",
        "tunnels",
        "subnets",
        "stray_interfaces",
        "ports",
        "multicast_groups",
        "switches",
        "networks",
        "hosts",
        "controllers",
    ):
        op.drop_table(table)  # drops the table's trigger too
    if on_postgresql:
        op.execute("DROP FUNCTION weft_notify_change()")
        op.execute("DROP FUNCTION weft_send_change(text, text, jsonb, jsonb)")
        # Not CASCADE: if something outside Weft uses btree_gist, fail rather than break it.
        op.execute("DROP EXTENSION IF EXISTS btree_gist")


def _create_change_notifications() -> None:
    op.execute(SEND_FUNCTION)
    op.execute(NOTIFY_FUNCTION)
    for table, key_columns in NOTIFYING_TABLES.items():
        arguments = ", ".join(f"'{column}'" for column in key_columns)
        op.execute(
            f"CREATE TRIGGER weft_notify_change AFTER INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION weft_notify_change({arguments})"
        )


def _create_tables() -> None:
    op.create_table(
        "controllers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        _created_at("started_at"),
        _created_at("last_seen"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_controllers")),
    )
    op.create_table(
        "hosts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("ovsdb_target", sa.String(length=255), nullable=False),
        sa.Column("tunnel_ip", InetAddress(), nullable=False),
        sa.Column("datapath_type", sa.String(length=16), nullable=False),
        sa.Column("datapath_id", DatapathId(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("state_reason", sa.Text(), nullable=True),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=True),
        _created_at(),
        sa.CheckConstraint("length(name) > 0", name=op.f("ck_hosts_name_not_empty")),
        sa.CheckConstraint(
            "datapath_type IN ('netdev', 'system')", name=op.f("ck_hosts_datapath_type")
        ),
        sa.CheckConstraint(
            "state IN ('pending', 'connected', 'disconnected')", name=op.f("ck_hosts_state")
        ),
        sa.CheckConstraint(DATAPATH_ID_RANGE, name=op.f("ck_hosts_datapath_id_range")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hosts")),
        sa.UniqueConstraint("datapath_id", name=op.f("uq_hosts_datapath_id")),
        sa.UniqueConstraint("name", name=op.f("uq_hosts_name")),
        sa.UniqueConstraint("ovsdb_target", name=op.f("uq_hosts_ovsdb_target")),
        sa.UniqueConstraint("tunnel_ip", name=op.f("uq_hosts_tunnel_ip")),
    )
    op.create_table(
        "networks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("vni", sa.Integer(), nullable=False),
        sa.Column("mtu", sa.Integer(), nullable=False),
        sa.Column("unregistered_multicast", sa.String(length=8), nullable=False),
        _created_at(),
        sa.CheckConstraint("length(name) > 0", name=op.f("ck_networks_name_not_empty")),
        sa.CheckConstraint("vni BETWEEN 1 AND 16777215", name=op.f("ck_networks_vni_range")),
        sa.CheckConstraint("mtu BETWEEN 576 AND 9000", name=op.f("ck_networks_mtu_range")),
        sa.CheckConstraint(
            "unregistered_multicast IN ('drop', 'flood')",
            name=op.f("ck_networks_unregistered_multicast"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_networks")),
        sa.UniqueConstraint("name", name=op.f("uq_networks_name")),
        sa.UniqueConstraint("vni", name=op.f("uq_networks_vni")),
    )
    op.create_table(
        "switches",
        sa.Column("datapath_id", DatapathId(), nullable=False),
        sa.Column("address", sa.String(length=255), nullable=True),
        sa.Column("connected", sa.Boolean(), nullable=False),
        sa.Column("flows", sa.Integer(), nullable=True),
        _created_at("last_seen"),
        sa.CheckConstraint(DATAPATH_ID_RANGE, name=op.f("ck_switches_datapath_id_range")),
        sa.PrimaryKeyConstraint("datapath_id", name=op.f("pk_switches")),
    )
    op.create_table(
        "subnets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("cidr", CidrNetwork(), nullable=False),
        sa.Column("gateway", InetAddress(), nullable=True),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["networks.id"],
            name=op.f("fk_subnets_network_id_networks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subnets")),
        sa.UniqueConstraint("id", "network_id", "cidr", name=op.f("uq_subnets_id_network_id_cidr")),
        _pg_only(
            sa.CheckConstraint(
                "gateway IS NULL OR gateway << cidr", name=op.f("ck_subnets_gateway_in_cidr")
            )
        ),
        _pg_only(
            ExcludeConstraint(
                (sa.column("network_id"), "="),
                (sa.column("cidr"), "&&"),
                name="ex_subnets_no_overlap",
                using="gist",
                ops={"cidr": "inet_ops"},
            )
        ),
    )
    op.create_table(
        "ports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("mac", MacAddress(), nullable=False),
        sa.Column("host_id", sa.Integer(), nullable=True),
        sa.Column("ofport", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("bound_at", sa.DateTime(timezone=True), nullable=True),
        _created_at(),
        sa.CheckConstraint("length(name) > 0", name=op.f("ck_ports_name_not_empty")),
        sa.CheckConstraint("state IN ('unbound', 'bound')", name=op.f("ck_ports_state")),
        sa.CheckConstraint(
            "ofport IS NULL OR ofport BETWEEN 1 AND 65279", name=op.f("ck_ports_ofport_range")
        ),
        sa.CheckConstraint(
            "(state = 'bound') = (host_id IS NOT NULL AND ofport IS NOT NULL)",
            name=op.f("ck_ports_bound_has_host_and_ofport"),
        ),
        sa.ForeignKeyConstraint(["host_id"], ["hosts.id"], name=op.f("fk_ports_host_id_hosts")),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["networks.id"],
            name=op.f("fk_ports_network_id_networks"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ports")),
        sa.UniqueConstraint("id", "network_id", name=op.f("uq_ports_id_network_id")),
        sa.UniqueConstraint("name", name=op.f("uq_ports_name")),
        sa.UniqueConstraint("network_id", "mac", name=op.f("uq_ports_network_id_mac")),
    )
    op.create_table(
        "port_addresses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("port_id", sa.Integer(), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("subnet_id", sa.Integer(), nullable=False),
        sa.Column("cidr", CidrNetwork(), nullable=False),
        sa.Column("address", InetAddress(), nullable=False),
        sa.ForeignKeyConstraint(
            ["port_id", "network_id"],
            ["ports.id", "ports.network_id"],
            name=op.f("fk_port_addresses_port_id_network_id_ports"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subnet_id", "network_id", "cidr"],
            ["subnets.id", "subnets.network_id", "subnets.cidr"],
            name=op.f("fk_port_addresses_subnet_id_network_id_cidr_subnets"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_port_addresses")),
        sa.UniqueConstraint(
            "network_id", "address", name=op.f("uq_port_addresses_network_id_address")
        ),
        _pg_only(
            sa.CheckConstraint("address << cidr", name=op.f("ck_port_addresses_address_in_cidr"))
        ),
        _pg_only(
            sa.CheckConstraint(
                "masklen(address) = CASE family(address) WHEN 4 THEN 32 ELSE 128 END",
                name=op.f("ck_port_addresses_address_is_host"),
            )
        ),
    )
    op.create_table(
        "multicast_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("address", InetAddress(), nullable=False),
        sa.Column("origin", sa.String(length=8), nullable=False),
        _created_at(),
        sa.CheckConstraint(
            "origin IN ('static', 'snooped')", name=op.f("ck_multicast_groups_origin")
        ),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["networks.id"],
            name=op.f("fk_multicast_groups_network_id_networks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_multicast_groups")),
        sa.UniqueConstraint("id", "network_id", name=op.f("uq_multicast_groups_id_network_id")),
        sa.UniqueConstraint(
            "network_id", "address", name=op.f("uq_multicast_groups_network_id_address")
        ),
        _pg_only(
            sa.CheckConstraint(
                "(address << inet '224.0.0.0/4' AND NOT address << inet '224.0.0.0/24')"
                " OR address << inet 'ff00::/8'",
                name=op.f("ck_multicast_groups_routable_multicast"),
            )
        ),
    )
    op.create_table(
        "group_members",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("port_id", sa.Integer(), nullable=False),
        sa.Column("origin", sa.String(length=8), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("origin IN ('static', 'snooped')", name=op.f("ck_group_members_origin")),
        sa.CheckConstraint(
            "(origin = 'snooped') = (expires_at IS NOT NULL)",
            name=op.f("ck_group_members_snooped_expires"),
        ),
        sa.ForeignKeyConstraint(
            ["group_id", "network_id"],
            ["multicast_groups.id", "multicast_groups.network_id"],
            name=op.f("fk_group_members_group_id_network_id_multicast_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["port_id", "network_id"],
            ["ports.id", "ports.network_id"],
            name=op.f("fk_group_members_port_id_network_id_ports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "port_id", "origin", name=op.f("pk_group_members")),
    )
    op.create_table(
        "tunnels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("host_id", sa.Integer(), nullable=False),
        sa.Column("peer_id", sa.Integer(), nullable=False),
        sa.Column("ofport", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        _created_at("updated_at"),
        sa.CheckConstraint("host_id <> peer_id", name=op.f("ck_tunnels_not_to_self")),
        sa.CheckConstraint("status IN ('unknown', 'up', 'down')", name=op.f("ck_tunnels_status")),
        sa.CheckConstraint(
            "ofport IS NULL OR ofport BETWEEN 1 AND 65279", name=op.f("ck_tunnels_ofport_range")
        ),
        sa.ForeignKeyConstraint(
            ["host_id"], ["hosts.id"], name=op.f("fk_tunnels_host_id_hosts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["peer_id"], ["hosts.id"], name=op.f("fk_tunnels_peer_id_hosts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tunnels")),
        sa.UniqueConstraint("host_id", "peer_id", name=op.f("uq_tunnels_host_id_peer_id")),
    )
    op.create_table(
        "stray_interfaces",
        sa.Column("host_id", sa.Integer(), nullable=False),
        sa.Column("iface_id", sa.String(length=255), nullable=False),
        sa.Column("ofport", sa.Integer(), nullable=True),
        _created_at("seen_at"),
        sa.ForeignKeyConstraint(
            ["host_id"],
            ["hosts.id"],
            name=op.f("fk_stray_interfaces_host_id_hosts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("host_id", "iface_id", name=op.f("pk_stray_interfaces")),
    )
