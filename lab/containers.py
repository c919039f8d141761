"""Containers: a namespace whose eth0 is a veth plugged into a host's br-int.

The lab plugs the port the way a container runtime would (one OVS transaction that adds the
port with its external_ids:iface-id), and leaves everything else to the controller.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence

from lab import netns, network, ovs
from lab.errors import CommandError, LabError
from lab.layout import CONTAINER_IF, INT_BRIDGE, Host
from lab.state import Container

MAC_PATTERN = re.compile(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}")


def check_mac(mac: str) -> str:
    mac = mac.lower()
    if not MAC_PATTERN.fullmatch(mac) or int(mac[:2], 16) & 1:
        raise ValueError(f"not a unicast MAC address: {mac!r}")
    return mac


def check_ips(ips: Sequence[str]) -> tuple[str, ...]:
    """Addresses with an explicit prefix length ("198.51.100.1/24", "2001:db8::1/64")."""
    for ip in ips:
        if "/" not in ip:
            raise ValueError(f"address {ip!r} needs a prefix length, e.g. {ip}/24")
        ipaddress.ip_interface(ip)
    return tuple(ips)


def require_br_int(host: Host) -> None:
    """Fail clearly if the host has no br-int yet: the lab never creates it."""
    found = netns.run(ovs.vsctl_argv(host, "br-exists", INT_BRIDGE), netns=host.netns, check=False)
    if found.returncode == 2:
        raise LabError(
            f"{host.name} has no {INT_BRIDGE} yet: register and provision the host first "
            f"(the OVSDB manager creates {INT_BRIDGE})"
        )
    if found.returncode != 0:
        raise CommandError.from_completed(found)


def plug(host: Host, container: Container) -> None:
    """Create the container's namespace and veth, and add the veth to the host's br-int."""
    netns.add([container.netns])
    if not any(":" in ip for ip in container.ips):
        network.sysctl(container.netns, network.NO_IPV6)
    netns.ip_batch(
        [
            f"link add {container.veth} mtu {container.mtu} type veth peer name {CONTAINER_IF} "
            f"address {container.mac} mtu {container.mtu} netns {container.netns}",
            f"link set {container.veth} up",
        ],
        netns=host.netns,
    )
    netns.ip_batch(
        [
            "link set lo up",
            *(f"addr add {ip} dev {CONTAINER_IF}{_nodad(ip)}" for ip in container.ips),
            f"link set {CONTAINER_IF} up",
        ],
        netns=container.netns,
    )
    network.tx_checksum_off(container.netns, CONTAINER_IF)
    netns.run(
        ovs.vsctl_argv(
            host, "add-port", INT_BRIDGE, container.veth,
            "--", "set", "Interface", container.veth, f"external_ids:iface-id={container.port}",
        ),
        netns=host.netns,
    )


def _nodad(ip: str) -> str:
    """IPv6 addresses skip duplicate detection, so they are usable at once."""
    return " nodad" if ":" in ip else ""


def unplug(host: Host, container: Container) -> None:
    """Remove the container's OVS port, if the host's database is up and still has it.
    (Deleting the container's namespace then removes the veth pair.)"""
    if ovs.daemon_pid(host, ovs.OVSDB_SERVER) is not None:
        netns.run(
            ovs.vsctl_argv(host, "--if-exists", "del-port", container.veth), netns=host.netns
        )
