"""How a refused command reports: `error: FIELD: problem` on stderr, a non-zero exit code and
nothing written (every command is one transaction, rolled back on any error).

Exit codes, for scripts (docs/cli.md):
- 0: done.
- 1: refused: bad input, an unknown or existing name, a conflict, an exhausted subnet.
- 2: usage error (unknown option, missing argument, bad choice): reported by Typer itself.
- 3: `weft status` found something down.
- 4: the database cannot be used: unreachable, busy, or without the Weft schema.

Commands validate in Python first, so a database constraint violation means another writer
got in between the check and the write (a race). `CONSTRAINT_PROBLEMS` turns those into the
same kind of message, so no traceback ever reaches the operator.
"""

from __future__ import annotations

import functools
import re

import typer
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.schema import PrimaryKeyConstraint, UniqueConstraint

from models import tables as t
from models.ipam import IpamError

EXIT_REFUSED = 1
EXIT_DEGRADED = 3
EXIT_DATABASE = 4
UNDEFINED_TABLE = "42P01"  # PostgreSQL's SQLSTATE for a missing table


class CommandError(Exception):
    """A refused command. `field` is the option or argument at fault (e.g. "--vni", "NAME")."""

    def __init__(self, field: str | None, problem: str) -> None:
        super().__init__(f"{field}: {problem}" if field else problem)


def not_found(kind: str, name: str, field: str) -> CommandError:
    return CommandError(field, f'no {kind} named "{name}"')


# Constraint name -> (field, problem) for violations that slip past the Python checks.
CONSTRAINT_PROBLEMS = {
    "uq_hosts_name": ("NAME", "another host with this name was just added"),
    "uq_hosts_ovsdb_target": ("--ovsdb", "another host with this OVSDB target was just added"),
    "uq_hosts_tunnel_ip": ("--tunnel-ip", "another host with this tunnel IP was just added"),
    "uq_hosts_datapath_id": (
        "NAME",
        "another host with this name (or one with the same datapath id) was just added",
    ),
    "uq_networks_name": ("NAME", "another network with this name was just created"),
    "uq_networks_vni": ("--vni", "another network just took this VNI"),
    "ex_subnets_no_overlap": ("--cidr", "the subnets of one network must not overlap"),
    "ck_subnets_gateway_in_cidr": ("--gateway", "the gateway must be inside its subnet"),
    "uq_ports_name": ("NAME", "another port with this name was just created"),
    "uq_ports_network_id_mac": ("--mac", "another port of the network just took this MAC"),
    "fk_ports_network_id_networks": ("--network", "the network has ports, or was just deleted"),
    "fk_ports_host_id_hosts": ("NAME", "a port was just bound to this host"),
    "uq_port_addresses_network_id_address": (
        "--ip",
        "another port of the network just took this address",
    ),
    "uq_multicast_groups_network_id_address": ("GROUP_IP", "this group was just created"),
    "pk_group_members": ("PORT", "the port just joined this group"),
}


def _sqlite_unique_constraint(message: str) -> str | None:
    """The name of the unique or primary key constraint SQLite reports by its columns only
    ("UNIQUE constraint failed: hosts.name")."""
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
            return constraint.name
    return None


def constraint_name(error: IntegrityError) -> str | None:
    """The violated constraint's name, from PostgreSQL's diagnostics or SQLite's message."""
    diag = getattr(error.orig, "diag", None)
    if diag is not None:
        return diag.constraint_name
    message = str(error.orig)
    if found := re.match(r"CHECK constraint failed: (\w+)", message):
        return found.group(1)
    return _sqlite_unique_constraint(message)


def explain(error: IntegrityError) -> CommandError:
    name = constraint_name(error)
    if name in CONSTRAINT_PROBLEMS:
        return CommandError(*CONSTRAINT_PROBLEMS[name])
    first_line = str(error.orig).strip().splitlines()[0]
    return CommandError(None, f"the database refused the change ({name or first_line})")


def _database_problem(error: DBAPIError) -> str:
    message = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
    undefined_table = getattr(error.orig, "sqlstate", None) == UNDEFINED_TABLE
    if undefined_table or message.startswith("no such table"):
        return f"the database has no Weft schema ({message}): run `weft db upgrade`"
    return f"cannot use the database: {message}"


def reports_errors(command):
    """Run `command`; turn every expected failure into one stderr line and its exit code."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (CommandError, IpamError) as error:
            problem, code = str(error), EXIT_REFUSED
        except IntegrityError as error:
            problem, code = str(explain(error)), EXIT_REFUSED
        except DBAPIError as error:
            problem, code = _database_problem(error), EXIT_DATABASE
        typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(code)

    return wrapper
