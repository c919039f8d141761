"""`weft db`: bring the database schema to a given Alembic revision, or show where it is.

The functions are the code path of the commands and are what tests and fixtures call. The
database URL comes from `--database-url`, else $WEFT_DATABASE_URL, else the SQLite default
(models/db.resolve_url).
"""

from __future__ import annotations

import logging
from typing import Annotated

import typer
from alembic import command
from alembic.runtime.migration import MigrationContext

from admin.errors import reports_errors
from migrations import alembic_config
from models.db import make_engine, resolve_url

app = typer.Typer(help="Create and migrate the Weft database schema.", no_args_is_help=True)

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="WEFT_DATABASE_URL",
        help="SQLAlchemy URL of the database (default: a SQLite file in the user's data dir).",
        show_default=False,
    ),
]


def upgrade_database(url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(resolve_url(url)), revision)


def downgrade_database(url: str | None, revision: str) -> None:
    command.downgrade(alembic_config(resolve_url(url)), revision)


def current_revision(url: str | None = None) -> str | None:
    """The revision the database is at; None for a database Alembic never touched."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


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
    _show_progress()
    upgrade_database(database_url, revision)
    typer.echo(f"database at {_describe(current_revision(database_url))}")


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
    _show_progress()
    downgrade_database(database_url, revision)
    typer.echo(f"database at {_describe(current_revision(database_url))}")


@app.command()
@reports_errors
def current(database_url: DatabaseUrl = None) -> None:
    """Print the revision the database is at ('base (empty)' if never migrated).

    Example:
      weft db current
    """
    typer.echo(_describe(current_revision(database_url)))
