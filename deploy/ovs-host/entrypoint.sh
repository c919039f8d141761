#!/bin/sh
# One Weft host in a container: ovsdb-server and ovs-vswitchd with the userspace datapath,
# the VTEP address on br-phy, and OVSDB listening on the management address, which is all
# the controller's OVSDB manager needs to provision the host (docs/ovsdb.md).
#
# Environment (docker-compose.yml sets it, matching the addresses it gives the container):
#   HOST_NAME   the host's Weft name (also its external_ids:system-id)
#   MGMT_IP     OVSDB listens on tcp MGMT_IP:6640 (`ovs-vsctl set-manager ptcp:6640:MGMT_IP`)
#   TUNNEL_IP   the VTEP: the address the underlay network gave this container. It is moved
#               from its interface to br-phy's internal port, with that interface as br-phy's
#               only port: the userspace datapath routes tunnels only from an OVS bridge.
#
# Every start begins with an empty OVS database, like a freshly installed machine: the
# manager provisions br-int again. The container lives as long as both daemons do.
set -eu

SCHEMA=/usr/share/openvswitch/vswitch.ovsschema
RUNDIR=/var/run/openvswitch
DB=/etc/openvswitch/conf.db
LOGDIR=/var/log/openvswitch

die() {
    echo "ovs-host: $*" >&2
    exit 1
}

: "${HOST_NAME:?HOST_NAME is not set}" "${MGMT_IP:?MGMT_IP is not set}"
: "${TUNNEL_IP:?TUNNEL_IP is not set}"

# /proc/sys is read-only in a container: these come from the compose file's `sysctls`.
# Without arp_ignore the kernel answers ARP for the VTEP on the uplink with the uplink's MAC.
[ "$(cat /proc/sys/net/ipv4/conf/all/arp_ignore)" = 1 ] ||
    die "net.ipv4.conf.all.arp_ignore must be 1 (set it with sysctls in the compose file)"
[ -c /dev/net/tun ] || die "/dev/net/tun is missing (map it with devices in the compose file)"

# The underlay interface is the one holding TUNNEL_IP (Docker does not promise names).
read -r uplink prefix <<EOF || true
$(ip -o -4 addr show | awk -v ip="$TUNNEL_IP" '
    { split($4, cidr, "/"); if (cidr[1] == ip) { sub(/@.*/, "", $2); print $2, cidr[2] } }')
EOF
[ -n "$prefix" ] || die "no interface holds TUNNEL_IP $TUNNEL_IP"
# br-phy's MAC, derived from the VTEP address: unique, and never the uplink's own MAC, so
# the kernel never takes tunnel packets for itself.
vtep_mac=$(echo "$TUNNEL_IP" | awk -F. '{ printf "02:00:%02x:%02x:%02x:%02x", $1, $2, $3, $4 }')

start_daemon() {
    "$@" --pidfile --detach --no-chdir --log-file -vconsole:err -vsyslog:off
}

daemon_alive() {
    pid=$(cat "$RUNDIR/$1.pid" 2>/dev/null) || return 1
    state=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null) || return 1
    [ -n "$state" ] && [ "$state" != Z ]
}

stop() {  # from the trap below
    ovs-appctl --timeout=5 -t ovs-vswitchd exit --cleanup || true
    ovs-appctl --timeout=5 -t ovsdb-server exit || true
}

rm -rf "$RUNDIR" "$DB"
mkdir -p "$RUNDIR" "$LOGDIR" "$(dirname "$DB")"
ovsdb-tool create "$DB" "$SCHEMA"
start_daemon ovsdb-server "$DB" --remote="punix:$RUNDIR/db.sock" \
    --remote=db:Open_vSwitch,Open_vSwitch,manager_options
ovs-vsctl --timeout=10 --no-wait init \
    -- set Open_vSwitch . "external_ids:system-id=$HOST_NAME" \
    -- set-manager "ptcp:6640:$MGMT_IP" \
    -- add-br br-phy \
    -- set Bridge br-phy datapath_type=netdev fail_mode=standalone "other_config:hwaddr=$vtep_mac" \
    -- add-port br-phy "$uplink"
ip addr del "$TUNNEL_IP/$prefix" dev "$uplink"
start_daemon ovs-vswitchd "unix:$RUNDIR/db.sock"
ip addr replace "$TUNNEL_IP/$prefix" dev br-phy
ip link set br-phy up
echo "ovs-host: $HOST_NAME up: OVSDB on tcp:$MGMT_IP:6640, VTEP $TUNNEL_IP on br-phy (uplink $uplink)"

# The daemons' logs become the container's output.
tail -n +1 -F "$LOGDIR/ovsdb-server.log" "$LOGDIR/ovs-vswitchd.log" &
log_pid=$!
trap 'stop; kill "$log_pid"; exit 0' TERM INT
while daemon_alive ovsdb-server && daemon_alive ovs-vswitchd; do
    sleep 1 &
    wait $!
done
kill "$log_pid"
die "an OVS daemon exited; see its log above"
