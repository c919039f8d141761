"""The HTTP resources of `weft api`, each one call of a northbound operation.

| resource                                   | methods            | who                 |
| ---                                        | ---                | ---                 |
| /health                                    | GET                | anyone (no token)   |
| /v1/status                                 | GET                | admin               |
| /v1/hosts, /v1/hosts/{name}                | GET POST / GET DELETE | admin            |
| /v1/networks, /v1/networks/{name}          | GET POST / GET DELETE | read: any token  |
| /v1/ports, /v1/ports/{name}                | GET POST / GET PUT DELETE | host: its own |
| /v1/ports:batch                            | POST               | admin, host: own    |
| /v1/groups, /v1/networks/{n}/groups[/{a}]  | GET / POST DELETE  | admin               |
| /v1/groups/{address}/members[/{port}]      | POST DELETE        | admin               |

Every refusal is `{"error": {"field": ..., "message": ...}}` with 400 (invalid value),
401 (no or bad token), 403 (not this token's), 404 (unknown name), 409 (conflict) or 422
(a body that does not parse); never a stack trace. `PUT /v1/ports/{name}` is idempotent:
a retry with the same body returns the same port (200), a different body is a 409.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException

from api.auth import Reading, Writing
from api.schemas import (
    GroupBody,
    HostBody,
    MemberBody,
    NamedPortBody,
    NetworkBody,
    PortBatch,
    PortBody,
)
from models.identity import datapath_id_text
from northbound import groups, hosts, networks, ports, status
from northbound.errors import OperationError

log = logging.getLogger(__name__)


def _error(status_code: int, field: str | None, message: str) -> JSONResponse:
    return JSONResponse({"error": {"field": field, "message": message}}, status_code)


def create_app(engine: Engine) -> FastAPI:
    """The application, answering from the database behind `engine`."""
    app = FastAPI(title="Weft", version="1", docs_url="/docs", redoc_url=None,
                  description=__doc__)
    app.state.engine = engine
    _register_errors(app)
    _register_resources(app)
    return app


def _register_errors(app: FastAPI) -> None:
    @app.exception_handler(OperationError)
    def refused(_request: Request, error: OperationError) -> JSONResponse:
        return _error(error.status, error.field, error.message)

    @app.exception_handler(RequestValidationError)
    def unparsable(_request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0]
        location = [str(part) for part in first["loc"] if part != "body"]
        return _error(422, ".".join(location) or None, first["msg"])

    @app.exception_handler(HTTPException)
    def routing(_request: Request, error: HTTPException) -> JSONResponse:
        """No such resource or method: the same shape as every other refusal."""
        return _error(error.status_code, None, str(error.detail))

    @app.exception_handler(DBAPIError)
    def database_down(_request: Request, error: DBAPIError) -> JSONResponse:
        log.warning("database error: %s", str(error.orig or error).splitlines()[0])
        return _error(503, None, "the database cannot be used right now")

    @app.exception_handler(Exception)
    def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        return _error(500, None, "internal error (logged by the API server)")


def _register_resources(app: FastAPI) -> None:  # noqa: C901 - one short handler per resource
    @app.get("/health", tags=["health"])
    def health() -> dict:
        """Up, and the database answers. The one resource that needs no token."""
        with app.state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return {"status": "ok"}

    @app.get("/v1/status", tags=["status"])
    def cluster_status(tx: Reading) -> dict:
        with tx() as (session, caller):
            caller.require_admin()
            return status.cluster_status(session)

    # ------------------------------------------------------------ hosts

    @app.get("/v1/hosts", tags=["hosts"])
    def list_hosts(tx: Reading) -> list[dict]:
        with tx() as (session, caller):
            caller.require_admin()
            return hosts.list_hosts(session)

    @app.post("/v1/hosts", status_code=201, tags=["hosts"])
    def add_host(body: HostBody, tx: Writing) -> dict:
        with tx() as (session, caller):
            caller.require_admin()
            host = hosts.add_host(session, body.name, body.ovsdb, body.tunnel_ip,
                                  body.datapath_type)
            return {"name": host.name, "datapath_id": datapath_id_text(host.datapath_id)}

    @app.get("/v1/hosts/{name}", tags=["hosts"])
    def show_host(name: str, tx: Reading) -> dict:
        with tx() as (session, caller):
            caller.require_admin()
            return hosts.show_host(session, name)

    @app.delete("/v1/hosts/{name}", tags=["hosts"])
    def delete_host(name: str, tx: Writing) -> dict:
        with tx() as (session, caller):
            caller.require_admin()
            return {"unbound_ports": hosts.delete_host(session, name)}

    # ------------------------------------------------------------ networks

    @app.get("/v1/networks", tags=["networks"])
    def list_networks(tx: Reading) -> list[dict]:
        with tx() as (session, _caller):
            return networks.list_networks(session)

    @app.post("/v1/networks", status_code=201, tags=["networks"])
    def create_network(body: NetworkBody, tx: Writing) -> dict:
        with tx() as (session, caller):
            caller.require_admin()
            network = networks.create_network(
                session, body.name, body.cidrs, body.gateways, body.vni, body.mtu,
                body.unregistered_multicast,
            )
            return networks.show_network(session, network.name)

    @app.get("/v1/networks/{name}", tags=["networks"])
    def show_network(name: str, tx: Reading) -> dict:
        """A network with its subnets; its ports too, for an admin token only."""
        with tx() as (session, caller):
            record = networks.show_network(session, name)
            return record if caller.is_admin else record | {"ports": None}

    @app.delete("/v1/networks/{name}", tags=["networks"])
    def delete_network(name: str, tx: Writing, force: bool = False) -> dict:
        with tx() as (session, caller):
            caller.require_admin()
            return {"deleted_ports": networks.delete_network(session, name, force)}

    # ------------------------------------------------------------ ports

    @app.get("/v1/ports", tags=["ports"])
    def list_ports(tx: Reading, network: str | None = None,
                   host: str | None = None) -> list[dict]:
        with tx() as (session, caller):
            return ports.list_ports(session, network, host, caller)

    @app.post("/v1/ports", status_code=201, tags=["ports"])
    def create_port(body: NamedPortBody, tx: Writing) -> dict:
        with tx() as (session, caller):
            (port,) = ports.create_ports(session, [_request(body.name, body)], caller)
            return ports.port_records(session, [port])[0]

    @app.post("/v1/ports:batch", status_code=201, tags=["ports"])
    def create_ports(batch: PortBatch, tx: Writing) -> dict:
        """Create every port of the batch in one transaction, or none."""
        with tx() as (session, caller):
            created = ports.create_ports(session, [_request(p.name, p) for p in batch.ports],
                                         caller)
            return {"ports": ports.port_records(session, created)}

    @app.put("/v1/ports/{name}", tags=["ports"],
             responses={201: {"description": "created"}, 200: {"description": "as it was"}})
    def ensure_port(name: str, body: PortBody, tx: Writing, response: Response) -> dict:
        """Create the port, or return it unchanged when a retry asks for the same."""
        with tx() as (session, caller):
            port, created = ports.ensure_port(session, _request(name, body), caller)
            response.status_code = 201 if created else 200
            return ports.port_records(session, [port])[0]

    @app.get("/v1/ports/{name}", tags=["ports"])
    def show_port(name: str, tx: Reading) -> dict:
        with tx() as (session, caller):
            return ports.show_port(session, name, caller)

    @app.delete("/v1/ports/{name}", status_code=204, tags=["ports"])
    def delete_port(name: str, tx: Writing) -> None:
        with tx() as (session, caller):
            ports.delete_port(session, name, caller)

    # ------------------------------------------------------------ multicast groups

    @app.get("/v1/groups", tags=["groups"])
    def list_groups(tx: Reading, network: str | None = None) -> list[dict]:
        with tx() as (session, caller):
            caller.require_admin()
            return groups.list_groups(session, network)

    @app.post("/v1/networks/{network}/groups", status_code=201, tags=["groups"])
    def create_group(network: str, body: GroupBody, tx: Writing) -> dict:
        with tx() as (session, caller):
            caller.require_admin()
            created = groups.create_group(session, network, body.address)
            return {"network": network, "address": body.address, "created": created}

    @app.delete("/v1/networks/{network}/groups/{address}", status_code=204, tags=["groups"])
    def delete_group(network: str, address: str, tx: Writing) -> None:
        with tx() as (session, caller):
            caller.require_admin()
            groups.delete_group(session, network, address)

    @app.post("/v1/groups/{address}/members", status_code=201, tags=["groups"])
    def join_group(address: str, body: MemberBody, tx: Writing) -> dict:
        with tx() as (session, caller):
            caller.require_admin()
            network = groups.join_group(session, address, body.port)
            return {"network": network, "address": address, "port": body.port}

    @app.delete("/v1/groups/{address}/members/{port}", status_code=204, tags=["groups"])
    def leave_group(address: str, port: str, tx: Writing) -> None:
        with tx() as (session, caller):
            caller.require_admin()
            groups.leave_group(session, address, port)



def _request(name: str, body: PortBody) -> ports.PortRequest:
    return ports.PortRequest(name, body.network, body.mac, tuple(body.ips), body.host)
