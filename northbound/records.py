"""Values as the records of operations carry them: plain JSON-ready text and numbers.

Times are ISO 8601 in UTC; datapath ids are 16 hex digits (a JSON number would lose their
low bits in many parsers: models.identity.datapath_id_text).
"""

from __future__ import annotations

import datetime as dt
from typing import overload


@overload
def as_utc(value: dt.datetime) -> dt.datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """`value` with its timezone; SQLite gives back naive datetimes, which are UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


def timestamp(value: dt.datetime | None) -> str | None:
    utc = as_utc(value)
    return None if utc is None else utc.astimezone(dt.UTC).isoformat(timespec="seconds")
