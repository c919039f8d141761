"""Raw Ethernet frames sent and captured inside a lab container (AF_PACKET, no tools needed).

Used where a test must show that a frame reaches nobody, or craft one a normal socket will
not send (an ARP claiming someone else's address). The scripts run with this interpreter in
the container's namespace through `lab.exec`/`lab.spawn`.
"""

from __future__ import annotations

import ipaddress
import struct
import subprocess
import sys
import threading
import time

from controller.igmp import checksum
from lab import Lab, netns

SEND = """
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
for frame in sys.argv[1:]:
    s.send(bytes.fromhex(frame))
"""

CAPTURE = """
import socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind(("eth0", 0))
s.settimeout(0.1)
print("ready", flush=True)
end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    try:
        data, addr = s.recvfrom(65535)
    except TimeoutError:
        continue
    if addr[2] != socket.PACKET_OUTGOING:
        print(data.hex(), flush=True)
"""


def mac_bytes(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", ""))


def arp(op: int, src_mac: str, src_ip: str, dst_mac: str, target_ip: str) -> bytes:
    """An ARP frame (op 1 request, 2 reply) from src_mac claiming src_ip."""
    eth_dst = "ff:ff:ff:ff:ff:ff" if op == 1 else dst_mac
    return (
        mac_bytes(eth_dst)
        + mac_bytes(src_mac)
        + struct.pack("!HHHBBH", 0x0806, 1, 0x0800, 6, 4, op)
        + mac_bytes(src_mac)
        + ipaddress.IPv4Address(src_ip).packed
        + mac_bytes(dst_mac if op == 2 else "00:00:00:00:00:00")
        + ipaddress.IPv4Address(target_ip).packed
    )


def neighbour_advertisement(src_mac: str, src_ip: str, dst_mac: str, dst_ip: str,
                            target: str, target_mac: str) -> bytes:
    """An unsolicited-style IPv6 neighbour advertisement (override flag set) from src_mac
    saying that `target` is at `target_mac`, with a valid ICMPv6 checksum."""
    src, dst = ipaddress.IPv6Address(src_ip).packed, ipaddress.IPv6Address(dst_ip).packed
    body = (struct.pack("!I", 0x2000_0000) + ipaddress.IPv6Address(target).packed
            + bytes([2, 1]) + mac_bytes(target_mac))  # option 2: target link-layer address
    icmp = struct.pack("!BBH", 136, 0, 0) + body
    pseudo = src + dst + struct.pack("!I3xB", len(icmp), 58)
    icmp = icmp[:2] + struct.pack("!H", checksum(pseudo + icmp)) + icmp[4:]
    ipv6 = struct.pack("!IHBB", 6 << 28, len(icmp), 58, 255) + src + dst
    return mac_bytes(dst_mac) + mac_bytes(src_mac) + struct.pack("!H", 0x86DD) + ipv6 + icmp


def send(lab: Lab, port: str, frames: list[bytes]) -> None:
    lab.exec(port, [sys.executable, "-c", SEND, *(f.hex() for f in frames)])


class Capture:
    """Frames arriving at a container's eth0 while the `with` block runs (plus `linger`).

    `frames` fills as they arrive, so a test may also watch it inside the block."""

    def __init__(self, lab: Lab, port: str, seconds: float = 60.0, linger: float = 0.5):
        self._lab, self._port, self._seconds, self._linger = lab, port, seconds, linger
        self.frames: list[bytes] = []

    def __enter__(self) -> Capture:
        self._process = netns.popen(
            [sys.executable, "-c", CAPTURE, str(self._seconds)],
            netns=self._lab.container(self._port).netns,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout.readline().strip() == "ready"
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        for line in self._process.stdout:
            self.frames.append(bytes.fromhex(line.strip()))

    def __exit__(self, *exc) -> None:
        time.sleep(self._linger)
        self._process.terminate()
        self._process.wait(timeout=10)
        self._reader.join(timeout=10)
