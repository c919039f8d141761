"""IGMP parsing and the querier's frame, checked against os-ken's packet library as oracle."""

from __future__ import annotations

import ipaddress

from os_ken.lib.packet import ethernet, ipv4, packet
from os_ken.lib.packet import igmp as osken_igmp

from controller import igmp

MAC = "02:00:00:00:00:01"
G1, G2 = "239.1.1.1", "239.2.2.2"


def frame(message) -> bytes:
    pkt = packet.Packet()
    pkt.add_protocol(ethernet.ethernet(dst="01:00:5e:00:00:16", src=MAC, ethertype=0x0800))
    pkt.add_protocol(ipv4.ipv4(src="10.0.0.1", dst="224.0.0.22", proto=2, ttl=1))
    pkt.add_protocol(message)
    pkt.serialize()
    return bytes(pkt.data)


def kinds(events):
    return [(e.kind, str(e.group) if e.group else None) for e in events]


def test_v2_report_and_leave():
    assert kinds(igmp.parse(frame(osken_igmp.igmp(msgtype=igmp.REPORT_V2, address=G1)))) == [
        ("join", G1)
    ]
    assert kinds(igmp.parse(frame(osken_igmp.igmp(msgtype=igmp.LEAVE_V2, address=G1)))) == [
        ("leave", G1)
    ]


def test_v3_records_join_and_leave():
    records = [
        osken_igmp.igmpv3_report_group(type_=igmp.CHANGE_TO_EXCLUDE, address=G1),
        osken_igmp.igmpv3_report_group(type_=igmp.CHANGE_TO_INCLUDE, address=G2),
        osken_igmp.igmpv3_report_group(
            type_=igmp.MODE_IS_INCLUDE, address="239.3.3.3", num=1, srcs=["10.9.9.9"]
        ),
        osken_igmp.igmpv3_report_group(type_=igmp.MODE_IS_EXCLUDE, address="224.0.0.251"),
    ]
    report = osken_igmp.igmpv3_report(record_num=len(records), records=records)
    assert kinds(igmp.parse(frame(report))) == [
        ("join", G1),
        ("leave", G2),
        ("join", "239.3.3.3"),
        # 224.0.0.251 (mDNS) is link-local: always flooded, never snooped
    ]


def test_queries_and_non_igmp():
    assert kinds(igmp.parse(frame(osken_igmp.igmp(msgtype=igmp.QUERY)))) == [("query", None)]
    assert igmp.parse(b"\x00" * 60) == []
    assert igmp.parse(b"") == []


def test_source_mac_is_reported():
    [event] = igmp.parse(frame(osken_igmp.igmp(msgtype=igmp.REPORT_V2, address=G1)))
    assert event.source_mac == bytes.fromhex(MAC.replace(":", ""))


def test_general_query_is_a_valid_igmp_v2_query():
    data = igmp.general_query(bytes.fromhex("025746000001"), ipaddress.IPv4Address("0.0.0.0"), 10)
    pkt = packet.Packet(data)
    ip = pkt.get_protocol(ipv4.ipv4)
    query = pkt.get_protocol(osken_igmp.igmp)
    assert (ip.dst, ip.ttl, ip.proto) == ("224.0.0.1", 1, 2)
    assert (query.msgtype, query.maxresp, query.address) == (igmp.QUERY, 100, "0.0.0.0")
    assert igmp.checksum(data[14:38]) == 0  # IP header checksum verifies
    assert igmp.checksum(data[38:]) == 0  # IGMP checksum verifies
    assert kinds(igmp.parse(data)) == [("query", None)]
