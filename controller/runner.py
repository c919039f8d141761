"""Starting os-ken inside our own process (os-ken 4.x ships no `osken-manager`).

We use os-ken's default native hub (real threads): database calls and ovsdbapp need no
monkey patching and cannot stall the whole process, which eventlet would. Its one defect
that matters, missed disconnects, and its slow parse of flow statistics are dealt with by
controller/oskenfix.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from os_ken import cfg
from os_ken.base.app_manager import AppManager

from controller import oskenfix
from controller.fleet import Fleet
from controller.ofapp import PacketInHandler, WeftOpenFlowApp


@dataclass(frozen=True)
class OpenFlowSettings:
    listen_host: str = "0.0.0.0"
    listen_port: int = 6653
    # Liveness of a silent switch: os-ken sends an echo request every interval and drops the
    # connection after this many unanswered ones. A switch that dies is noticed at once (its
    # socket closes); this catches one that hangs.
    echo_interval: float = 2.0
    max_unanswered_echoes: int = 3


def start_openflow(
    settings: OpenFlowSettings, fleet: Fleet, packet_in: list[PacketInHandler]
) -> None:
    """Start the OpenFlow listener and the Weft app, on os-ken's own threads (which cannot
    be joined: the service exits without them, see service.py)."""
    oskenfix.install()
    conf = cfg.CONF
    if not conf._args:  # noqa: SLF001 - oslo.config parses once per process
        conf(args=[], project="os_ken")
    conf.set_override("ofp_listen_host", settings.listen_host)
    conf.set_override("ofp_tcp_listen_port", settings.listen_port)
    conf.set_override("echo_request_interval", settings.echo_interval)
    conf.set_override("maximum_unreplied_echo_requests", settings.max_unanswered_echoes)

    manager = AppManager.get_instance()
    manager.load_apps(["os_ken.controller.ofp_handler"])
    contexts = manager.create_contexts()
    manager.instantiate(WeftOpenFlowApp, fleet=fleet, packet_in=packet_in)
    manager.instantiate_apps(**contexts)
