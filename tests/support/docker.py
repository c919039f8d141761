"""A real Docker engine for tests, isolated: its own network namespace and mount namespace.

dockerd runs in a network namespace created here (inside the suite's own `unshare --net`
one), so its bridges, veths and iptables rules never touch the machine's networking, and
in a private mount namespace (`unshare --mount --propagation slave`), so the overlay
mounts and namespace bind mounts it makes stay its own and vanish with it. Not `ip netns
exec`: that remounts /sys, and dockerd then fails with "Devices cgroup isn't mounted".

Its data root (images and the build cache) lives in the cache of scripts/docker-images and
persists between runs, which is what makes a second run fast; one engine at a time uses it
(a lock, held from start to stop). Everything else belongs to the run and is named after
it: the exec root under /run (sockets, containerd state), the network namespace, and the
cgroup parent of the containers, given relative so that it sits below the test's own cgroups.
After `stop()`, `leftovers()` lists whatever of the run is still there.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
from pathlib import Path

from lab import netns, procs
from lab.deployment import wait_for

CACHE = Path(os.environ.get("WEFT_DOCKER_CACHE", "/var/cache/weft-docker"))
DOCKER = "/usr/bin/docker"  # Debian's client, matching the engine (20.10)
CGROUP_ROOT = Path("/sys/fs/cgroup")


class DockerEngine:
    """One dockerd (with the containerd it starts) named `tag`; owns that process, its
    network namespace and exec root, and the lock on the shared data root."""

    def __init__(self, tag: str, log: Path):
        self.tag = tag
        self.log = log
        self.exec_root = Path("/run") / tag
        self.socket = self.exec_root / "docker.sock"
        self.env = {"DOCKER_HOST": f"unix://{self.socket}"}
        self.process: subprocess.Popen | None = None
        self.namespaces: set[int] = set()  # inodes of every namespace the run made
        self._lock = None

    def start(self, timeout: float = 60) -> None:
        CACHE.mkdir(parents=True, exist_ok=True)
        self._lock = open(CACHE / "engine.lock", "w")  # noqa: SIM115 (held until stop)
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        stop_stale_engines()
        netns.add([self.tag])
        netns.ip_batch(["link set lo up"], netns=self.tag)
        netns.require_lab_netns(self.tag)
        self.exec_root.mkdir(mode=0o700)
        config = self.exec_root / "daemon.json"  # not the machine's /etc/docker/daemon.json
        config.write_text("{}\n")
        self.process = subprocess.Popen(
            ["nsenter", f"--net={netns.NETNS_DIR / self.tag}",
             "unshare", "--mount", "--propagation", "slave",
             "dockerd", "--config-file", str(config),
             "--data-root", str(CACHE / "engine"), "--exec-root", str(self.exec_root),
             "--pidfile", str(self.exec_root / "docker.pid"), "--host", f"unix://{self.socket}",
             "--bridge=none", "--iptables=true", "--ip6tables=false",
             "--cgroup-parent", self.tag],
            stdout=self.log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
        )

        def ready() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"dockerd exited:\n{self.log.read_text()[-3000:]}")
            return self.docker("info", check=False).returncode == 0

        wait_for(ready, timeout=timeout, what="dockerd to answer", poll=0.2)
        self.watch(self.process.pid)  # only now surely dockerd, in its own namespaces

    def watch(self, pid: int) -> None:
        """Remember the namespaces of `pid` (dockerd, a container) to check they go away."""
        for kind in ("net", "mnt"):
            with contextlib.suppress(FileNotFoundError):
                self.namespaces.add(os.stat(f"/proc/{pid}/ns/{kind}").st_ino)
        self.namespaces.discard(os.stat("/proc/self/ns/mnt").st_ino)
        self.namespaces.discard(os.stat("/proc/self/ns/net").st_ino)

    def docker(self, *args: str, check: bool = True, timeout: float = 60):
        return netns.run([DOCKER, *args], env=self.env, check=check, timeout=timeout)

    def stop(self) -> None:
        """Stop dockerd (it stops its containerd), anything left in its namespaces, then
        remove the cgroups, network namespace and exec root of the run."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        procs.stop(self._processes())
        for path in sorted(self._cgroups(), key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):
                path.rmdir()
        netns.delete([self.tag])
        shutil.rmtree(self.exec_root, ignore_errors=True)
        if self._lock is not None:
            self._lock.close()  # releases the lock
            self._lock = None

    def leftovers(self) -> list[str]:
        """What of this run still exists: processes in its namespaces, its network
        namespace, mounts under its directories, its cgroups, its exec root."""
        found = [f"process {pid}" for pid in self._processes()]
        if self.tag in netns.existing():
            found.append(f"network namespace {self.tag}")
        with open("/proc/self/mountinfo") as mounts:
            found += [f"mount {line.split()[4]}" for line in mounts
                      if self.tag in line or str(CACHE) in line]
        found += [f"cgroup {path}" for path in self._cgroups()]
        if self.exec_root.exists():
            found.append(f"directory {self.exec_root}")
        return found

    def _processes(self) -> set[int]:
        return processes_in(self.namespaces)

    def _cgroup_processes(self) -> set[int]:
        """The containers' processes, found through the run's cgroups: they have namespaces
        of their own, and outlive a killed containerd-shim."""
        found = set()
        for path in self._cgroups():
            with contextlib.suppress(OSError):
                found.update(int(pid) for pid in (path / "cgroup.procs").read_text().split())
        return found

    def _cgroups(self) -> list[Path]:
        """The run's cgroup directories: its parent (named after it) in every hierarchy,
        below the cgroup of this process there, and whatever is inside."""
        found = []
        with open("/proc/self/cgroup") as own:
            entries = [line.rstrip("\n").split(":", 2) for line in own]
        for _, controllers, path in entries:
            name = controllers.removeprefix("name=").split(",")[0] or "unified"
            parent = CGROUP_ROOT / name / path.lstrip("/") / self.tag
            if parent.is_dir():
                found += [parent, *(p for p in parent.rglob("*") if p.is_dir())]
        return found


def processes_in(namespaces: set[int]) -> set[int]:
    """Live processes whose network or mount namespace is one of `namespaces` (inodes)."""
    found = set()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        for kind in ("net", "mnt"):
            with contextlib.suppress(OSError):
                if os.stat(f"/proc/{entry.name}/ns/{kind}").st_ino in namespaces:
                    found.add(int(entry.name))
    return {pid for pid in found if procs.is_running(pid)}


def stop_stale_engines() -> None:
    """Remove what a killed run left on the shared data root (it holds the lock no more):
    its dockerd, everything in that dockerd's mount namespace (containerd, shims,
    containers), then its cgroups, network namespace and exec root. The dockerd is found by
    the data root in its command line, never by name; called with the lock held, so no
    live run owns it."""
    data_root = f"--data-root {CACHE / 'engine'} "
    for process in procs.scan():
        if data_root not in process.cmdline:
            continue
        words = process.cmdline.split()
        tag = Path(words[words.index("--exec-root") + 1]).name
        stale = DockerEngine(tag, Path(os.devnull))
        stale.watch(process.pid)
        procs.stop({process.pid, *stale._processes(), *stale._cgroup_processes()}, grace=10)
        stale.stop()
