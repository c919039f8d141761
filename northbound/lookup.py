"""Finding the rows operations are given by name, with the error a caller should see."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import tables as t
from northbound.errors import not_found


def host_named(session: Session, name: str, field: str = "name") -> t.Host:
    host = session.scalar(select(t.Host).where(t.Host.name == name))
    if host is None:
        raise not_found("host", name, field)
    return host


def network_named(session: Session, name: str, field: str = "name") -> t.Network:
    network = session.scalar(select(t.Network).where(t.Network.name == name))
    if network is None:
        raise not_found("network", name, field)
    return network


def port_named(session: Session, name: str, field: str = "name") -> t.Port:
    port = session.scalar(select(t.Port).where(t.Port.name == name))
    if port is None:
        raise not_found("port", name, field)
    return port


def names_by_id(session: Session, model) -> dict[int | None, str]:
    """{id: name} of every row of `model` (hosts or networks: few rows, read once); keyed by
    `int | None` so that a nullable reference (a port's host) can be looked up as it is."""
    return dict(session.execute(select(model.id, model.name)).all())
