"""Alembic's entry point: connect to the Weft database and run the migration scripts.

The URL comes from `alembic_config(url)` (see migrations/__init__.py), else the usual
resolution in models/db.resolve_url. Engines are made by models/db.make_engine, so SQLite gets
the same pragmas (foreign keys on) as the application.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.dialects.postgresql import ExcludeConstraint

from models.db import make_engine
from models.tables import Base


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Leave out of autogenerate comparisons what it cannot reflect faithfully.

    Only the exclusion constraint on subnets: SQLAlchemy does not reflect exclusion
    constraints, so autogenerate would otherwise propose to add it on every run. Everything
    else (tables, columns, types, unique constraints, foreign keys, indexes) is compared.
    Alembic never compares CHECK constraints, so they need no exception here.
    """
    return not isinstance(obj, ExcludeConstraint)


def run_migrations(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        compare_type=True,
        include_object=include_object,
        # SQLite cannot ALTER most things: later revisions rebuild tables in batch mode there.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    engine = make_engine(config.attributes.get("database_url"))
    try:
        with engine.connect() as connection:
            run_migrations(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: run them on a database")
run_online()
