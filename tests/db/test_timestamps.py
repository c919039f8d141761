"""Timestamps come back timezone-aware UTC from both databases (SQLite drops the zone)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from models import tables as t
from models.db import transaction

pytestmark = pytest.mark.postgres


def test_timestamps_round_trip_aware_in_utc(engine):
    seen = dt.datetime(2026, 11, 23, 14, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    with transaction(engine) as session:
        session.add(
            t.Host(
                name="h1",
                ovsdb_target="tcp:198.18.0.1:6640",
                tunnel_ip="203.0.113.1",
                datapath_id=1,
                last_seen=seen,
            )
        )
    with transaction(engine) as session:
        host = session.scalars(select(t.Host)).one()
        assert host.last_seen == seen
        assert host.last_seen.tzinfo == dt.UTC
        assert dt.datetime.now(dt.UTC) - host.created_at < dt.timedelta(minutes=5)
