"""The database schema: bring it to an Alembic revision, or say which one it is at.

Alembic is imported only here, and only when called: it costs ~0.2 s, which every command
that never migrates would otherwise pay at start.
"""

from __future__ import annotations

from models.db import make_engine, resolve_url


def upgrade(url: str | None = None, revision: str = "head") -> None:
    from alembic import command

    from migrations import alembic_config

    command.upgrade(alembic_config(resolve_url(url)), revision)


def downgrade(url: str | None, revision: str) -> None:
    from alembic import command

    from migrations import alembic_config

    command.downgrade(alembic_config(resolve_url(url)), revision)


def current_revision(url: str | None = None) -> str | None:
    """The revision the database is at; None for a database Alembic never touched."""
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
