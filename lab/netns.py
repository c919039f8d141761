"""Network namespaces: the root-namespace guard, and running commands inside lab namespaces.

The machine's root namespace has a route off the machine, so a client started there by
mistake talks to addresses that belong to someone else. Two checks prevent that:

- `require_isolated()` raises if the *caller* (the calling thread, which is the whole
  process unless it used `entered()`) is in the root namespace, or in any namespace with a
  default route (a shell may sit outside PID 1's namespace and still have a
  way out). Every command the lab runs goes through `run()`/`popen()` here, which call it
  first, and the clients it starts (the controller in the demo, tests and benchmarks) are
  started inside a lab namespace. The controller itself does not check: in production it
  runs in the machine's own namespace on purpose. Lab namespaces never have a default route;
  a fresh `unshare --net` one has only `lo`.
- `require_lab_netns(name)` raises if a *target* namespace is the root one, so nothing the
  lab starts "inside host1" can land in the root namespace through a stale or bad mount.

The root namespace is recognised by its inode number, compared with PID 1's. Some sandboxes
close PID 1's /proc entry even to root; kthreadd (PID 2, a kernel thread, so always in the
initial namespaces) stands in then. If neither can be read, the guard refuses. Everything
here reads /proc and opens no connection.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import subprocess
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from lab import procs
from lab.errors import CommandError, LabError

NETNS_DIR = Path("/run/netns")
# The calling *thread's* namespace: setns() (see entered()) switches one thread only.
OWN_NETNS = Path("/proc/thread-self/ns/net")
OWN_ROUTES = Path("/proc/thread-self/net")
CLONE_NEWNET = 0x40000000


class NotIsolatedError(LabError):
    """Refused: this would run something where traffic can leave the machine."""


RTF_UP, RTF_REJECT = 0x1, 0x200


def netns_inode(path: str | os.PathLike) -> int:
    """Inode number identifying the network namespace at `path` (/proc/PID/ns/net or a mount)."""
    return os.stat(path).st_ino


def root_netns_path() -> Path:
    """A path to the machine's root network namespace: PID 1's, or kthreadd's."""
    init = Path("/proc/1/ns/net")
    try:
        os.stat(init)
        return init
    except PermissionError:
        pass
    with contextlib.suppress(OSError):
        if Path("/proc/2/comm").read_text().strip() == "kthreadd":
            return Path("/proc/2/ns/net")
    raise NotIsolatedError("cannot tell which network namespace is the root one: refusing")


def root_netns_inode() -> int:
    return netns_inode(root_netns_path())


def in_root_netns() -> bool:
    """True if the calling thread is in the machine's (PID 1's) network namespace."""
    return netns_inode(OWN_NETNS) == root_netns_inode()


def default_routes() -> list[str]:
    """Interfaces of the calling thread's usable IPv4 and IPv6 default routes."""
    found = []
    with open(OWN_ROUTES / "route") as table:
        for fields in (line.split() for line in table.readlines()[1:]):
            iface, destination, flags, mask = fields[0], fields[1], int(fields[3], 16), fields[7]
            if destination == mask == "00000000" and flags & RTF_UP:
                found.append(iface)
    with open(OWN_ROUTES / "ipv6_route") as table:
        for fields in (line.split() for line in table):
            destination, length, flags, iface = fields[0], fields[1], int(fields[8], 16), fields[9]
            # (a fresh namespace has an "unreachable ::/0" on lo: RTF_REJECT)
            usable = flags & RTF_UP and not flags & RTF_REJECT
            if int(destination, 16) == 0 and length == "00" and usable:
                found.append(iface)
    return found


def require_isolated() -> None:
    """The guard: raise NotIsolatedError if the calling thread is in the root namespace or
    has a default route, i.e. a way off the machine."""
    if in_root_netns():
        where = "the root network namespace"
    elif routes := default_routes():
        where = f"a network namespace with a default route (via {', '.join(routes)})"
    else:
        return
    raise NotIsolatedError(
        f"refusing to run in {where}: start this inside an isolated one, e.g. "
        "`unshare --net sh -c 'ip link set lo up && <command>'`, or inside a lab namespace "
        "(`weft lab exec ctl -- <command>`)"
    )


