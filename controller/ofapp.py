"""The os-ken (Ryu-model) OpenFlow application: connections and replies in, nothing decided here.

It turns os-ken events into calls on the Fleet (a switch came or went), on the switch's
Channel (a reply or error arrived for a request) and on packet-in handlers (IGMP snooping).
All decisions live elsewhere, so this file stays a thin adapter over os-ken's event model.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from os_ken.base import app_manager
from os_ken.controller import ofp_event
from os_ken.controller.handler import DEAD_DISPATCHER, MAIN_DISPATCHER, set_ev_cls
from os_ken.ofproto import ofproto_v1_4

from controller.channel import Channel, SwitchError
from controller.fleet import Fleet

log = logging.getLogger(__name__)

PacketInHandler = Callable[[Channel, object], None]


class WeftOpenFlowApp(app_manager.OSKenApp):
    OFP_VERSIONS = [ofproto_v1_4.OFP_VERSION]

    def __init__(self, *args, fleet: Fleet, packet_in: list[PacketInHandler], **kwargs):
        super().__init__(*args, **kwargs)
        self.name = "weft"
        self._fleet = fleet
        self._packet_in = packet_in
        # os-ken Datapath -> our Channel; touched only on this app's event thread.
        self._channels: dict[object, Channel] = {}

    @set_ev_cls(ofp_event.EventOFPStateChange, [MAIN_DISPATCHER, DEAD_DISPATCHER])
    def _state_change(self, ev):
        datapath = ev.datapath
        if ev.state == MAIN_DISPATCHER:
            channel = Channel(datapath)
            self._channels[datapath] = channel
            self._fleet.connected(channel, f"{datapath.address[0]}:{datapath.address[1]}")
        elif ev.state == DEAD_DISPATCHER:
            channel = self._channels.pop(datapath, None)
            if channel is not None:
                self._fleet.disconnected(channel)

    def _reply(self, ev, more: bool = False) -> None:
        channel = self._channels.get(ev.msg.datapath)
        if channel is not None:
            channel.deliver(ev.msg.xid, ev.msg, more)

    @set_ev_cls(ofp_event.EventOFPFlowStatsReply, MAIN_DISPATCHER)
    def _flow_stats(self, ev):
        self._reply(ev, bool(ev.msg.flags & ofproto_v1_4.OFPMPF_REPLY_MORE))

    @set_ev_cls(ofp_event.EventOFPGroupDescStatsReply, MAIN_DISPATCHER)
    def _group_desc(self, ev):
        self._reply(ev, bool(ev.msg.flags & ofproto_v1_4.OFPMPF_REPLY_MORE))

    @set_ev_cls(ofp_event.EventOFPBarrierReply, MAIN_DISPATCHER)
    def _barrier(self, ev):
        self._reply(ev)

    @set_ev_cls(ofp_event.EventOFPBundleCtrlMsg, MAIN_DISPATCHER)
    def _bundle_control(self, ev):
        self._reply(ev)

    @set_ev_cls(ofp_event.EventOFPErrorMsg, MAIN_DISPATCHER)
    def _error(self, ev):
        msg = ev.msg
        channel = self._channels.get(msg.datapath)
        error = SwitchError(msg.xid, msg.type, msg.code, bytes(msg.data or b""))
        if channel is None or not channel.fail(msg.xid, error):
            log.error("unsolicited error from switch %#x: %s", msg.datapath.id or 0, error)

    @set_ev_cls(ofp_event.EventOFPPacketIn, MAIN_DISPATCHER)
    def _packet_in_event(self, ev):
        channel = self._channels.get(ev.msg.datapath)
        if channel is None:
            return
        for handler in self._packet_in:
            try:
                handler(channel, ev.msg)
            except Exception:
                log.exception("packet-in handler failed")
