"""The OpenFlow controller: desired state in, every host's flows and groups out.

Its modules fall in three kinds, so a reader can tell which code may touch the outside world:

Pure (values and functions, no I/O; tested without switches or a database in tests/unit):
- pipeline: tables, registers and cookies, named once;
- flows: flows and groups as immutable values;
- compiler: a Snapshot in, a host's SwitchConfig out;
- simulator: what flows do to a packet, without a switch;
- codec: flows and groups as OpenFlow bytes;
- igmp: IGMP frames read and written;
- config: settings (defaults < TOML < WEFT_* environment < options).
- reportqueue, memberships, joinclock: snooping's bounded fair queue of IGMP reports, its
  mirror of the snooped memberships (caps, duplicates) and its join-to-installed clock.

I/O (each owns one outside thing, and its class docstring says which):
- changes: database notifications; state: database reads into a Snapshot;
- channel: one OpenFlow connection; switch: one switch's diff and bundle;
- fleet: which connection belongs to which host; ofapp: os-ken's events;
- oskenfix: os-ken adjustments; multicast: IGMP packet-ins to membership rows, which
  snooped writes a batch at a time;
- status: heartbeat rows; metrics: /metrics; logs: log records.

Wiring (order and lifetimes, no logic of their own):
- reconciler: changes -> state -> compiler -> fleet, one pass at a time;
- runner: starts os-ken in this process;
- service: `weft controller`, all of the above plus the OVSDB manager.

docs/architecture.md follows the data through them.
"""
