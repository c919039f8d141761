"""One host's Open vSwitch: its two daemons, its database, and the client command lines.

Each host has a private ovsdb-server and ovs-vswitchd whose files all live in the host's
rundir; OVS_RUNDIR and friends are exported so that nothing (br-int.mgmt, pidfiles) lands in
the machine's shared /var/run/openvswitch, and so that plain `ovs-vsctl show` or
`ovs-appctl dpif/show` run in the host namespace find this host's daemons.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from lab import netns, procs, unixctl
from lab.layout import HOST_UPLINK, OVSDB_PORT, PHY_BRIDGE, PREFIX_LEN, Host

SCHEMA = Path("/usr/share/openvswitch/vswitch.ovsschema")
OVSDB_SERVER = "ovsdb-server"
VSWITCHD = "ovs-vswitchd"
CLIENT_TIMEOUT = 10
# Daemon logs go to the log file (errors also to stderr, so a failed start says why), never
# to the machine's syslog.
DAEMON_OPTIONS = (
    "--no-chdir", "--detach", "--log-file", "--pidfile", "-vconsole:err", "-vsyslog:off"
)


def env(host: Host) -> dict[str, str]:
    """Environment that points OVS daemons and clients at this host's private directories."""
    path = str(host.rundir)
    return {"OVS_RUNDIR": path, "OVS_DBDIR": path, "OVS_LOGDIR": path, "OVS_SYSCONFDIR": path}


def create_empty_db(path: Path) -> None:
    """An empty Open_vSwitch database file (copied per host: one ovsdb-tool run per lab)."""
    netns.run(["ovsdb-tool", "create", str(path), str(SCHEMA)])


def start(host: Host, empty_db: Path | None = None) -> None:
    """Start both daemons; with `empty_db`, first give the host a new database made from it
    and the lab's own settings (system-id, br-phy with the underlay port)."""
    if empty_db:
        host.rundir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(empty_db, host.db_file)
    start_ovsdb_server(host)
    if empty_db:
        _configure_new_db(host)
    start_vswitchd(host)


def start_ovsdb_server(host: Host) -> None:
    """The TCP remote is on the command line, not in the database, so that it survives a
    database wipe and a manager can always reach the host."""
    netns.run(
        [
            OVSDB_SERVER, str(host.db_file), *DAEMON_OPTIONS,
            f"--remote=punix:{host.db_socket}",
            f"--remote=ptcp:{OVSDB_PORT}:{host.mgmt_ip}",
            "--remote=db:Open_vSwitch,Open_vSwitch,manager_options",
        ],
        netns=host.netns, env=env(host),
    )


def _configure_new_db(host: Host) -> None:
    """What an installer would put in a fresh database; --no-wait: vswitchd is not up yet."""
    netns.run(
        vsctl_argv(
            host, "--no-wait", "init",
            "--", "set", "Open_vSwitch", ".", f"external_ids:system-id={host.name}",
            "--", "add-br", PHY_BRIDGE,
            "--", "set", "Bridge", PHY_BRIDGE, "datapath_type=netdev", "fail_mode=standalone",
            f"other_config:hwaddr={host.vtep_mac}",
            "--", "add-port", PHY_BRIDGE, HOST_UPLINK,
        ),
        netns=host.netns,
    )


def start_vswitchd(host: Host) -> None:
    """Start ovs-vswitchd (returns once br-phy's tap exists) and put the VTEP IP on br-phy.

    `addr replace` makes this idempotent: after a plain restart the tap and its address
    survive; after `exit --cleanup` or a fresh database they do not.
    """
    netns.run(
        [VSWITCHD, f"unix:{host.db_socket}", *DAEMON_OPTIONS], netns=host.netns, env=env(host)
    )
    netns.ip_batch(
        [
            f"addr replace {host.tunnel_ip}/{PREFIX_LEN} dev {PHY_BRIDGE}",
            f"link set {PHY_BRIDGE} up",
        ],
        netns=host.netns,
    )


def stop(host: Host, daemon: str) -> None:
    """Stop one daemon (SIGTERM, then SIGKILL). Taps survive, as after a crash."""
    pid = daemon_pid(host, daemon)
    if pid is not None:
        procs.stop([pid])


def daemon_pid(host: Host, daemon: str) -> int | None:
    """The running daemon's pid, or None. The pidfile alone is not trusted (pids are reused
    after a crash): the process must also carry this host's rundir on its command line."""
    try:
        pid = int(host.pidfile(daemon).read_text())
    except (FileNotFoundError, ValueError):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    if f"{host.rundir}/".encode() in cmdline and procs.is_running(pid):
        return pid
    return None


def preload_tunnel_neighbours(host: Host, peers: Sequence[Host]) -> None:
    """Teach this host's vswitchd every peer's VTEP MAC: otherwise the first packet to each
    peer is dropped while OVS resolves it with ARP (docs/troubleshooting.md)."""
    pid = daemon_pid(host, VSWITCHD)
    if pid is None or not peers:
        return
    unixctl.call_all(
        host.rundir / f"{VSWITCHD}.{pid}.ctl",
        [("tnl/neigh/set", (PHY_BRIDGE, peer.tunnel_ip, peer.vtep_mac)) for peer in peers],
    )


def vsctl_argv(host: Host, *args: str, timeout: float = CLIENT_TIMEOUT) -> list[str]:
    return ["ovs-vsctl", f"--db=unix:{host.db_socket}", f"--timeout={timeout:g}", *args]


def ofctl_argv(host: Host, command: str, *args: str, bridge: str) -> list[str]:
    """OpenFlow 1.3 over the bridge's unix management socket (no TCP, no controller needed)."""
    target = f"unix:{host.bridge_mgmt_socket(bridge)}"
    return ["ovs-ofctl", "-O", "OpenFlow13", f"--timeout={CLIENT_TIMEOUT}", command, target, *args]


def appctl_argv(host: Host, *args: str, daemon: str = VSWITCHD) -> list[str]:
    """ovs-appctl finds the daemon's socket through OVS_RUNDIR (see env())."""
    return ["ovs-appctl", f"--timeout={CLIENT_TIMEOUT}", "-t", daemon, *args]
