"""The errors an operation raises: a neutral field name, a message, and a kind.

Every refusal names the field at fault as the operation's own parameter is called ("name",
"network", "ip", "tunnel_ip", ...), never as a front end spells it: the CLI turns "ip" into
`--ip` and "name" into `NAME`, the HTTP API reports it as it is in its JSON body. The kind
says what went wrong, so each front end can pick its answer (exit code, HTTP status):

| kind          | when                                                        | HTTP |
| ---           | ---                                                         | ---  |
| InvalidInput  | a value that can never be right (bad CIDR, MAC, name)       | 400  |
| NotFound      | a named thing that does not exist                           | 404  |
| Conflict      | right in itself but clashes with what exists (taken, in use) | 409  |
| Forbidden     | the caller may not do this (a host token outside its host)  | 403  |

Operations validate in Python first, so a database constraint violation means another
writer got in between the check and the write (a race); `from_integrity_error` turns those
into the same kind of Conflict, so no traceback ever reaches anyone.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.exc import IntegrityError


class OperationError(Exception):
    """A refused operation; nothing was written."""

    status = 400

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


class InvalidInput(OperationError):
    status = 400


class NotFound(OperationError):
    status = 404


class Conflict(OperationError):
    status = 409


class Forbidden(OperationError):
    status = 403


def not_found(kind: str, name: str, field: str) -> NotFound:
    return NotFound(field, f'no {kind} named "{name}"')


# Constraint name -> (field, problem) for violations that slip past the Python checks.
CONSTRAINT_PROBLEMS = {
    "uq_hosts_name": ("name", "another host with this name was just added"),
    "uq_hosts_ovsdb_target": ("ovsdb", "another host with this OVSDB target was just added"),
    "uq_hosts_tunnel_ip": ("tunnel_ip", "another host with this tunnel IP was just added"),
    "uq_hosts_datapath_id": (
        "name",
        "another host with this name (or one with the same datapath id) was just added",
    ),
    "uq_networks_name": ("name", "another network with this name was just created"),
    "uq_networks_vni": ("vni", "another network just took this VNI"),
    "ex_subnets_no_overlap": ("cidr", "the subnets of one network must not overlap"),
    "ck_subnets_gateway_in_cidr": ("gateway", "the gateway must be inside its subnet"),
    "uq_ports_name": ("name", "another port with this name was just created"),
    "uq_ports_network_id_mac": ("mac", "another port of the network just took this MAC"),
    "fk_ports_network_id_networks": ("network", "the network has ports, or was just deleted"),
    "fk_ports_host_id_hosts": ("name", "a port was just bound to this host"),
    "uq_port_addresses_network_id_address": (
        "ip",
        "another port of the network just took this address",
    ),
    "uq_multicast_groups_network_id_address": ("group", "this group was just created"),
    "pk_group_members": ("port", "the port just joined this group"),
    "uq_api_tokens_name": ("name", "another token with this name was just created"),
}


def _sqlite_unique_constraint(message: str) -> str | None:
    """The name of the unique or primary key constraint SQLite reports by its columns only
    ("UNIQUE constraint failed: hosts.name")."""
    from sqlalchemy.schema import PrimaryKeyConstraint, UniqueConstraint

    from models import tables as t

    found = re.match(r"UNIQUE constraint failed: (.+)", message)
    if not found:
        return None
    qualified = [c.strip().split(".", 1) for c in found.group(1).split(",")]
    table = t.Base.metadata.tables.get(qualified[0][0])
    columns = {column for _, column in qualified}
    for constraint in table.constraints if table is not None else ():
        if isinstance(constraint, UniqueConstraint | PrimaryKeyConstraint) and columns == {
            c.name for c in constraint.columns
        }:
            return str(constraint.name)
    return None


def constraint_name(error: IntegrityError) -> str | None:
    """The violated constraint's name, from PostgreSQL's diagnostics or SQLite's message."""
    diag = getattr(error.orig, "diag", None)
    if diag is not None:
        return str(diag.constraint_name) if diag.constraint_name else None
    message = str(error.orig)
    if found := re.match(r"CHECK constraint failed: (\w+)", message):
        return found.group(1)
    return _sqlite_unique_constraint(message)


def from_integrity_error(error: IntegrityError) -> Conflict:
    name = constraint_name(error)
    if name in CONSTRAINT_PROBLEMS:
        return Conflict(*CONSTRAINT_PROBLEMS[name])
    first_line = str(error.orig).strip().splitlines()[0]
    return Conflict(None, f"the database refused the change ({name or first_line})")
