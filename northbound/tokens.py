"""API tokens: who may call the HTTP API, and what each caller may touch.

A token is `weft_` and 43 random URL-safe characters (256 bits). Only its SHA-256 is stored:
the secret is shown once, at creation, and a stolen database dump gives no usable token. A
hash without salt or stretching is enough because the secret is random and long; stretching
matters only for secrets people choose.

Roles, checked by `Caller` on every request:
- "admin": every operation.
- "host" (bound to one host, `host:NAME`): what a CNI plugin on that host needs, and no more:
  read networks; create, read and delete the ports that bind on its own host. A port it
  creates is recorded as bound-to-be on that host (`ports.requested_host_id`) so that another
  host's token cannot touch it before or after it binds.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import tables as t
from models.types import utcnow
from northbound.errors import Conflict, Forbidden, InvalidInput, not_found
from northbound.inputs import check_name
from northbound.lookup import host_named
from northbound.records import timestamp

PREFIX = "weft_"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_role(role: str) -> tuple[str, str | None]:
    """'admin' or 'host:HOSTNAME' -> (role, host name)."""
    kind, _, host = role.partition(":")
    if kind == "admin" and not host:
        return "admin", None
    if kind == "host" and host:
        return "host", host
    raise InvalidInput("role", f"{role!r} is not a role: use admin or host:HOSTNAME")


def create_token(session: Session, name: str, role: str) -> tuple[t.ApiToken, str]:
    """Create token `name`; return it with its secret, which is never stored."""
    check_name(name)
    kind, host_name = parse_role(role)
    host_id = host_named(session, host_name, "role").id if host_name else None
    if session.scalar(select(t.ApiToken.id).where(t.ApiToken.name == name)) is not None:
        raise Conflict("name", f'a token named "{name}" already exists')
    secret = PREFIX + secrets.token_urlsafe(32)
    token = t.ApiToken(name=name, role=kind, host_id=host_id, secret_sha256=_digest(secret))
    session.add(token)
    session.flush()
    return token, secret


def revoke_token(session: Session, name: str) -> None:
    token = session.scalar(select(t.ApiToken).where(t.ApiToken.name == name))
    if token is None:
        raise not_found("token", name, "name")
    if token.revoked_at is None:
        token.revoked_at = utcnow()


def list_tokens(session: Session) -> list[dict]:
    hosts = dict(session.execute(select(t.Host.id, t.Host.name)).all())
    return [
        {
            "name": token.name,
            "role": token.role if token.host_id is None else f"host:{hosts[token.host_id]}",
            "created_at": timestamp(token.created_at),
            "revoked_at": timestamp(token.revoked_at),
        }
        for token in session.scalars(select(t.ApiToken).order_by(t.ApiToken.name))
    ]


@dataclass(frozen=True)
class Caller:
    """Who is calling, once their token is checked: an admin, or one host."""

    token: str
    host_id: int | None = None
    host_name: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.host_id is None

    def require_admin(self) -> None:
        if not self.is_admin:
            raise Forbidden(None, f'token "{self.token}" is a host token: this needs an admin '
                            "token")

    def may_use_port(self, port: t.Port) -> bool:
        """A host may use a port bound, or to be bound, on itself."""
        return self.is_admin or self.host_id in (port.host_id, port.requested_host_id)

    def require_port(self, port: t.Port) -> None:
        if not self.may_use_port(port):
            raise Forbidden("name", f'port "{port.name}" is not on host "{self.host_name}"')


def authenticate(session: Session, secret: str) -> Caller | None:
    """The caller a bearer secret belongs to, or None for an unknown or revoked one."""
    if not secret.startswith(PREFIX):
        return None
    row = session.execute(
        select(t.ApiToken.name, t.ApiToken.host_id, t.ApiToken.revoked_at, t.Host.name)
        .outerjoin(t.Host, t.Host.id == t.ApiToken.host_id)
        .where(t.ApiToken.secret_sha256 == _digest(secret))
    ).one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    return Caller(token=row[0], host_id=row.host_id, host_name=row[3])
