"""The container's veth pair: names, network namespaces, `ip`, and two ioctls.

The container end is created inside the container's namespace and its peer is sent to the
host's namespace in the same `ip` command, so at no moment are both ends on the host. What
`ip` cannot do cheaply (checksum offload, link up) is an ioctl on a socket of the right
namespace: a socket stays in the namespace it was created in.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import hashlib
import json
import os
import socket
import struct
import subprocess
from collections.abc import Iterator, Sequence

from cni.errors import CONTAINER_UNKNOWN, IO_FAILURE, CniError

PORT_PREFIX = "cni-"  # every port the plugin creates, and only those, is named so
VETH_PREFIX = "wc"  # host ends of the plugin's veths
CLONE_NEWNET = 0x40000000
SIOCETHTOOL, ETHTOOL_STXCSUM = 0x8946, 0x17
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
SIOCGIFHWADDR = 0x8927
IFNAMSIZ = 16

_libc = ctypes.CDLL(None, use_errno=True)


def port_name(container_id: str, ifname: str) -> str:
    """The Weft port of one container interface: the same for every ADD of the container
    (a restart gets its port back), unique per container and interface."""
    return f"{PORT_PREFIX}{container_id[:16]}-{ifname}"


def host_veth(port: str) -> str:
    """The host end's name (15 characters at most, as the kernel wants), from the port."""
    return VETH_PREFIX + hashlib.sha256(port.encode()).hexdigest()[:12]


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


@contextlib.contextmanager
def entered(netns: str) -> Iterator[None]:
    """Run the block (and the processes it starts) in the network namespace at `netns`."""
    try:
        target = os.open(netns, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as error:
        raise CniError(CONTAINER_UNKNOWN, f"the container's network namespace {netns} "
                       f"cannot be opened: {error.strerror}") from None
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(home)
    finally:
        os.close(target)
        os.close(home)


def ip_batch(lines: Sequence[str]) -> None:
    """Run `ip` commands in one process, in the current namespace."""
    done = subprocess.run(["ip", "-batch", "-"], input="\n".join(lines) + "\n",
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise CniError(IO_FAILURE, f"ip failed: {done.stderr.strip()}",
                       "\n".join(lines))


def tx_checksum_off(sock: socket.socket, ifname: str) -> None:
    """`ethtool -K IFNAME tx off` on `sock`'s namespace. Needed on veths facing a userspace
    OVS: with it on, ping works but TCP and UDP arrive with bad checksums."""
    value = ctypes.create_string_buffer(struct.pack("II", ETHTOOL_STXCSUM, 0))
    request = struct.pack(f"{IFNAMSIZ}sP", ifname.encode(), ctypes.addressof(value))
    fcntl.ioctl(sock.fileno(), SIOCETHTOOL, request)


def set_up(sock: socket.socket, ifname: str) -> None:
    request = struct.pack(f"{IFNAMSIZ}sH", ifname.encode(), 0)
    flags = struct.unpack_from("H", fcntl.ioctl(sock.fileno(), SIOCGIFFLAGS, request),
                               IFNAMSIZ)[0]
    fcntl.ioctl(sock.fileno(), SIOCSIFFLAGS,
                struct.pack(f"{IFNAMSIZ}sH", ifname.encode(), flags | IFF_UP))


def udp_socket() -> socket.socket:
    """A socket for ioctls, in the current namespace."""
    return socket.socket(socket.AF_INET, socket.SOCK_DGRAM)


def exists(ifname: str) -> bool:
    """Whether `ifname` is a link of the current namespace. (Not /sys/class/net: sysfs
    shows the namespace it was mounted in, not the caller's.)"""
    try:
        socket.if_nametoindex(ifname)
    except OSError:
        return False
    return True


def mac_of(ifname: str) -> str:
    with udp_socket() as sock:
        answer = fcntl.ioctl(sock.fileno(), SIOCGIFHWADDR,
                             struct.pack(f"{IFNAMSIZ}s16x", ifname.encode()))
    return answer[IFNAMSIZ + 2:IFNAMSIZ + 8].hex(":")


def delete(ifname: str) -> None:
    """Delete a link of the current namespace (a veth takes its peer with it); a link
    already gone is fine."""
    done = subprocess.run(["ip", "link", "del", ifname], capture_output=True, text=True)
    if done.returncode != 0 and exists(ifname):
        raise CniError(IO_FAILURE, f"cannot delete {ifname}: {done.stderr.strip()}")


def addresses_in(ifname: str) -> tuple[str, list[str]] | None:
    """(MAC, addresses with prefix) of `ifname` in the current namespace, None if missing."""
    done = subprocess.run(["ip", "-j", "addr", "show", "dev", ifname], capture_output=True,
                          text=True)
    if done.returncode != 0:
        return None
    (info,) = json.loads(done.stdout)
    found = [f"{a['local']}/{a['prefixlen']}" for a in info.get("addr_info", [])
             if a.get("scope") == "global"]
    return info.get("address", ""), found


def netns_alive(path: str) -> bool:
    return bool(path) and os.path.exists(path)

