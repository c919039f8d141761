"""docker-compose.yml, really up: built and started by a real Docker engine, checked with packets.

The engine (tests/support/docker.py) runs in a network namespace of its own; the base
images come from scripts/docker-images (built by scripts/setup, loaded here), so no image
registry is needed. The compose file, its Dockerfiles and scripts are used unchanged, on a
copy of the project, and what docs/operations.md ("With Docker Compose") tells a user to
type is what runs here, with `docker-compose exec -T`. tests/unit/test_compose.py checks
the file's structure without an engine.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from lab import netns
from lab.deployment import wait_for
from tests.support.docker import DockerEngine

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "weft"  # the compose project name; one engine runs at a time (DockerEngine's lock)
HOSTS = ("host1", "host2", "host3")
SERVICES = ("db", "controller", "api", *HOSTS)  # with a healthcheck; `register` is one-shot
# Runs of 100 pings 10 ms apart until told to stop; any loss ends it with ping's exit code.
PING_RUNS = ("rm -f /tmp/stop-pinging; until [ -e /tmp/stop-pinging ]; do "
             "ping -q -c 100 -i 0.01 {ip} || exit; done")
NOT_COPIED = (".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache", "*.egg-info")


class Compose:
    """`docker-compose -p weft` on the project copy in `directory`, against `engine`."""

    def __init__(self, directory: Path, engine: DockerEngine):
        self.directory = directory
        self.engine = engine

    def argv(self, *args: str) -> list[str]:
        return ["docker-compose", "--project-name", PROJECT,
                "--file", str(self.directory / "docker-compose.yml"),
                "--project-directory", str(self.directory), *args]

    def __call__(self, *args: str, check: bool = True, timeout: float = 120):
        return netns.run(self.argv(*args), env=self.engine.env, check=check, timeout=timeout)

    def exec(self, service: str, *argv: str, check: bool = True, timeout: float = 60):
        return self("exec", "-T", service, *argv, check=check, timeout=timeout)

    def poll(self, service: str, *argv: str):
        """`docker exec` in the service's container, for the polls: docker-compose takes one
        to three seconds to start, `docker` a tenth (Compose v1 names the container)."""
        return self.engine.docker("exec", f"{PROJECT}_{service}_1", *argv, check=False)

    def popen(self, service: str, *argv: str) -> subprocess.Popen:
        netns.require_isolated()
        return subprocess.Popen(
            self.argv("exec", "-T", service, *argv), env={**os.environ, **self.engine.env},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )

    def containers(self) -> dict[str, dict]:
        """`docker inspect` of the project's containers, by service."""
        ids = self.engine.docker("ps", "--all", "--quiet", "--filter",
                                 f"label=com.docker.compose.project={PROJECT}").stdout.split()
        found = json.loads(self.engine.docker("inspect", *ids).stdout) if ids else []
        return {c["Config"]["Labels"]["com.docker.compose.service"]: c for c in found}

    def weft_status(self) -> dict | None:
        """`weft status --json` (exit 3, "something down", prints it too), or None if the
        command printed none (the database unusable, the container restarting)."""
        result = self.poll("controller", "weft", "status", "--json")
        try:
            return json.loads(result.stdout)
        except json.JSONDecodeError:
            return None


def healthy(compose: Compose) -> bool:
    containers = compose.containers()
    assert set(containers) == {*SERVICES, "register"}, sorted(containers)
    register = containers["register"]["State"]
    assert not (register["Status"] == "exited" and register["ExitCode"] != 0), register
    return register["Status"] == "exited" and all(
        containers[name]["State"].get("Health", {}).get("Status") == "healthy"
        for name in SERVICES
    )


def everything_up(status: dict | None, bound_ports: int) -> bool:
    if status is None:
        return False
    hosts = {h["name"]: h for h in status["hosts"]}
    return (status["healthy"] and set(hosts) == set(HOSTS)
            and all(h["state"] == "connected" and h["switch_connected"] for h in hosts.values())
            and status["tunnel_counts"] == {"up": 6, "down": 0, "unknown": 0}
            and status["ports"]["bound"] == bound_ports)


def hosts_connected_metric(compose: Compose) -> int:
    """weft_hosts_connected from the controller's /metrics, or -1 while it does not answer."""
    fetch = ("import urllib.request; print(urllib.request.urlopen("
             "'http://127.0.0.1:9464/metrics', timeout=3).read().decode())")
    result = compose.poll("controller", "python3", "-c", fetch)
    match = re.search(r"^weft_hosts_connected (\S+)$", result.stdout, re.MULTILINE)
    return int(float(match.group(1))) if result.returncode == 0 and match else -1


def ping_summary(output: str) -> tuple[int, int]:
    """Packets sent and answered, summed over every run of ping in `output`."""
    runs = re.findall(r"(\d+) packets transmitted, (\d+) received", output)
    assert runs, output
    return sum(int(sent) for sent, _ in runs), sum(int(answered) for _, answered in runs)


