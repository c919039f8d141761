"""`weft db`: bring the database schema to a given Alembic revision, or show where it is.

The operations are northbound/schema.py. The database URL comes from `--database-url`, else
$WEFT_DATABASE_URL, else the SQLite default (models/db.resolve_url).
"""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from admin.errors import reports_errors
from admin.options import DatabaseUrl

app = typer.Typer(help="Create and migrate the Weft database schema.", no_args_is_help=True)


def _describe(revision: str | None) -> str:
    return revision or "base (empty)"


def _show_progress() -> None:
    """Print Alembic's "Running upgrade a -> b" lines, which say what a command changed."""
    handler = logging.StreamHandler()
    handler.addFilter(lambda record: record.getMessage().startswith("Running "))
    logger = logging.getLogger("alembic.runtime.migration")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


@app.command()
@reports_errors
def upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    database_url: DatabaseUrl = None,
) -> None:
    """Upgrade the schema to REVISION (default: the newest).

    Examples:
      weft db upgrade
      weft db upgrade --database-url sqlite:////var/lib/weft/weft.db
    """
    from northbound import schema

    _show_progress()
    schema.upgrade(database_url, revision)
    typer.echo(f"database at {_describe(schema.current_revision(database_url))}")


@app.command()
@reports_errors
def downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision; 'base' drops everything.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Downgrade the schema to REVISION.

    Examples:
      weft db downgrade 0001   # the first revision
      weft db downgrade base   # drop every Weft table
    """
    from northbound import schema

    _show_progress()
    schema.downgrade(database_url, revision)
    typer.echo(f"database at {_describe(schema.current_revision(database_url))}")


@app.command()
@reports_errors
def current(database_url: DatabaseUrl = None) -> None:
    """Print the revision the database is at ('base (empty)' if never migrated).

    Example:
      weft db current
    """
    from northbound import schema

    typer.echo(_describe(schema.current_revision(database_url)))
