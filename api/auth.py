"""Bearer tokens on every request, checked in the request's own transaction.

`Transaction` is what a resource handler asks for (`tx: Reading` or `tx: Writing`): it opens
the one session of the request, looks the bearer token up in it (northbound/tokens.py) and
hands over the session and the caller. A revoked token is therefore refused from the next
request on, with no cache to go stale, and authenticating costs one indexed lookup in a
transaction the request opens anyway.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from northbound.errors import OperationError
from northbound.session import reading, writing
from northbound.tokens import Caller, authenticate


class Unauthenticated(OperationError):
    status = 401


def _bearer(request: Request) -> str:
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret:
        raise Unauthenticated(None, "an Authorization: Bearer TOKEN header is required "
                              "(tokens: `weft token create`)")
    return secret.strip()


class Transaction:
    """The session and caller of one request (see module doc)."""

    def __init__(self, engine: Engine, secret: str, write: bool) -> None:
        self.engine, self.secret, self.write = engine, secret, write

    @contextmanager
    def __call__(self) -> Iterator[tuple[Session, Caller]]:
        with (writing if self.write else reading)(self.engine) as session:
            caller = authenticate(session, self.secret)
            if caller is None:
                raise Unauthenticated(None, "unknown or revoked token")
            yield session, caller


def _reading(request: Request) -> Transaction:
    return Transaction(request.app.state.engine, _bearer(request), write=False)


def _writing(request: Request) -> Transaction:
    return Transaction(request.app.state.engine, _bearer(request), write=True)


Reading = Annotated[Transaction, Depends(_reading)]
Writing = Annotated[Transaction, Depends(_writing)]
