"""Snooped membership rows, written a batch at a time.

`write` records every join and leave of one batch in the caller's transaction with a fixed
number of statements, whatever the batch's size: so a burst of reports costs one
transaction, and its notifications reach the reconciler together (one pass). `expire`
deletes memberships past their expiry and `load` reads what remains, for the in-memory
mirror (controller/memberships.py).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Collection, Iterator
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, tuple_, update
from sqlalchemy.orm import Session

from models import tables as t

SNOOPED = "snooped"


@dataclass(frozen=True, slots=True)
class Membership:
    network_id: int
    port_id: int
    group: ipaddress.IPv4Address


def write(
    session: Session,
    joins: Collection[Membership],
    leaves: Collection[Membership],
    expires_at: dt.datetime,
) -> int:
    """Joins create or refresh a snooped member (and its group if new); leaves delete it.
    Returns how many members the joins created."""
    group_ids = _group_ids(session, {(m.network_id, m.group) for m in (*joins, *leaves)})
    missing = {(m.network_id, m.group) for m in joins} - group_ids.keys()
    if missing:
        created_groups = session.execute(
            insert(t.MulticastGroup).returning(
                t.MulticastGroup.network_id, t.MulticastGroup.address, t.MulticastGroup.id
            ),
            [{"network_id": n, "address": g, "origin": SNOOPED} for n, g in missing],
        )
        group_ids.update({(n, g): group_id for n, g, group_id in created_groups})
    created = 0
    if joins:
        wanted = {(group_ids[m.network_id, m.group], m.port_id): m for m in joins}
        pair = tuple_(t.GroupMember.group_id, t.GroupMember.port_id)
        existing = {
            tuple(row)
            for row in session.execute(
                select(t.GroupMember.group_id, t.GroupMember.port_id).where(
                    t.GroupMember.origin == SNOOPED, pair.in_(wanted)
                )
            )
        }
        if existing:
            session.execute(
                update(t.GroupMember)
                .where(t.GroupMember.origin == SNOOPED, pair.in_(existing))
                .values(expires_at=expires_at)
            )
        new = [
            {"group_id": group_id, "port_id": port_id, "origin": SNOOPED,
             "network_id": m.network_id, "expires_at": expires_at}
            for (group_id, port_id), m in wanted.items()
            if (group_id, port_id) not in existing
        ]  # fmt: skip
        if new:
            session.execute(insert(t.GroupMember), new)
        created = len(new)
    gone = [(group_ids[m.network_id, m.group], m.port_id) for m in leaves
            if (m.network_id, m.group) in group_ids]  # fmt: skip
    if gone:
        session.execute(
            delete(t.GroupMember).where(
                t.GroupMember.origin == SNOOPED,
                tuple_(t.GroupMember.group_id, t.GroupMember.port_id).in_(gone),
            )
        )
        _drop_empty_snooped_groups(session, {group_id for group_id, _ in gone})
    return created


def expire(session: Session, now: dt.datetime) -> int:
    """Delete snooped members whose expiry has passed; returns how many."""
    expired = (
        session.execute(
            delete(t.GroupMember)
            .where(t.GroupMember.origin == SNOOPED, t.GroupMember.expires_at < now)
            .returning(t.GroupMember.group_id)
        )
        .scalars()
        .all()
    )
    # Unrestricted: also the groups emptied since by a cascade (a port or its network gone).
    _drop_empty_snooped_groups(session)
    return len(expired)


def load(session: Session) -> Iterator[tuple[int, int, ipaddress.IPv4Address, dt.datetime]]:
    """Every snooped member: (network id, port id, group address, expires at)."""
    return session.execute(
        select(
            t.GroupMember.network_id,
            t.GroupMember.port_id,
            t.MulticastGroup.address,
            t.GroupMember.expires_at,
        )
        .join(t.MulticastGroup, t.MulticastGroup.id == t.GroupMember.group_id)
        .where(t.GroupMember.origin == SNOOPED)
    )


def _group_ids(session: Session, wanted: set[tuple[int, ipaddress.IPv4Address]]) -> dict:
    if not wanted:
        return {}
    rows = session.execute(
        select(t.MulticastGroup.network_id, t.MulticastGroup.address, t.MulticastGroup.id).where(
            t.MulticastGroup.network_id.in_({n for n, _ in wanted}),
            t.MulticastGroup.address.in_({g for _, g in wanted}),
        )
    )
    return {(n, g): group_id for n, g, group_id in rows if (n, g) in wanted}


def _drop_empty_snooped_groups(session: Session, group_ids: set[int] | None = None) -> None:
    """Groups that snooping created go away with their last member; admins' groups stay.
    Only among `group_ids` if given."""
    has_members = select(t.GroupMember.group_id).where(
        t.GroupMember.group_id == t.MulticastGroup.id
    )
    session.execute(
        delete(t.MulticastGroup).where(
            t.MulticastGroup.origin == SNOOPED,
            ~has_members.exists(),
            *([] if group_ids is None else [t.MulticastGroup.id.in_(group_ids)]),
        )
    )
