#!/bin/sh
# Register OVS hosts with Weft, once: `weft host add` for each host not registered yet.
#
#   weft-register-hosts NAME MGMT_IP TUNNEL_IP [NAME MGMT_IP TUNNEL_IP ...]
#
# The host's OVSDB is reached at tcp:MGMT_IP:6640 (where `ovs-vsctl set-manager
# ptcp:6640:MGMT_IP` makes it listen); TUNNEL_IP is its VTEP. A host already registered is
# left as it is, so running this again (every `docker compose up`) changes nothing. The
# database comes from WEFT_DATABASE_URL, as for every weft command.
set -eu

if [ "$#" -eq 0 ] || [ $(($# % 3)) -ne 0 ]; then
    echo "usage: $0 NAME MGMT_IP TUNNEL_IP [NAME MGMT_IP TUNNEL_IP ...]" >&2
    exit 2
fi

while [ "$#" -gt 0 ]; do
    name=$1 mgmt_ip=$2 tunnel_ip=$3
    shift 3
    # `weft host show` exits 1 for an unknown host; anything else (4: database unusable)
    # is a failure to report, not a reason to add.
    status=0
    error=$(weft host show "$name" 2>&1 >/dev/null) || status=$?
    case $status in
        0) echo "$name: already registered" ;;
        1) weft host add "$name" --ovsdb "tcp:$mgmt_ip:6640" --tunnel-ip "$tunnel_ip" ;;
        *) echo "$error" >&2; exit "$status" ;;
    esac
done
