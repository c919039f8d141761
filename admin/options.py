"""Options every command shares: where the database is, and JSON output."""

from __future__ import annotations

from typing import Annotated

import typer

DATABASE_URL_ENV = "WEFT_DATABASE_URL"  # models.db.ENV_VAR, without importing SQLAlchemy

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar=DATABASE_URL_ENV,
        help="SQLAlchemy URL of the database (default: a SQLite file in the user's data dir).",
        show_default=False,
    ),
]

JsonFlag = Annotated[
    bool, typer.Option("--json", help="Print JSON instead of text (keys: docs/cli.md).")
]
