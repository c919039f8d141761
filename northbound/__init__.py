"""The northbound layer: every operation on Weft's desired state, once.

The `weft` CLI (admin/), the HTTP API (api/), the lab, the demo and the benchmarks all call
these functions; none of them writes rows of its own. Each operation takes a SQLAlchemy
session from `session.writing()` or `session.reading()` (one transaction: all or nothing),
validates its input, and raises an `errors.OperationError` (InvalidInput, NotFound, Conflict,
Forbidden) naming the field at fault by a neutral name ("ip", not `--ip`) when it refuses.

| module     | operations                                                        |
| ---        | ---                                                               |
| hosts      | add, delete, list, show hosts (machines running OVS)              |
| networks   | create, delete, list, show networks and their subnets             |
| ports      | create (one, a batch, or idempotently), delete, list, show ports  |
| groups     | multicast groups and their static members                         |
| tokens     | API tokens: create, revoke, list, authenticate; what a caller may |
| status     | the health report of controllers, hosts, switches and tunnels     |
| schema     | migrate the database (Alembic)                                    |
| inputs, lookup, records, errors, session | what the operations share           |

Layering (docs/architecture.md): northbound imports models (and may import controller and
ovsdb); admin/ and api/ import northbound; nothing here imports a front end.
"""
