"""The JSON bodies of requests. Field names are the operations' own (northbound/), so a
refusal's "field" names a key of the body the caller sent."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from models import limits


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt key is refused, not ignored


class HostBody(Body):
    name: str
    ovsdb: str = Field(description="tcp:IP:PORT, ssl:IP:PORT or unix:PATH")
    tunnel_ip: str
    datapath_type: str = "netdev"


class NetworkBody(Body):
    name: str
    cidrs: list[str] = []
    gateways: list[str] = []
    vni: int | None = None
    mtu: int = limits.DEFAULT_MTU
    unregistered_multicast: str = "drop"


class PortBody(Body):
    network: str
    mac: str | None = None
    ips: list[str] = []
    host: str | None = Field(None, description="The host the port is to bind on (a host "
                             "token's own host if left out)")


class NamedPortBody(PortBody):
    name: str


class PortBatch(Body):
    ports: list[NamedPortBody] = Field(max_length=10_000)


class GroupBody(Body):
    address: str


class MemberBody(Body):
    port: str
