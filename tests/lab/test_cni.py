"""weft-cni with a real runtime: podman on three lab hosts, the controller, `weft api` and
one host token per host; real containers, real packets (docs/cni.md)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from lab import netns
from lab.deployment import Deployment, wait_for
from lab.runtime import PodmanDeployment
from models.db import transaction
from northbound.ports import list_ports

pytestmark = [pytest.mark.lab, pytest.mark.postgres]

PAUSE = 3.5  # seconds: more than ARP gives up after, less than ADD's timeout (5)
TUNING = '{"type": "tuning", "sysctl": {"net.ipv4.conf.eth0.arp_ignore": "2"}}'


@pytest.fixture
def site(make_lab, migrated_postgres_url, tmp_path):
    lab = make_lab(3)
    d = Deployment(lab, migrated_postgres_url, tmp_path)
    d.register_hosts()
    d.network("blue", "198.51.100.0/25", gateways=["198.51.100.1"])
    d.network("red", "198.51.100.128/25")
    d.start_controller()
    site = PodmanDeployment(d)
    try:
        site.start_api()
        site.setup_hosts("--timeout", "5", "--chain", TUNING)
        d.wait_programmed()
        yield site
    finally:
        site.close()
        d.close()


def ports(site) -> dict[str, dict]:
    with transaction(site.deployment.engine) as session:
        return {p["name"]: p for p in list_ports(session)}


def address_of(site, host: str, container: str) -> str:
    sandbox = site.podman[host].podman("inspect", container, "--format",
                                       "{{.NetworkSettings.SandboxKey}}").stdout.strip()
    (port,) = [p for p in ports(site).values() if p["state"] == "bound"
               and p["host"] == host and _netns_of(site, host, p) == sandbox]
    return port["addresses"][0]


def _netns_of(site, host: str, port: dict) -> str:
    record = site.podman[host].state_dir / f"{port['name']}.json"
    return json.loads(record.read_text())["netns"] if record.exists() else ""


def pings(site, host: str, container: str, address: str) -> bool:
    done = site.podman[host].podman("exec", container, "ping", "-c", "1", "-W", "2", address,
                                    check=False)
    return done.returncode == 0


def host_leftovers(site, host: str) -> list[str]:
    """What the plugin could leak on `host`: OVS interfaces, host veths, records."""
    podman = site.podman[host]
    interfaces = site.deployment.lab.vsctl(host, "--bare", "--columns=name", "find",
                                           "Interface", 'external_ids:weft-cni!=""').split()
    links = [line.split(":")[1].strip().split("@")[0]
             for line in podman.exec(["ip", "-o", "link"]).stdout.splitlines()]
    records = [p.name for p in podman.state_dir.glob("*")] if podman.state_dir.exists() else []
    return interfaces + [link for link in links if link.startswith("wc")] + records


def cni_ports(site) -> list[str]:
    return [name for name in ports(site) if name.startswith("cni-")]


def test_podman_containers_on_blue_reach_each_other_across_hosts_and_nobody_on_red(site):
    p1, p2, p3 = (site.podman[h] for h in ("host1", "host2", "host3"))
    a_id = p1.run("a", "blue")
    p2.run("b", "blue")
    p1.run("r1", "red")
    p3.run("r2", "red")
    a, b = address_of(site, "host1", "a"), address_of(site, "host2", "b")
    r2 = address_of(site, "host3", "r2")
    assert a.startswith("198.51.100.") and b.startswith("198.51.100.")

    assert pings(site, "host1", "a", b) and pings(site, "host2", "b", a)
    assert pings(site, "host1", "r1", r2)  # red works ...
    assert not pings(site, "host1", "a", r2)  # ... but not from blue
    assert not pings(site, "host2", "b", r2)

    # The container got the network's gateway as default route and MTU; tuning ran after us.
    assert "default via 198.51.100.1 dev eth0" in p1.podman("exec", "a", "ip", "route").stdout
    assert "mtu 1450" in p1.podman("exec", "a", "ip", "link", "show", "eth0").stdout
    assert p1.podman("exec", "a", "cat", "/proc/sys/net/ipv4/conf/eth0/arp_ignore"
                     ).stdout.strip() == "2"

    # CHECK (podman never sends it): passes as ADD left it, fails once an address is gone.
    sandbox = p1.podman("inspect", "a", "--format", "{{.NetworkSettings.SandboxKey}}"
                        ).stdout.strip()
    conf = json.loads((p1.conf_dir / "weft-blue.conflist").read_text())
    check = ["env", "CNI_COMMAND=CHECK", f"CNI_CONTAINERID={a_id}", f"CNI_NETNS={sandbox}",
             "CNI_IFNAME=eth0", "CNI_PATH=/usr/lib/cni", str(p1.bin_dir / "weft-cni")]
    stdin = json.dumps({"cniVersion": "1.0.0", "name": "blue", **conf["plugins"][0]})
    assert p1.exec(check, input=stdin, check=False).returncode == 0
    p1.exec(["nsenter", f"--net={sandbox}", "ip", "addr", "flush", "dev", "eth0"])
    failed = p1.exec(check, input=stdin, check=False)
    assert failed.returncode == 1 and json.loads(failed.stdout)["code"] == 102

    # A restarted container gets the same port back, and works again.
    before = {n: p for n, p in ports(site).items() if a in p["addresses"]}
    p1.podman("restart", "--time", "0", "a")
    after = {n: p for n, p in ports(site).items() if a in p["addresses"]}
    assert after.keys() == before.keys()
    assert [p["mac"] for p in after.values()] == [p["mac"] for p in before.values()]
    assert pings(site, "host1", "a", b)

    # podman rm -f frees the port and its address.
    (b_port,) = [n for n, p in ports(site).items() if b in p["addresses"]]
    p2.podman("rm", "--force", "--time", "0", "b")
    assert b_port not in ports(site)
    assert not any(b in p["addresses"] for p in ports(site).values())
    assert host_leftovers(site, "host2") == [] or all(
        "wc" not in item for item in host_leftovers(site, "host2"))


def udp_to_closed_ports(site, host: str, container: str) -> int:
    """Udp NoPorts of the container's kernel: datagrams that arrived for no listener."""
    lines = site.podman[host].podman("exec", container, "cat", "/proc/net/snmp").stdout
    header, values = [line.split() for line in lines.splitlines() if line.startswith("Udp:")]
    return int(values[header.index("NoPorts")])


