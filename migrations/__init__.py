"""Alembic migrations of the Weft schema (models/tables.py).

The package is installed, so its scripts are found next to this file rather than relative to
the current directory. `alembic_config(url)` is the one place that builds an Alembic `Config`;
`weft db ...` and the tests use it. Developers creating a new revision can also run the
`alembic` command with `-c migrations/alembic.ini` (the URL then comes from
$WEFT_DATABASE_URL, see models/db.resolve_url).
"""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config

INI_PATH = Path(__file__).with_name("alembic.ini")


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config for this package's scripts, migrating the database at `url`.

    `url` None means the usual resolution (`$WEFT_DATABASE_URL`, else the SQLite default),
    done in env.py when the migration runs.
    """
    config = Config(str(INI_PATH))
    if url is not None:
        config.attributes["database_url"] = url
    return config
