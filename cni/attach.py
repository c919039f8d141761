"""ADD, DEL and CHECK of one container interface: the steps, in the order that leaves
nothing behind when the plugin is killed between any two of them (docs/cni.md).

ADD: record -> API port (PUT, idempotent) -> veth pair with the port's MAC, addresses,
routes and MTU -> plug into br-int with iface-id -> wait for the port's flows -> result.
DEL: unplug -> delete the veth -> API delete -> forget the record. Every DEL step accepts
that its object is already gone.
"""

from __future__ import annotations

import ipaddress
import os
import time
from dataclasses import dataclass

from cni import link, ovs, records
from cni.client import ApiClient
from cni.config import Settings
from cni.errors import CHECK_FAILED, CONTAINER_UNKNOWN, CniError


@dataclass(frozen=True)
class Request:
    """What the runtime asks about: CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME."""

    container_id: str
    netns: str
    ifname: str

    @property
    def port(self) -> str:
        return link.port_name(self.container_id, self.ifname)

    @property
    def veth(self) -> str:
        return link.host_veth(self.port)


def _addressing(network: dict, port: dict) -> tuple[list[dict], list[dict]]:
    """CNI `ips` and `routes`: each port address with its subnet's prefix length, and a
    default route per IP version whose subnet has a gateway."""
    subnets = [(ipaddress.ip_network(s["cidr"]), s.get("gateway")) for s in network["subnets"]]
    ips: list[dict] = []
    routes: list[dict] = []
    for text in port["addresses"]:
        address = ipaddress.ip_address(text)
        cidr, gateway = next((c, g) for c, g in subnets if address in c)
        entry = {"address": f"{address}/{cidr.prefixlen}", "interface": 1}
        if gateway:
            entry["gateway"] = gateway
            default = "0.0.0.0/0" if address.version == 4 else "::/0"
            if all(r["dst"] != default for r in routes):
                routes.append({"dst": default, "gw": gateway})
        ips.append(entry)
    return ips, routes


def add(settings: Settings, api: ApiClient, request: Request) -> dict:
    """Attach the container; return the CNI result (interfaces, ips, routes)."""
    deadline = time.monotonic() + settings.timeout
    if not link.netns_alive(request.netns):
        raise CniError(CONTAINER_UNKNOWN,
                       f"the container's network namespace {request.netns} does not exist")
    records.write(settings.state_dir, records.Record(
        request.port, request.container_id, request.ifname, request.netns, settings.network,
        time.time()))
    network = api.network(settings.network)
    port = api.ensure_port(request.port, settings.network)
    ips, routes = _addressing(network, port)
    _create_veth(request, port["mac"], network["mtu"], ips, routes)
    ofport = ovs.plug(settings, request.veth, request.port, request.container_id)
    ovs.wait_installed(settings, request.port, ofport, port["mac"], deadline)
    return {
        "interfaces": [
            {"name": request.veth, "mac": link.mac_of(request.veth)},
            {"name": request.ifname, "mac": port["mac"], "sandbox": request.netns},
        ],
        "ips": ips,
        "routes": routes,
        "dns": {},
    }


def _create_veth(request: Request, mac: str, mtu: int, ips: list[dict],
                 routes: list[dict]) -> None:
    """The pair, created inside the container with its peer sent to this namespace at once;
    an older host end of the same name (a container restarted without DEL) is replaced."""
    if link.exists(request.veth):
        link.delete(request.veth)
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        with link.entered(request.netns):
            inside = link.udp_socket()
            link.ip_batch([
                f"link add {request.ifname} address {mac} mtu {mtu} type veth "
                f"peer name {request.veth} mtu {mtu} netns /proc/{os.getpid()}/fd/{home}",
                *(f"addr add {ip['address']} dev {request.ifname}"
                  + (" nodad" if ":" in ip["address"] else "") for ip in ips),
                "link set lo up",
                f"link set {request.ifname} up",
                *(f"route add {r['dst']} via {r['gw']} dev {request.ifname}" for r in routes),
            ])
        with inside:
            link.tx_checksum_off(inside, request.ifname)
    finally:
        os.close(home)
    with link.udp_socket() as outside:
        link.tx_checksum_off(outside, request.veth)
        link.set_up(outside, request.veth)


def delete(settings: Settings, api: ApiClient, request: Request) -> None:
    """Detach the container; whatever is already gone is skipped."""
    ovs.unplug(settings, request.veth)
    link.delete(request.veth)
    api.delete_port(request.port)
    records.remove(settings.state_dir, request.port)


def check(settings: Settings, api: ApiClient, request: Request) -> None:
    """The container's interface, addresses and binding are as ADD left them."""
    port = api.port(request.port)
    if port is None:
        raise CniError(CHECK_FAILED, f"port {request.port} does not exist in Weft")
    if port["state"] != "bound":
        raise CniError(CHECK_FAILED, f"port {request.port} is {port['state']}, not bound")
    if ovs.iface_id(settings, request.veth) != request.port:
        raise CniError(CHECK_FAILED, f"{request.veth} is not plugged into {settings.bridge} "
                       f"as port {request.port}")
    with link.entered(request.netns):
        seen = link.addresses_in(request.ifname)
    if seen is None:
        raise CniError(CHECK_FAILED, f"the container has no interface {request.ifname}")
    mac, addresses = seen
    network = api.network(settings.network)
    wanted = [ip["address"] for ip in _addressing(network, port)[0]]
    if mac != port["mac"] or sorted(addresses) != sorted(wanted):
        raise CniError(CHECK_FAILED, f"{request.ifname} has MAC {mac} and addresses "
                       f"{addresses or 'none'}, but port {request.port} has {port['mac']} "
                       f"and {wanted or 'none'}")
