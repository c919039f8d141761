"""`weft token`: bearer tokens for the HTTP API (`weft api`).

A token is shown once, when it is created; the database keeps only its SHA-256. Roles:
`admin` may do everything; `host:HOSTNAME` may read networks and create, read and delete
the ports of that host only (what a CNI plugin on that host needs). The operations are
northbound/tokens.py.
"""

from __future__ import annotations

from typing import Annotated

import typer

from admin.errors import reports_errors
from admin.options import DatabaseUrl, JsonFlag
from admin.output import print_json, table

app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)

TokenName = Annotated[str, typer.Argument(
    metavar="NAME", help="Token name (letters, digits, '-', '_', '.'), e.g. cni-host1.")]


@app.command("create")
@reports_errors(role="--role")
def create_command(
    name: TokenName,
    role: Annotated[str, typer.Option(
        "--role", help="admin, or host:HOSTNAME for a token limited to one host's ports.")],
    as_json: JsonFlag = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a token and print its secret, once: it cannot be shown again.

    Examples:
      weft token create ops --role admin
      weft token create cni-host1 --role host:host1 > /etc/weft/host-token
    """
    from northbound.session import writing
    from northbound.tokens import create_token

    with writing(database_url) as session:
        token, secret = create_token(session, name, role)
    if as_json:
        print_json({"name": token.name, "role": role, "token": secret})
    else:
        typer.echo(secret)
        typer.echo(f'created token "{name}" ({role}): store it now, it is not shown again',
                   err=True)


@app.command("list")
@reports_errors
def list_command(as_json: JsonFlag = False, database_url: DatabaseUrl = None) -> None:
    """List tokens (never their secrets).

    Example:
      weft token list
    """
    from northbound.session import reading
    from northbound.tokens import list_tokens

    with reading(database_url) as session:
        records = list_tokens(session)
    if as_json:
        print_json(records)
        return
    typer.echo(table(["NAME", "ROLE", "CREATED", "REVOKED"],
                     [[r["name"], r["role"], r["created_at"], r["revoked_at"]] for r in records]))


@app.command("revoke")
@reports_errors
def revoke_command(name: TokenName, database_url: DatabaseUrl = None) -> None:
    """Revoke a token: the API refuses it from the next request on.

    Example:
      weft token revoke cni-host1
    """
    from northbound.session import writing
    from northbound.tokens import revoke_token

    with writing(database_url) as session:
        revoke_token(session, name)
    typer.echo(f'revoked token "{name}"')
