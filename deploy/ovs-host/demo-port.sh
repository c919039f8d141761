#!/bin/sh
# Plug a demo workload into this host: an OVS internal port on br-int whose
# external_ids:iface-id names a Weft port, with that port's MAC and address, in the host
# container's own network namespace. The controller binds the port and the address answers
# from the other hosts.
#
#   demo-port PORT MAC IP/PREFIX      e.g. demo-port web-1 02:00:00:00:01:01 198.51.100.11/24
#
# PORT is the Weft port's name and also the interface's (at most 15 characters). MAC and IP
# must be the port's (`weft port show PORT`): anything else is dropped by port security.
# One demo port per host container: two in one namespace would talk through its kernel,
# not through OVS.
set -eu

if [ "$#" -ne 3 ]; then
    echo "usage: $0 PORT MAC IP/PREFIX" >&2
    exit 2
fi
port=$1 mac=$2 address=$3
if [ "${#port}" -gt 15 ]; then
    echo "demo-port: $port: an interface name has at most 15 characters" >&2
    exit 1
fi

# br-int appears once the controller's OVSDB manager has provisioned this host.
ovs-vsctl --timeout=60 wait-until Bridge br-int
ovs-vsctl --timeout=10 -- --may-exist add-port br-int "$port" \
    -- set Interface "$port" type=internal "external_ids:iface-id=$port"
# 1450: VXLAN over IPv4 adds 50 bytes to every frame on a 1500-byte underlay.
ip link set "$port" address "$mac" mtu 1450 up
ip addr replace "$address" dev "$port"
