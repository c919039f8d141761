"""Identifiers derived from names, so that every component computes the same one on its own.

A host's OpenFlow datapath id is set on its br-int by the OVSDB manager and looked up by the
controller when the switch connects; deriving it from the host name means neither has to ask
the other, and re-adding a host under the same name gives it the same datapath id.
"""

from __future__ import annotations

import hashlib

# 'WF' in the top 16 bits marks Weft's datapath ids in `ovs-ofctl show` and logs; it also
# keeps them below 2**63, which signed 64-bit consumers (PostgreSQL bigint, Java, JSON
# parsers that read int64) handle without surprises.
DATAPATH_ID_PREFIX = 0x5746
HASH_BITS = 48


def datapath_id_for(host_name: str) -> int:
    """The datapath id of host `host_name`: 0x5746 then 48 bits of blake2b of the name."""
    digest = hashlib.blake2b(host_name.encode(), digest_size=HASH_BITS // 8).digest()
    return DATAPATH_ID_PREFIX << HASH_BITS | int.from_bytes(digest, "big")


def datapath_id_text(datapath_id: int) -> str:
    """16 hex digits, as OVS writes `other_config:datapath-id` (and JSON cannot round a string)."""
    return f"{datapath_id:016x}"
