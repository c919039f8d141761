"""A Weft deployment whose containers are started by podman through weft-cni.

`PodmanDeployment` adds to a `Deployment` (database, hosts, controller) what a real site
has: `weft api` in the control namespace, one host token per host, and on every host podman
with `weft cni install` done, so that `podman run --network NAME` just works. The tests
and bench/cni.py drive it; `close()` removes the containers before the lab goes down.
"""

from __future__ import annotations

import subprocess
import sys

from lab.deployment import WEFT, Deployment, wait_for
from lab.podman import Podman, build_rootfs
from northbound.session import writing
from northbound.tokens import create_token

API_PORT = 8080
HEALTH = "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)"


class PodmanDeployment:
    """The API server process and podman on each host of `deployment`'s lab."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.lab = deployment.lab
        self.api_url = f"http://{self.lab.controller_ip}:{API_PORT}"
        self.api: subprocess.Popen | None = None
        self.podman: dict[str, Podman] = {}

    def start_api(self) -> None:
        self.api = self.lab.spawn("ctl", [
            WEFT, "api", "--listen", f"{self.lab.controller_ip}:{API_PORT}",
            "--database-url", self.deployment.database_url, "--log-level", "WARNING",
        ], self.deployment.log_dir / "api.log")
        wait_for(lambda: self.lab.exec("ctl", [sys.executable, "-c", HEALTH,
                                               f"{self.api_url}/health"], check=False
                                       ).returncode == 0, 30, "weft api to answer")

    def setup_hosts(self, *install_options: str) -> None:
        """A host token, podman and `weft cni install` on every host. Each host's podman
        runs once here, before any container exists: its first run resets the machine's
        shared lock table, which must not happen under another host's containers."""
        rootfs = build_rootfs(self.lab.dir / "rootfs")
        for host in self.lab.hosts:
            with writing(self.deployment.database_url) as session:
                _token, secret = create_token(session, f"cni-{host.name}", f"host:{host.name}")
            podman = Podman(host, self.lab.dir / "podman", rootfs).setup(secret)
            podman.install_cni(self.api_url, *install_options)
            podman.podman("info", "--format", "{{.Host.NetworkBackend}}")
            self.podman[host.name] = podman

    def close(self) -> None:
        for podman in self.podman.values():
            podman.remove_all()
        if self.api is not None and self.api.poll() is None:
            self.api.terminate()
            self.api.wait(timeout=30)
