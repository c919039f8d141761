"""How a refused command reports: `error: FIELD: problem` on stderr, a non-zero exit code and
nothing written (every operation is one transaction, rolled back on any error).

Exit codes, for scripts (docs/cli.md):
- 0: done.
- 1: refused: bad input, an unknown or existing name, a conflict, an exhausted subnet.
- 2: usage error (unknown option, missing argument, bad choice): reported by Typer itself.
- 3: `weft status` found something down.
- 4: the database cannot be used: unreachable, busy, or without the Weft schema.

The operations (northbound/) name the field at fault neutrally ("ip", "tunnel_ip"); the
command says it as the operator typed it: an option `--ip`, `--tunnel-ip`, or an argument
such as `NAME`. Nothing here imports the database layer until an error needs it, so that
`weft --help` starts fast.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping

import typer

EXIT_REFUSED = 1
EXIT_DEGRADED = 3
EXIT_DATABASE = 4
UNDEFINED_TABLE = "42P01"  # PostgreSQL's SQLSTATE for a missing table


class CommandError(Exception):
    """A refused command, found by the command itself. `field` is as the operator typed it."""

    def __init__(self, field: str | None, problem: str) -> None:
        super().__init__(f"{field}: {problem}" if field else problem)


def flag(field: str | None, arguments: Mapping[str, str]) -> str | None:
    """The command-line spelling of an operation's field: an argument's metavar, or an
    option (`tunnel_ip` -> `--tunnel-ip`). A batch's `ports[3].ip` keeps its form."""
    if field is None or "[" in field:
        return field
    return arguments.get(field) or "--" + field.replace("_", "-")


def _database_problem(error) -> str:
    message = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
    undefined_table = getattr(error.orig, "sqlstate", None) == UNDEFINED_TABLE
    if undefined_table or message.startswith("no such table"):
        return f"the database has no Weft schema ({message}): run `weft db upgrade`"
    return f"cannot use the database: {message}"


def reports_errors(command: Callable | None = None, /, **arguments: str):
    """Run the command; turn every expected failure into one stderr line and its exit code.

    Keyword arguments name the command's positional arguments by the operation's field, e.g.
    `@reports_errors(network="NET", group="GROUP_IP")`; `name` is `NAME` unless said
    otherwise. Use bare (`@reports_errors`) when that default is all.
    """
    names = {"name": "NAME"} | arguments

    def decorate(function: Callable) -> Callable:
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            from sqlalchemy.exc import DBAPIError

            from northbound.errors import OperationError

            try:
                return function(*args, **kwargs)
            except CommandError as error:
                problem, code = str(error), EXIT_REFUSED
            except OperationError as error:
                field = flag(error.field, names)
                problem = f"{field}: {error.message}" if field else error.message
                code = EXIT_REFUSED
            except DBAPIError as error:
                problem, code = _database_problem(error), EXIT_DATABASE
            typer.echo(f"error: {problem}", err=True)
            raise typer.Exit(code)

        return wrapper

    return decorate(command) if command is not None else decorate
