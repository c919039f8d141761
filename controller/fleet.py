"""The switches this controller knows: which connection belongs to which host.

Switches connect with a datapath id; hosts have a datapath id in the database. The fleet
joins the two. A registered host's switch gets a SwitchSync that receives every configuration
the reconciler compiles for that host, connected or not (it applies it on connect). A switch
whose datapath id matches no host is never programmed; it is reported as unknown.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from controller.audit import Difference
from controller.channel import Channel
from controller.codec import Codec
from controller.compiler import SwitchConfig
from controller.switch import ApplyResult, SwitchSync
from models.snapshot import HostView

log = logging.getLogger(__name__)


class Fleet:
    def __init__(
        self,
        codec: Codec,
        host_for_datapath: Callable[[int], HostView | None],
        request_hosts: Callable[[list[int]], None],
        on_applied: Callable[[SwitchSync, ApplyResult], None] | None = None,
        on_connection: Callable[[int, str, bool], None] | None = None,
        audit_interval: float = 0.0,
        on_drift: Callable[[SwitchSync, Difference], None] | None = None,
    ) -> None:
        self._codec = codec
        self._host_for_datapath = host_for_datapath
        self._request_hosts = request_hosts
        self._on_applied = on_applied
        self._on_connection = on_connection
        self._audit_interval = audit_interval
        self._on_drift = on_drift
        self._lock = threading.Lock()
        self.syncs: dict[int, SwitchSync] = {}
        self.channels: dict[int, Channel] = {}

    def _sync_for(self, host: HostView) -> SwitchSync:
        sync = self.syncs.get(host.datapath_id)
        if sync is None:
            sync = SwitchSync(
                host.datapath_id, host.name, self._codec, self._on_applied,
                self._audit_interval, self._on_drift,
            )
            self.syncs[host.datapath_id] = sync
        return sync

    # ------------------------------------------------------------ from the reconciler

    def deliver(self, host: HostView, config: SwitchConfig) -> None:
        with self._lock:
            sync = self._sync_for(host)
            channel = self.channels.get(host.datapath_id)
            adopt = channel is not None and not sync.connected
        sync.set_desired(config)
        if adopt and channel is not None:
            # The switch connected before its host was registered: program it now.
            log.info("switch %#x is now host %s", host.datapath_id, host.name)
            sync.attach(channel)

    def retain(self, hosts) -> None:
        """Stop programming switches of hosts that were deleted (reconciler listener).

        Their flows stay as they were (like their br-int, see ovsdb/manager.py): the other
        hosts have dropped their tunnels, so nothing crosses to or from them any more. If the
        switch stays connected, it is reported as an unknown datapath from then on.
        """
        wanted = {host.datapath_id for host in hosts.values()}
        with self._lock:
            gone = [self.syncs.pop(dpid) for dpid in list(self.syncs) if dpid not in wanted]
        for sync in gone:
            log.info("host %s deleted: its switch is no longer programmed", sync.name)
            sync.forget()

    # ------------------------------------------------------------ from the OpenFlow app

    def connected(self, channel: Channel, address: str) -> None:
        dpid = channel.datapath_id
        host = self._host_for_datapath(dpid)
        with self._lock:
            old = self.channels.get(dpid)
            self.channels[dpid] = channel
            sync = self._sync_for(host) if host else None
        if old is not None and old is not channel:
            old.close()
        if self._on_connection:
            self._on_connection(dpid, address, True)
        if sync is None or host is None:
            log.warning(
                "switch %#x at %s is not a registered host: not programming it", dpid, address
            )
            return
        log.info("switch %s (%#x) connected from %s", host.name, dpid, address)
        sync.attach(channel)
        self._request_hosts([host.id])

    def disconnected(self, channel: Channel) -> None:
        dpid = channel.datapath_id
        with self._lock:
            if self.channels.get(dpid) is not channel:
                channel.close()
                return  # an older connection of a switch that has reconnected since
            del self.channels[dpid]
            sync = self.syncs.get(dpid)
        if sync is not None:
            sync.detach(channel)
        else:
            channel.close()
        host = self._host_for_datapath(dpid)
        log.info("switch %s (%#x) disconnected", host.name if host else "unknown", dpid)
        if self._on_connection:
            self._on_connection(dpid, "", False)

    def channel(self, datapath_id: int) -> Channel | None:
        return self.channels.get(datapath_id)
