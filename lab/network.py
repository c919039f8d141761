"""The lab's wiring: the control namespace with its two Linux bridges, and one namespace per
host cabled to both (underlay and management).

    <lab>-ctl:    br-ul 203.0.113.254/24   br-mg 198.18.0.254/24   (controller, OVSDB clients)
                    | u<k>                   | m<k>
    <lab>-host<k>:  eth1 (port of br-phy)    mgmt0 198.18.0.k/24 (kernel only, no OVS)
                    br-phy internal port 203.0.113.k/24 = the VTEP

Links are created directly inside their namespaces (`ip link add ... netns`), so nothing ever
appears, even for a moment, in the caller's namespace.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from lab import netns, ovs
from lab.layout import (
    CONTROLLER_IP,
    CTL_OCTET,
    HOST_MGMT,
    HOST_UPLINK,
    MGMT_BRIDGE,
    PREFIX_LEN,
    UNDERLAY_BRIDGE,
    UNDERLAY_PREFIX,
    Host,
)

NO_IPV6 = ("net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
# A host must not answer ARP for the VTEP address through another interface
# (docs/troubleshooting.md, "The first packet to another host is lost").
HOST_SYSCTLS = (*NO_IPV6, "net.ipv4.conf.all.arp_ignore=1")


def sysctl(namespace: str, settings: Sequence[str]) -> None:
    netns.run(["sysctl", "-qw", *settings], netns=namespace)


def tx_checksum_off(namespace: str, ifname: str) -> None:
    """Needed on every veth whose peer is an OVS port: with checksum offload left on, ping
    works but TCP and UDP hang on bad checksums (docs/troubleshooting.md)."""
    netns.run(["ethtool", "-K", ifname, "tx", "off"], netns=namespace)


def create(ctl_netns: str, hosts: Sequence[Host]) -> None:
    """All namespaces, all cables and the ctl bridges (a handful of processes in total)."""
    netns.add([ctl_netns, *(host.netns for host in hosts)])
    netns.ip_batch(
        line
        for host in hosts
        for line in (
            f"link add {host.ctl_uplink} netns {ctl_netns} type veth "
            f"peer name {HOST_UPLINK} netns {host.netns}",
            f"link add {host.ctl_mgmt} netns {ctl_netns} type veth "
            f"peer name {HOST_MGMT} netns {host.netns}",
        )
    )
    sysctl(ctl_netns, NO_IPV6)
    netns.ip_batch(
        [
            "link set lo up",
            f"link add {UNDERLAY_BRIDGE} type bridge",
            f"addr add {UNDERLAY_PREFIX}{CTL_OCTET}/{PREFIX_LEN} dev {UNDERLAY_BRIDGE}",
            f"link set {UNDERLAY_BRIDGE} up",
            f"link add {MGMT_BRIDGE} type bridge",
            f"addr add {CONTROLLER_IP}/{PREFIX_LEN} dev {MGMT_BRIDGE}",
            f"link set {MGMT_BRIDGE} up",
            *(
                line
                for host in hosts
                for line in (
                    f"link set {host.ctl_uplink} master {UNDERLAY_BRIDGE} up",
                    f"link set {host.ctl_mgmt} master {MGMT_BRIDGE} up",
                )
            ),
        ],
        netns=ctl_netns,
    )


def start_host(host: Host, *, ctl_netns: str, empty_db: Path) -> None:
    """Configure one cabled host namespace and start its OVS (runs in parallel per host)."""
    sysctl(host.netns, HOST_SYSCTLS)
    netns.ip_batch(
        [
            "link set lo up",
            f"link set {HOST_UPLINK} up",
            f"addr add {host.mgmt_ip}/{PREFIX_LEN} dev {HOST_MGMT}",
            f"link set {HOST_MGMT} up",
        ],
        netns=host.netns,
    )
    tx_checksum_off(ctl_netns, host.ctl_uplink)
    ovs.start(host, empty_db=empty_db)