def require_lab_netns(netns: str) -> None:
    """Raise unless `netns` exists and is not the root namespace."""
    try:
        inode = netns_inode(NETNS_DIR / netns)
    except FileNotFoundError:
        raise LabError(f"network namespace {netns} does not exist") from None
    if inode == root_netns_inode():
        raise NotIsolatedError(f"network namespace {netns} is the root namespace: refusing")


@contextmanager
def entered(netns: str) -> Iterator[None]:
    """Move the calling thread into `netns` for the duration of the block.

    Sockets keep the namespace they were created in, and threads started inside the block
    inherit it: a test can open an OVSDB or OpenFlow connection from the ctl namespace and
    keep using it afterwards. Only this thread moves; the process stays where it was.
    """
    require_lab_netns(netns)
    with open(OWN_NETNS) as home, open(NETNS_DIR / netns) as target:
        _setns(target.fileno())
        try:
            yield
        finally:
            _setns(home.fileno())


def _setns(fd: int) -> None:
    """setns(2) (os.setns only exists from Python 3.12)."""
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"setns: {os.strerror(error)}")


_libc = ctypes.CDLL(None, use_errno=True)


def inside(netns: str, argv: Sequence[str]) -> list[str]:
    """`argv` wrapped to run inside `netns` (checked: never the root namespace)."""
    require_lab_netns(netns)
    return ["ip", "netns", "exec", netns, *argv]


def run(
    argv: Sequence[str],
    *,
    netns: str | None = None,
    check: bool = True,
    capture: bool = True,
    timeout: float | None = 30,
    input: str | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """Run `argv` to completion, inside `netns` if given, else in the caller's namespace.

    With `check`, a non-zero exit or a timeout raises CommandError carrying stderr.
    """
    require_isolated()
    full = inside(netns, argv) if netns else list(argv)
    try:
        proc = subprocess.run(
            full, capture_output=capture, text=True, timeout=timeout, input=input,
            env=None if env is None else {**os.environ, **env},
        )
    except subprocess.TimeoutExpired as exc:
        if check:
            raise CommandError(full, None, f"no answer within {timeout} s") from None
        return subprocess.CompletedProcess(full, -9, exc.stdout or "", exc.stderr or "")
    if check and proc.returncode != 0:
        raise CommandError.from_completed(proc)
    return proc


def popen(
    argv: Sequence[str], *, netns: str, env: Mapping[str, str] | None = None, **kwargs
) -> subprocess.Popen:
    """Start `argv` inside `netns` without waiting (`ip netns exec` execs, so the pid is argv's)."""
    require_isolated()
    return subprocess.Popen(
        inside(netns, argv), env=None if env is None else {**os.environ, **env}, **kwargs
    )


def existing() -> list[str]:
    """Names of all named network namespaces on the machine."""
    try:
        return sorted(os.listdir(NETNS_DIR))
    except FileNotFoundError:
        return []


def add(names: Iterable[str]) -> None:
    """Create named namespaces, in one `ip` process."""
    ip_batch(f"netns add {name}" for name in names)


def delete(names: Iterable[str]) -> None:
    """Stop every process inside the named namespaces, then delete them (one `ip` process,
    going on past errors). A namespace with a live process would survive `ip netns del`,
    invisibly, with all its interfaces."""
    names = list(names)
    procs.stop(processes_inside(names))
    ip_batch((f"netns del {name}" for name in names), force=True)


def processes_inside(names: Iterable[str]) -> set[int]:
    """Pids of the processes whose network namespace is one of the named ones."""
    found = inodes(names)
    return {p.pid for p in procs.scan() if p.netns_inode in found} if found else set()


def inodes(names: Iterable[str]) -> set[int]:
    """Inodes of the named namespaces that exist. A name bound to the root namespace by
    mistake is left out: its processes are the whole machine's, never the lab's."""
    found = set()
    for name in names:
        with contextlib.suppress(FileNotFoundError):
            found.add(netns_inode(NETNS_DIR / name))
    found.discard(root_netns_inode())
    return found


def ip_batch(lines: Iterable[str], *, netns: str | None = None, force: bool = False) -> None:
    """Run many `ip` commands in one process, inside `netns` (via `ip -n`) if given.

    `force` goes on past failing lines and does not raise.
    """
    script = "".join(f"{line}\n" for line in lines)
    if not script:
        return
    argv = ["ip"]
    if netns:
        require_lab_netns(netns)
        argv += ["-n", netns]
    if force:
        argv.append("-force")
    run([*argv, "-batch", "-"], input=script, check=not force)
