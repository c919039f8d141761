"""Real multicast sockets in lab containers: receivers that join with IP_ADD_MEMBERSHIP and a
sender of numbered UDP datagrams. Scripts run with this interpreter through the lab."""

from __future__ import annotations

import sys
from pathlib import Path

from lab import Lab

PORT = 5000

RECEIVER = """
import socket, struct, sys
group, local, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", port))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
             socket.inet_aton(group) + socket.inet_aton(local))
print("joined", flush=True)
while True:
    data, _ = s.recvfrom(2048)
    print(data.decode(), flush=True)
"""

SENDER = """
import socket, sys, time
group, local = sys.argv[1], sys.argv[2]
port, first, count = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
gap = float(sys.argv[6])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(local))
for n in range(first, first + count):
    s.sendto(str(n).encode(), (group, port))
    time.sleep(gap)
"""


class Receiver:
    """A process in `port`'s container, joined to `group`, logging each datagram's number."""

    def __init__(self, lab: Lab, port: str, local_ip: str, group: str, log_dir: Path):
        self.log = log_dir / f"receiver-{port}-{group}.log"
        self.process = lab.spawn(
            port, [sys.executable, "-c", RECEIVER, group, local_ip, str(PORT)], self.log
        )

    def joined(self) -> bool:
        return self.log.exists() and "joined" in self.log.read_text()

    def numbers(self) -> list[int]:
        if not self.log.exists():
            return []
        return [int(line) for line in self.log.read_text().split() if line.lstrip("-").isdigit()]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def _sender(local_ip: str, group: str, first: int, count: int, gap: float) -> list[str]:
    return [sys.executable, "-c", SENDER, group, local_ip, str(PORT), str(first), str(count),
            str(gap)]  # fmt: skip


def send(lab: Lab, port: str, local_ip: str, group: str, first: int, count: int, gap=0.005):
    """Send datagrams numbered first..first+count-1 from `port`'s container; wait for it."""
    lab.exec(port, _sender(local_ip, group, first, count, gap), timeout=120)


def start_sending(
    lab: Lab, port: str, local_ip: str, group: str, first: int, count: int, log_dir: Path,
    gap: float = 0.01,
):  # fmt: skip
    """Like `send`, in the background; returns the process."""
    argv = _sender(local_ip, group, first, count, gap)
    return lab.spawn(port, argv, log_dir / f"sender-{port}.log")


JOIN_LATENCY = """
import socket, sys, time
group, local, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", port))
start = time.monotonic()
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
             socket.inet_aton(group) + socket.inet_aton(local))
s.recv(2048)
print(time.monotonic() - start)
"""


def join_latency(lab: Lab, port: str, local_ip: str, group: str, timeout: float = 30) -> float:
    """Join `group` in `port`'s container and wait for a datagram: seconds from the join to
    its first datagram, timed by the container's own process (which then exits, so the
    kernel sends a leave)."""
    argv = [sys.executable, "-c", JOIN_LATENCY, group, local_ip, str(PORT)]
    return float(lab.exec(port, argv, timeout=timeout).stdout)


IGMP_FRAMES = """
import random, socket, struct, sys, time

def checksum(data):
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF

def igmp_frame(kind, mac, local, group):
    \"\"\"An IGMPv2 report (kind "join") or leave to/for `group` (4 bytes).\"\"\"
    leave = kind == "leave"
    dst_ip = socket.inet_aton("224.0.0.2") if leave else group
    igmp = struct.pack("!BBH4s", 0x17 if leave else 0x16, 0, 0, group)
    igmp = igmp[:2] + struct.pack("!H", checksum(igmp)) + igmp[4:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28, 0, 0, 1, 2, 0, socket.inet_aton(local), dst_ip)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    dst = b"\\x01\\x00\\x5e" + bytes([dst_ip[1] & 0x7F]) + dst_ip[2:]
    return dst + mac + b"\\x08\\x00" + ip + igmp
"""

SEND_IGMP = IGMP_FRAMES + """
import os
sockets, frames = {}, []
for line in sys.stdin.read().split("\\n"):
    if line:
        kind, iface, mac, local, group = line.split()
        if iface not in sockets:
            sockets[iface] = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
            sockets[iface].bind((iface, 0))
        frame = igmp_frame(kind, bytes.fromhex(mac), local, socket.inet_aton(group))
        frames.append((sockets[iface], frame))
if len(sys.argv) > 1:  # ready, then wait for the go
    open(f"{sys.argv[1]}.ready.{os.getpid()}", "w").close()
    while not os.path.exists(sys.argv[1]):
        time.sleep(0.0005)
for sock, frame in frames:
    sock.send(frame)
"""


def send_igmp(lab: Lab, target: str, reports: list[tuple[str, str, str, str, str]],
              go: Path | None = None) -> None:  # fmt: skip
    """Send raw IGMPv2 frames in `target`'s namespace (a host or a container), one per
    (kind "join" or "leave", interface, source MAC, source IP, group), in one process.
    With `go`, the process first creates `go`.ready.PID, then waits until `go` exists, so
    that several senders can be released at once."""
    lines = "".join(f"{kind} {iface} {mac.replace(':', '')} {ip} {group}\n"
                    for kind, iface, mac, ip, group in reports)  # fmt: skip
    argv = [sys.executable, "-c", SEND_IGMP, *([str(go)] if go else [])]
    lab.exec(target, argv, input=lines)


FLOOD = IGMP_FRAMES + """
mac, local = bytes.fromhex(sys.argv[1]), sys.argv[2]
seconds, rate = float(sys.argv[3]), int(sys.argv[4])
random.seed(sys.argv[5])
groups = [struct.pack("!I", 0xEF800000 | random.getrandbits(23)) for _ in range(50000)]
pool = [igmp_frame("join", mac, local, group) for group in groups]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
print("flooding", flush=True)
start = time.monotonic()
sent = 0
while (elapsed := time.monotonic() - start) < seconds:
    if sent > elapsed * rate:
        time.sleep(0.001)
        continue
    for frame in pool[sent % 50000 : sent % 50000 + 500]:  # 50,000 = 100 x 500
        s.send(frame)
    sent += 500
print("sent", sent, "in", time.monotonic() - start, flush=True)
"""


class Flood:
    """IGMPv2 reports for random groups in 239.128.0.0/9, sent from `port`'s container as
    raw frames (its own MAC and IP, so they pass port security) at up to `rate` a second
    for `seconds`: the abuse that snooping must survive."""

    def __init__(self, lab: Lab, port: str, mac: str, local_ip: str, seconds: float,
                 rate: int, log_dir: Path, seed: str = "weft"):  # fmt: skip
        self.log = log_dir / f"flood-{port}.log"
        argv = [sys.executable, "-c", FLOOD, mac.replace(":", ""), local_ip, str(seconds),
                str(rate), seed]  # fmt: skip
        self.process = lab.spawn(port, argv, self.log)

    def started(self) -> bool:
        return self.log.exists() and "flooding" in self.log.read_text()

    def wait(self, timeout: float) -> int:
        """Wait for the end of the flood; the number of reports sent."""
        self.process.wait(timeout=timeout)
        words = self.log.read_text().split()
        return int(words[words.index("sent") + 1])
