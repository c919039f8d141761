"""Alembic's entry point: connect to the Weft database and run the migration scripts.

The URL comes from `alembic_config(url)` (see migrations/__init__.py), else the usual
resolution in models/db.resolve_url. Engines are made by models/db.make_engine, so SQLite gets
the same pragmas (foreign keys on) as the application.
"""

from __future__ import annotations

from alembic import context

from models.db import make_engine
from models.tables import Base


def run_migrations(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # Autogenerate compares tables, columns, types (TypeDecorators by their per-dialect
        # type), nullability, unique constraints, indexes and foreign keys. It never compares
        # CHECK or EXCLUDE constraints, nor triggers: nothing needs filtering out (the
        # exclusion constraint is reflected only as its GiST index, which Alembic skips), and
        # tests/db/test_migrations.py compares those with the models separately.
        compare_type=True,
        # SQLite cannot ALTER most things: later revisions rebuild tables in batch mode there.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    engine = make_engine(context.config.attributes.get("database_url"))
    try:
        with engine.connect() as connection:
            run_migrations(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: run them on a database")
run_online()
