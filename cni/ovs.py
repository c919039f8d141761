"""The host's Open vSwitch, through its own command-line clients (no OVS library to import).

The plugin plugs the host end into br-int with `external_ids:iface-id=PORT` (which is what
makes the controller bind the port) and then waits until the controller's flows for that
port are on this switch: the PORT_SECURITY flow matching the port's ofport and MAC is
committed in the same OpenFlow bundle as all of the port's other local flows
(docs/pipeline.md), so once it is there the container's first packet is forwarded.
"""

from __future__ import annotations

import json
import subprocess
import time

from cni.config import Settings
from cni.errors import NOT_INSTALLED, OVS_FAILURE, CniError

# controller/pipeline.py's Table.PORT_SECURITY and cookie mark, written out because the
# plugin imports nothing of the controller (tests/unit/test_cni_plugin.py checks they agree).
PORT_SECURITY_TABLE = 10
WEFT_COOKIE_MARK = "0x57"
CLIENT_TIMEOUT = 5
POLL = 0.01
OWNER_KEY = "weft-cni"  # external_ids key on the plugin's interfaces: the container id


def vsctl(settings: Settings, *args: str) -> str:
    done = subprocess.run(
        ["ovs-vsctl", f"--db={settings.ovsdb}", f"--timeout={CLIENT_TIMEOUT}", *args],
        capture_output=True, text=True,
    )
    if done.returncode != 0:
        raise CniError(OVS_FAILURE, f"ovs-vsctl failed: {done.stderr.strip()}",
                       " ".join(args))
    return done.stdout


def plug(settings: Settings, veth: str, port: str, container_id: str) -> int:
    """(Re)add `veth` to the bridge as Weft port `port`; return its ofport. A row left by an
    earlier veth of the same name is replaced in the same transaction."""
    vsctl(settings, "--", "--if-exists", "del-port", veth,
          "--", "add-port", settings.bridge, veth,
          "--", "set", "Interface", veth, f"external_ids:iface-id={port}",
          f"external_ids:{OWNER_KEY}={container_id}")
    # ovs-vsctl returned once ovs-vswitchd applied the change, so the ofport is assigned.
    ofport = vsctl(settings, "get", "Interface", veth, "ofport").strip()
    if not ofport.isdigit() or int(ofport) <= 0:
        raise CniError(OVS_FAILURE, f"Open vSwitch gave {veth} no OpenFlow port ({ofport})")
    return int(ofport)


def unplug(settings: Settings, veth: str) -> None:
    vsctl(settings, "--if-exists", "del-port", settings.bridge, veth)


def plugged(settings: Settings) -> dict[str, str]:
    """{interface name: iface-id} of every interface the plugin plugged into the bridge."""
    out = vsctl(settings, "--format=json", "--columns=name,external_ids", "find",
                "Interface", f"external_ids:{OWNER_KEY}!=\"\"")
    found = {}
    for name, (_kind, pairs) in json.loads(out)["data"]:
        ids = dict(pairs)
        found[name] = ids.get("iface-id", "")
    return found


def iface_id(settings: Settings, veth: str) -> str | None:
    done = subprocess.run(
        ["ovs-vsctl", f"--db={settings.ovsdb}", f"--timeout={CLIENT_TIMEOUT}",
         "--if-exists", "get", "Interface", veth, "external_ids:iface-id"],
        capture_output=True, text=True,
    )
    return done.stdout.strip().strip('"') or None if done.returncode == 0 else None


def port_flows(settings: Settings, ofport: int, mac: str) -> list[str]:
    """Weft's PORT_SECURITY flows for this ofport and MAC on the bridge."""
    done = subprocess.run(
        ["ovs-ofctl", "-O", "OpenFlow14", f"--timeout={CLIENT_TIMEOUT}", "dump-flows",
         "--no-stats", settings.openflow,
         f"table={PORT_SECURITY_TABLE},in_port={ofport},dl_src={mac}"],
        capture_output=True, text=True,
    )
    if done.returncode != 0:
        raise CniError(OVS_FAILURE, f"ovs-ofctl cannot read {settings.bridge}'s flows: "
                       f"{done.stderr.strip()}")
    return [line for line in done.stdout.splitlines()
            if f"cookie={WEFT_COOKIE_MARK}" in line]


def wait_installed(settings: Settings, port: str, ofport: int, mac: str,
                   deadline: float) -> None:
    """Return once the port's flows are on this switch; a CNI error at `deadline`."""
    while not port_flows(settings, ofport, mac):
        if time.monotonic() > deadline:
            raise CniError(
                NOT_INSTALLED,
                f"port {port} was plugged into {settings.bridge} (ofport {ofport}) but the "
                f"Weft controller installed no flows for it within {settings.timeout:g} s: "
                "is the controller running and connected to this host?",
            )
        time.sleep(POLL)
