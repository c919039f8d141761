"""The OpenFlow controller: desired state in, every host's flows and groups out.

Its modules fall in three kinds; a reader can tell from this table alone which code may
touch the outside world.

| kind | modules | what |
| --- | --- | --- |
| pure: values and functions, no I/O | pipeline, flows, compiler, simulator, codec, igmp, config | tables and cookies; flows and groups as values; the compiler (Snapshot -> SwitchConfig); a flow-table simulator; OpenFlow bytes; IGMP frames; settings |
| I/O: one outside thing each | changes (database notifications), state (database reads), channel (one OpenFlow connection), switch (one switch's diff and bundle), fleet (which connection is which host), ofapp (os-ken's events), oskenfix (os-ken patches), multicast (IGMP packet-ins to membership rows), status (heartbeat rows), metrics (/metrics), logs | each owns its connection or thread and says so in its class docstring |
| wiring | reconciler (changes -> state -> compiler -> fleet), runner (starts os-ken), service (`weft controller`: all of the above plus the OVSDB manager) | no logic of their own beyond order and lifetimes |

The pure modules are tested without switches or a database (tests/unit); the others on real
OVS hosts and PostgreSQL (tests/lab, tests/db). docs/architecture.md follows the data
through them.
"""
