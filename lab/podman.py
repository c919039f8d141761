"""podman on a lab host: a real container runtime attaching containers with weft-cni.

Each host gets what a real machine has, under the lab's directory: its own container
storage, its own containers.conf (the settings this machine needs: runc, cgroupfs, file
events, the CNI backend, ulimits within the hard limit; ../shared/PLATFORM.md), its own CNI
bin and configuration directories, and the plugin's state directory. Containers run a
busybox root file system shared read-only by all of them (`--rootfs R:O`), no image registry.

podman is run with `nsenter --net=/run/netns/HOST`, not `ip netns exec`, which would also
unshare the mount namespace and hide podman's `/run/netns/netns-*` mounts from the next
podman command. `remove_all()` must run before the lab goes down.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from lab import netns
from lab.errors import CommandError
from lab.layout import Host

WEFT = str(Path(sys.executable).with_name("weft"))
SYSTEM_PLUGINS = Path("/usr/lib/cni")  # Debian's containernetworking-plugins (tuning, ...)
BUSYBOX = Path("/bin/busybox")  # busybox-static


def build_rootfs(root: Path) -> Path:
    """A busybox root file system (a few files and symlinks; built once per lab)."""
    if (root / "bin" / "sh").exists():
        return root
    for name in ("bin", "sbin", "usr/bin", "usr/sbin", "proc", "sys", "dev", "tmp", "run",
                 "etc"):
        (root / name).mkdir(parents=True, exist_ok=True)
    shutil.copy2(BUSYBOX, root / "bin" / "busybox")
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (root / "etc" / "group").write_text("root:x:0:\n")
    subprocess.run(["chroot", str(root), "/bin/busybox", "--install", "-s"], check=True)
    return root


class Podman:
    """podman and weft-cni on one lab host (files only: it holds no live resource)."""

    def __init__(self, host: Host, base: Path, rootfs: Path) -> None:
        self.host, self.dir, self.rootfs = host, base / host.name, rootfs
        self.conf_dir, self.bin_dir = self.dir / "net.d", self.dir / "bin"
        self.state_dir, self.token_file = self.dir / "cni-state", self.dir / "host.token"

    def setup(self, token: str) -> Podman:
        for path in (self.conf_dir, self.bin_dir, self.dir / "tmp"):
            path.mkdir(parents=True, exist_ok=True)
        for plugin in SYSTEM_PLUGINS.iterdir():
            target = self.bin_dir / plugin.name
            if not target.exists():
                target.symlink_to(plugin)
        self.token_file.write_text(token + "\n")
        os.chmod(self.token_file, 0o600)
        (self.dir / "containers.conf").write_text(
            "[containers]\n"
            'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n'
            "[engine]\n"
            'runtime = "runc"\n'
            'cgroup_manager = "cgroupfs"\n'
            'events_logger = "file"\n'
            f'events_logfile_path = "{self.dir}/events.log"\n'
            f'tmp_dir = "{self.dir}/tmp"\n'
            "[network]\n"
            'network_backend = "cni"\n'
            f'network_config_dir = "{self.conf_dir}"\n'
            f'cni_plugin_dirs = ["{self.bin_dir}"]\n'
        )
        (self.dir / "storage.conf").write_text(
            "[storage]\n"
            'driver = "overlay"\n'
            f'graphroot = "{self.dir}/storage"\n'
            f'runroot = "{self.dir}/run"\n'
        )
        return self

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "CONTAINERS_CONF": str(self.dir / "containers.conf"),
                "CONTAINERS_STORAGE_CONF": str(self.dir / "storage.conf")}

    def _in_host(self, argv: Sequence[str]) -> list[str]:
        netns.require_isolated()
        netns.require_lab_netns(self.host.netns)
        return ["nsenter", f"--net={netns.NETNS_DIR / self.host.netns}", "--", *argv]

    def exec(self, argv: Sequence[str], *, check: bool = True, timeout: float = 60,
             input: str | None = None) -> subprocess.CompletedProcess:
        """Run `argv` in the host's namespace with this host's podman settings."""
        full = self._in_host(argv)
        try:
            done = subprocess.run(full, capture_output=True, text=True, timeout=timeout,
                                  env=self.env, input=input)
        except subprocess.TimeoutExpired:
            raise CommandError(full, None, f"no answer within {timeout} s") from None
        if check and done.returncode != 0:
            raise CommandError.from_completed(done)
        return done

    def popen(self, argv: Sequence[str], **kwargs) -> subprocess.Popen:
        return subprocess.Popen(self._in_host(argv), env=self.env, **kwargs)

    def podman(self, *args: str, check: bool = True, timeout: float = 60
               ) -> subprocess.CompletedProcess:
        return self.exec(["podman", *args], check=check, timeout=timeout)

    def run_argv(self, name: str, network: str, command: Sequence[str],
                 detach: bool = True) -> list[str]:
        """`podman run` of a busybox container called `name` on `network`."""
        return ["podman", "run", *(["-d"] if detach else ["--rm"]), "--name", name,
                "--network", network, "--rootfs", f"{self.rootfs}:O", *command]

    def run(self, name: str, network: str, *command: str) -> str:
        """Start a detached container; return its id."""
        return self.exec(self.run_argv(name, network, command or ("sleep", "3600"))
                         ).stdout.strip()

    def install_cni(self, api: str, *options: str) -> str:
        """`weft cni install` on this host, into this host's directories."""
        return self.exec([
            WEFT, "cni", "install", "--api", api, "--host-token-file", str(self.token_file),
            "--bin-dir", str(self.bin_dir), "--conf-dir", str(self.conf_dir),
            "--ovs-rundir", str(self.host.rundir), "--state-dir", str(self.state_dir),
            *options,
        ]).stdout

    def gc(self, *options: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.exec([WEFT, "cni", "gc", "--conf-dir", str(self.conf_dir), *options],
                         check=check)

    def remove_all(self) -> None:
        """Remove every container of this host (before the lab goes down)."""
        if (self.dir / "containers.conf").exists():
            self.podman("rm", "--all", "--force", "--time", "0", check=False, timeout=120)
