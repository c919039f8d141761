"""Column types that use PostgreSQL's network types and fall back to text on SQLite.

PostgreSQL gets `inet`, `cidr` and `macaddr`, so the database itself can check containment
(`<<`), overlap (`&&`) and format. SQLite, the one-machine default, stores the canonical text
form; the admin layer validates before writing there. Python code always sees `ipaddress`
objects, canonical lowercase MAC strings and plain ints.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from decimal import Decimal

from sqlalchemy import DateTime, Numeric, String
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeDecorator

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_DATAPATH_ID = 2**64 - 1


class InetAddress(TypeDecorator):
    """One host address (`inet` with a full-length mask on PostgreSQL)."""

    impl = String(45)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.INET())
        return dialect.type_descriptor(String(45))

    def process_bind_param(self, value, dialect):
        return None if value is None else str(ipaddress.ip_address(str(value)))

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        # psycopg returns ipaddress objects for inet; SQLite returns text.
        return ipaddress.ip_address(str(value).split("/")[0])


class CidrNetwork(TypeDecorator):
    """A subnet (`cidr` on PostgreSQL, which rejects host bits set)."""

    impl = String(49)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.CIDR())
        return dialect.type_descriptor(String(49))

    def process_bind_param(self, value, dialect):
        return None if value is None else str(ipaddress.ip_network(str(value)))

    def process_result_value(self, value, dialect):
        return None if value is None else ipaddress.ip_network(str(value))


class MacAddress(TypeDecorator):
    """An Ethernet address as `xx:xx:xx:xx:xx:xx` (`macaddr` on PostgreSQL)."""

    impl = String(17)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.MACADDR())
        return dialect.type_descriptor(String(17))

    def process_bind_param(self, value, dialect):
        return None if value is None else normalize_mac(value)

    def process_result_value(self, value, dialect):
        return None if value is None else normalize_mac(str(value))


class DatapathId(TypeDecorator):
    """An OpenFlow datapath id: unsigned 64-bit, which overflows PostgreSQL's bigint.

    PostgreSQL stores numeric(20, 0) with a range check. SQLite has no exact type that wide
    (its numeric turns large values into lossy floats: 2**53 + 1 would read back as 2**53),
    so it stores 20-digit zero-padded text: exact, unique, ordered like the numbers, and the
    same range check compares correctly as text. Either way Python sees a plain int.
    """

    impl = Numeric(20, 0)
    cache_ok = True
    DIGITS = 20

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(self.DIGITS))
        return dialect.type_descriptor(Numeric(self.DIGITS, 0))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if dialect.name != "sqlite":
            return Decimal(int(value))
        text = f"{int(value):0{self.DIGITS}d}"
        if len(text) > self.DIGITS:  # what numeric(20, 0) refuses on PostgreSQL
            raise ValueError(f"datapath id {value} has more than {self.DIGITS} digits")
        return text

    def process_result_value(self, value, dialect):
        return None if value is None else int(value)


def utcnow() -> dt.datetime:
    """Now, timezone-aware UTC: what UtcDateTime columns take."""
    return dt.datetime.now(dt.UTC)


class UtcDateTime(TypeDecorator):
    """A point in time, always timezone-aware UTC in Python.

    PostgreSQL's `timestamp with time zone` round-trips aware datetimes; SQLite stores the
    wall-clock text without its offset and hands back naive ones. So values are stored in
    UTC and read back as UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: give a timezone-aware one")
        return None if value is None else value.astimezone(dt.UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def normalize_mac(value: str) -> str:
    """Return MAC `value` as lowercase colon-separated text; raise ValueError if malformed."""
    digits = str(value).lower().replace(":", "").replace("-", "").replace(".", "")
    if len(digits) != 12 or any(c not in "0123456789abcdef" for c in digits):
        raise ValueError(f"not a MAC address: {value!r}")
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))
