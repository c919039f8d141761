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