@pytest.mark.docker
@pytest.mark.timeout(900)
def test_the_compose_file_up_forms_an_overlay_and_down_leaves_nothing(tmp_path):
    project = tmp_path / "weft"
    shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns(*NOT_COPIED))
    engine = DockerEngine(f"wdk{os.getpid() % 100000}", tmp_path / "dockerd.log")
    compose = Compose(project, engine)
    try:
        engine.start()
        netns.run(["bash", str(ROOT / "scripts/docker-images"), "load"], env=engine.env,
                  timeout=600)

        # Up, as documented; `up` itself waits for db and then the controller to be healthy.
        compose("up", "-d", "--build", timeout=900)
        wait_for(lambda: healthy(compose), timeout=120, poll=1,
                 what="every service healthy and register done")
        for container in compose.containers().values():
            if container["State"]["Running"]:
                engine.watch(container["State"]["Pid"])
        wait_for(lambda: everything_up(compose.weft_status(), 0), timeout=60, poll=1,
                 what="3 hosts connected and 6 tunnels up (weft status)")

        # The network and one demo port per host, as docs/operations.md does it.
        compose.exec("controller", "weft", "network", "create", "blue",
                     "--cidr", "198.51.100.0/24")
        for k in (1, 2, 3):
            mac, ip = f"02:00:00:00:01:0{k}", f"198.51.100.1{k}"
            compose.exec("controller", "weft", "port", "create", f"web-{k}",
                         "--network", "blue", "--mac", mac, "--ip", ip)
            compose.exec(f"host{k}", "demo-port", f"web-{k}", mac, f"{ip}/24", timeout=90)
        wait_for(lambda: everything_up(compose.weft_status(), 3), timeout=60, poll=1,
                 what="the 3 demo ports bound (weft status)")
        ports = json.loads(compose.exec("controller", "weft", "port", "list", "--json").stdout)
        assert {p["name"]: p["host"] for p in ports} == {f"web-{k}": f"host{k}" for k in (1, 2, 3)}
        flows = compose.exec("host1", "ovs-ofctl", "-O", "OpenFlow14", "dump-flows", "br-int")
        assert "cookie=0x57" in flows.stdout, flows.stdout

        # Across hosts, every pair, through the VXLAN overlay.
        for source, target in (("host1", "12"), ("host1", "13"), ("host2", "13")):
            ping = compose.exec(source, "ping", "-c", "3", "-i", "0.2", "-w", "10",
                                f"198.51.100.{target}", check=False)
            assert ping.returncode == 0, f"{source} -> 198.51.100.{target}:\n{ping.stdout}"
        # An address of the network that no port holds does not answer: the pings above
        # were answered by the ports, not by something else on the way.
        stray = compose.exec("host1", "ping", "-c", "2", "-w", "3", "198.51.100.99", check=False)
        assert stray.returncode != 0

        # A controller restart loses no packet: 10 ms pings run across it, from before the
        # restart until a second after the new controller has every switch back (in runs of
        # 100, so that the last ping's answer is waited for; a loss stops the runs).
        started = compose.containers()["controller"]["State"]["StartedAt"]
        pinger = compose.popen("host1", "sh", "-c", PING_RUNS.format(ip="198.51.100.12"))
        assert pinger.stdout.readline().startswith("PING "), "ping did not start"
        time.sleep(1)
        compose("restart", "controller")
        assert compose.containers()["controller"]["State"]["StartedAt"] != started
        wait_for(lambda: hosts_connected_metric(compose) == 3, timeout=30, poll=0.5,
                 what="the restarted controller to have the 3 switches again")
        time.sleep(1)
        assert pinger.poll() is None, f"the pings stopped early:\n{pinger.stdout.read()}"
        compose.exec("host1", "touch", "/tmp/stop-pinging")
        output, _ = pinger.communicate(timeout=60)
        transmitted, received = ping_summary(output)
        assert pinger.returncode == 0 and transmitted >= 200, output
        assert received == transmitted, output
        wait_for(lambda: everything_up(compose.weft_status(), 3), timeout=60, poll=1,
                 what="weft status healthy after the restart")

        # A host container's restart starts it with an empty OVS database and a new network
        # namespace: the controller provisions it again, and its demo port, gone with the
        # old namespace, is plugged again with demo-port (docs/operations.md).
        compose("restart", "host2")
        wait_for(lambda: everything_up(compose.weft_status(), 2), timeout=60, poll=1,
                 what="host2 provisioned again, its demo port gone")
        compose.exec("host2", "demo-port", "web-2", "02:00:00:00:01:02", "198.51.100.12/24",
                     timeout=90)
        ping = compose.exec("host1", "ping", "-c", "3", "-i", "0.2", "-w", "10",
                            "198.51.100.12", check=False)
        assert ping.returncode == 0, f"host1 -> web-2 after host2's restart:\n{ping.stdout}"

        # Down, then the engine's teardown: nothing of the run may remain.
        compose("down", "-v", timeout=180)
        assert engine.docker("ps", "--all", "--quiet").stdout.split() == []
        assert engine.docker("volume", "ls", "--quiet").stdout.split() == []
        networks = engine.docker("network", "ls", "--format", "{{.Name}}").stdout.split()
        assert sorted(networks) == ["host", "none"]
        # Superseded builds would pile up in the cached data root.
        engine.docker("image", "prune", "--force", timeout=300)
        engine.stop()
        assert engine.leftovers() == []
    finally:
        if engine.process is not None and engine.process.poll() is None:
            # After a failure: the containers' output, for the report, then down.
            logs = compose("logs", "--no-color", "--timestamps", check=False)
            (tmp_path / "compose.log").write_text(logs.stdout + logs.stderr)
            compose("down", "-v", check=False, timeout=180)
        engine.stop()