def test_the_first_datagram_sent_at_container_start_arrives(site):
    """Each container sends exactly one UDP datagram the moment it starts (busybox
    traceroute, one probe); the peer's kernel counts each one that arrives. Every tenth
    run has the controller paused for longer than the container's kernel retries ARP (3
    probes, 1 s apart; the datagram waits in its ARP queue meanwhile): only an ADD that
    waits for the port's flows gets that datagram through."""
    p1, controller = site.podman["host1"], site.deployment.controller
    site.podman["host2"].run("sink", "blue")
    sink = address_of(site, "host2", "sink")
    runs = 20
    for run in range(runs):
        argv = p1.run_argv(f"s{run}", "blue",
                           ["traceroute", "-n", "-q", "1", "-m", "1", "-w", "1", sink],
                           detach=False)
        if run % 10:
            p1.exec(argv)
            continue
        controller.send_signal(signal.SIGSTOP)
        try:
            started = p1.popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            time.sleep(PAUSE)
        finally:
            controller.send_signal(signal.SIGCONT)
        output, _ = started.communicate(timeout=30)
        assert started.returncode == 0, output
    assert udp_to_closed_ports(site, "host2", "sink") == runs
    assert len(cni_ports(site)) == 1  # only the sink's: each --rm freed its port


def _start_plugin(site, host: str, container_id: str, netns_path: str, stalled: Path
                  ) -> subprocess.Popen:
    """weft-cni ADD run by hand, with `stalled` (a command that never returns) first on PATH."""
    podman = site.podman[host]
    conf = json.loads((podman.conf_dir / "weft-blue.conflist").read_text())
    argv = ["env", f"PATH={stalled}:{os.environ['PATH']}", "CNI_COMMAND=ADD",
            f"CNI_CONTAINERID={container_id}", f"CNI_NETNS={netns_path}", "CNI_IFNAME=eth0",
            str(podman.bin_dir / "weft-cni")]
    plugin = podman.popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                          start_new_session=True, text=True)
    plugin.stdin.write(json.dumps({"cniVersion": "1.0.0", "name": "blue",
                                   **conf["plugins"][0]}))
    plugin.stdin.close()
    return plugin


def _stalled_in(session: int) -> bool:
    return subprocess.run(["pgrep", "-s", str(session), "-x", "sleep"],
                          capture_output=True).returncode == 0


def test_faults_leave_nothing_behind(site, tmp_path):
    d, lab = site.deployment, site.deployment.lab
    p1, p2 = site.podman["host1"], site.podman["host2"]
    p1.run("keep", "blue")
    keep = cni_ports(site)

    # kill -9 of the plugin after the API call and before plugging (ovs-vsctl stalls), and
    # after plugging before returning (ovs-ofctl stalls); then the runtime removes the
    # container's namespace, as podman does when ADD fails.
    for number, command in enumerate(("ovs-vsctl", "ovs-ofctl")):
        stalled = tmp_path / command
        stalled.mkdir()
        (stalled / command).write_text("#!/bin/sh\nexec sleep 600\n")
        (stalled / command).chmod(0o755)
        namespace = f"{lab.name}-c9{number}"
        netns.add([namespace])
        plugin = _start_plugin(site, "host1", f"{number:02d}" + "ab" * 31,
                               f"/run/netns/{namespace}", stalled)
        wait_for(lambda p=plugin: _stalled_in(p.pid), 20, f"weft-cni to stall in {command}")
        os.killpg(plugin.pid, signal.SIGKILL)
        plugin.wait()
        assert len(cni_ports(site)) == len(keep) + 1 + number  # the killed ADD's port is left
        netns.delete([namespace])
    p1.gc("--grace", "0")
    assert cni_ports(site) == keep
    assert len(host_leftovers(site, "host1")) == 3  # keep's OVS interface, veth, record
    assert p1.podman("exec", "keep", "ip", "link", "show", "eth0").returncode == 0

    # kill -9 of a container: podman's cleanup runs DEL.
    p2.run("doomed", "blue")
    assert len(cni_ports(site)) == len(keep) + 1
    p2.podman("kill", "--signal", "KILL", "doomed")
    wait_for(lambda: cni_ports(site) == keep, 20, "the killed container's port to go")
    assert host_leftovers(site, "host2") == []

    # The controller down during ADD: a clear error, and nothing left.
    d.stop_controller()
    failed = p2.exec(p2.run_argv("late", "blue", ["true"]), check=False)
    assert failed.returncode != 0
    assert "installed no flows for it within 5 s" in failed.stderr
    assert cni_ports(site) == keep and host_leftovers(site, "host2") == []
    d.start_controller()
