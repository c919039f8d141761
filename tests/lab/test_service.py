"""`weft controller` as a service: metrics fetched from inside the lab, JSON logs, SIGTERM."""

from __future__ import annotations

import json
import signal

import pytest

from lab.deployment import Deployment, wait_for

pytestmark = [pytest.mark.lab, pytest.mark.postgres]


@pytest.fixture
def deployment(make_lab, migrated_postgres_url, tmp_path):
    lab = make_lab(2)
    d = Deployment(
        lab,
        migrated_postgres_url,
        tmp_path,
        controller_args=("--metrics", f"{lab.controller_ip}:9464", "--log-format", "json"),
    )
    d.register_hosts()
    d.start_controller()
    d.wait_programmed()
    yield d
    d.close()


def test_metrics_show_hosts_connected_and_their_flows(deployment):
    d = deployment
    d.network("blue", "10.20.0.0/24")
    d.port("a", "blue", "host1")
    d.port("b", "blue", "host2")
    d.wait_bound("a", "b")
    assert d.ping("a", "b")

    seen = wait_for(
        lambda: (
            (m := d.metrics(9464)) and m.get('weft_flows_installed{host="host2"}', 0) > 20 and m
        ),
        what="metrics to show host2's flows",
    )
    assert seen["weft_hosts"] == 2
    assert seen["weft_hosts_connected"] == 2
    assert seen['weft_switch_connected{host="host1"}'] == 1
    assert seen['weft_flows_installed{host="host1"}'] == len(d.switch_flows("host1"))
    assert seen["weft_reconcile_seconds_count"] >= 1
    assert seen["weft_ovsdb_writes_total"] >= 2  # at least one provisioning per host
    assert seen['weft_flow_mods_total{host="host1"}'] >= seen['weft_flows_installed{host="host1"}']


def test_logs_are_json_lines_and_sigterm_stops_cleanly(deployment):
    d = deployment
    assert d.stop_controller(signal.SIGTERM) == 0
    records = [json.loads(line) for line in d.controller_log.read_text().splitlines() if line]
    assert {"time", "level", "logger", "message"} <= records[0].keys()
    assert any("controller up" in r["message"] for r in records)
    assert records[-1]["message"] == "stopping"
    # switches keep their flows without a controller
    assert d.switch_flows("host1")
