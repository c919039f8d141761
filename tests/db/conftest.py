"""Fixtures the tests/db modules share (the helpers they use live in test_cli_common.py)."""

from __future__ import annotations

import pytest
from test_cli_common import Weft, build_three_host_cluster

from models.db import make_engine


@pytest.fixture
def weft(migrated_database_url) -> Weft:
    """`weft` against a migrated database of its own (each test runs once per database)."""
    return Weft(migrated_database_url)


@pytest.fixture
def cluster(weft) -> Weft:
    """`weft` against build_three_host_cluster's three hosts, networks and ports, all up."""
    build_three_host_cluster(weft)
    return weft


@pytest.fixture
def engine(migrated_database_url):
    """An engine on the same database as `weft`."""
    engine = make_engine(migrated_database_url)
    yield engine
    engine.dispose()
