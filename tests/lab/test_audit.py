"""Audit on real switches: drift made by hand with ovs-ofctl is reported by `weft audit`,
repaired by the controller within one audit interval and counted; a right switch is left
alone.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from lab.deployment import WEFT, Deployment, wait_for
from northbound.groups import create_group, join_group
from northbound.session import writing

pytestmark = [pytest.mark.lab, pytest.mark.postgres]

INTERVAL = 6.0  # long enough for `weft audit` to run between two audits on a loaded machine
PORT = 9464
ROGUE = "table=30,priority=200,dl_dst={mac},actions=drop"
FOREIGN = "table=100,priority=5,actions=drop"


@pytest.fixture
def d(make_lab, migrated_postgres_url, tmp_path):
    lab = make_lab(2)
    deployment = Deployment(lab, migrated_postgres_url, tmp_path, (
        "--metrics", f"{lab.controller_ip}:{PORT}", "--audit-interval", str(INTERVAL)))
    deployment.register_hosts()
    deployment.start_controller()
    deployment.wait_programmed()
    deployment.network("blue", "10.40.0.0/24")
    deployment.port("a", "blue", "host1")
    deployment.port("b", "blue", "host2")
    with writing(migrated_postgres_url) as session:
        create_group(session, "blue", "239.1.1.1")
        join_group(session, "239.1.1.1", "a")
        join_group(session, "239.1.1.1", "b")
    deployment.wait_bound("a", "b")
    assert deployment.ping("a", "b")
    yield deployment
    deployment.close()


def metric(d: Deployment, name: str, default: float = 0.0) -> float:
    return d.metrics(PORT).get(name, default)


def weft_flows(d: Deployment, host: str) -> dict[str, str]:
    """{cookie: the rest of the flow} of Weft's flows, without counters or durations."""
    return dict(line.strip().split(", ", 1) for line in d.switch_flows(host))


def durations(d: Deployment, host: str) -> list[float]:
    out = d.lab.ofctl(host, "dump-flows", "cookie=0x5700000000000000/0xff00000000000000")
    return [float(x) for x in re.findall(r"duration=([0-9.]+)s", out)]


def groups(d: Deployment, host: str) -> dict[str, str]:
    out = d.lab.ofctl(host, "dump-groups")
    return dict(re.findall(r"group_id=(\d+),type=all,(.*)", out))


def audit(d: Deployment, host: str) -> tuple[int, list[dict]]:
    done = d.lab.exec("ctl", [
        WEFT, "audit", "--host", host, "--json", "--database-url", d.database_url,
        "--controller", f"http://{d.lab.controller_ip}:{PORT}",
    ], check=False)
    assert done.stderr == "", done.stderr
    [result] = json.loads(done.stdout)
    return done.returncode, result["differences"]


def next_audit(d: Deployment, host: str) -> None:
    """Return right after the controller's next periodic audit of `host`."""
    name = f'weft_audits_total{{host="{host}"}}'
    seen = metric(d, name)
    wait_for(lambda: metric(d, name) > seen, timeout=INTERVAL + 10, poll=0.1,
             what=f"an audit of {host}")


def test_a_switch_that_is_right_gets_no_flow_mod_from_audits(d):
    next_audit(d, "host2")
    mods = metric(d, 'weft_flow_mods_total{host="host2"}')
    before = weft_flows(d, "host2")
    started = time.monotonic()
    next_audit(d, "host2")
    next_audit(d, "host2")
    quiet = time.monotonic() - started
    assert metric(d, 'weft_flow_mods_total{host="host2"}') == mods
    assert weft_flows(d, "host2") == before
    # No flow was deleted and added again: each has been there all along.
    assert min(durations(d, "host2")) >= quiet - 0.5
    assert metric(d, 'weft_flow_drift_total{host="host2",kind="missing"}') == 0
    assert audit(d, "host2") == (0, [])


def test_drift_is_reported_then_repaired_within_one_interval_and_counted(d):
    a, b = d.ports["a"], d.ports["b"]
    right_flows, right_groups = weft_flows(d, "host2"), groups(d, "host2")
    delivery = next(c for c, f in right_flows.items() if "table=30" in f and b.mac in f
                    and "output" in f and "set_field" not in f)
    to_a = next(c for c, f in right_flows.items() if "table=30" in f and a.mac in f)
    flood_id = next(i for i, buckets in right_groups.items() if "set_field" in buckets)

    next_audit(d, "host2")
    made = time.monotonic()
    d.lab.ofctl("host2", "del-flows", f"{delivery}/-1")
    d.lab.ofctl("host2", "mod-flows", f"{to_a}/-1,table=30,actions=drop")  # keeps the cookie
    d.lab.ofctl("host2", "add-flow", ROGUE.format(mac=b.mac))
    d.lab.ofctl("host2", "add-flow", FOREIGN)
    d.lab.ofctl("host2", "mod-group", f"group_id={flood_id},type=all,bucket=output:1")

    code, differences = audit(d, "host2")
    assert time.monotonic() - made < INTERVAL, "the audit must run before the repair"
    assert code == 3
    found = {(x["kind"], x["what"]): x for x in differences}
    assert len(found) == len(differences)
    assert sorted(found) == [("changed", "flow"), ("changed", "group"), ("foreign", "flow"),
                             ("missing", "flow"), ("rogue", "flow")]
    assert found["missing", "flow"]["owner"] == "port b (network blue)"
    assert found["missing", "flow"]["table"] == "L2_LOOKUP"
    assert found["changed", "flow"]["owner"] == "port a (network blue)"
    assert found["changed", "flow"]["installed"] == "drop"
    assert found["rogue", "flow"]["owner"] == "not Weft's (no Weft cookie)"
    assert found["rogue", "flow"]["priority"] == 200
    assert found["foreign", "flow"]["table"] == "table 100"
    assert found["changed", "group"]["installed"] == "[output:1]"

    wait_for(lambda: weft_flows(d, "host2") == right_flows and groups(d, "host2") == right_groups,
             timeout=INTERVAL + 10, poll=0.1, what="the controller to repair host2")
    assert time.monotonic() - made < INTERVAL + 2
    remaining = d.lab.ofctl("host2", "dump-flows", "--no-stats")
    assert "priority=200" not in remaining  # the rogue flow is gone
    assert "table=100" in remaining  # the foreign flow is left alone
    assert metric(d, 'weft_flow_drift_total{host="host2",kind="missing"}') == 3
    assert metric(d, 'weft_flow_drift_total{host="host2",kind="extra"}') == 1
    assert "switch host2 drifted" in d.controller_log.read_text()
    assert d.ping("a", "b")
    code, differences = audit(d, "host2")
    assert [x["kind"] for x in differences] == ["foreign"]
