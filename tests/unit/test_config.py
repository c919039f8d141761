"""Controller settings: defaults < file < environment < command line, errors naming the setting."""

from __future__ import annotations

import pytest

from controller.config import ConfigError, ControllerConfig


def test_layers_override_in_order(tmp_path):
    path = tmp_path / "weft.toml"
    path.write_text(
        'openflow_listen = "10.0.0.5:6653"\nresync_interval = 10\nlog_format = "json"\n'
    )
    config = ControllerConfig.load(
        path,
        environ={"WEFT_RESYNC_INTERVAL": "20", "WEFT_MANAGE_OVSDB": "false"},
        overrides={"log_format": "text", "metrics_listen": None},
    )
    assert config.openflow_listen == "10.0.0.5:6653"  # file
    assert config.resync_interval == 20.0  # environment beats file
    assert config.manage_ovsdb is False
    assert config.log_format == "text"  # command line beats both
    assert config.metrics_listen is None  # an option not given changes nothing


def test_the_controller_target_defaults_to_a_usable_listen_address():
    assert ControllerConfig(openflow_listen="198.18.0.254:6653").target == "tcp:198.18.0.254:6653"
    with pytest.raises(ConfigError, match="controller_target"):
        ControllerConfig(openflow_listen="0.0.0.0:6653")
    assert ControllerConfig(openflow_listen="0.0.0.0:6653", manage_ovsdb=False).target is None
    assert ControllerConfig(openflow_listen="[fd00::5]:6653").target == "tcp:[fd00::5]:6653"


def test_listen_addresses_are_parsed_once_for_every_user():
    config = ControllerConfig(
        openflow_listen=":6653", metrics_listen="[::]:9464", manage_ovsdb=False
    )
    assert config.openflow_address == ("0.0.0.0", 6653)
    assert config.metrics_address == ("::", 9464)
    assert ControllerConfig(manage_ovsdb=False).metrics_address is None


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"WEFT_RESYNC_INTERVAL": "soon"}, "resync_interval"),
        ({"WEFT_MANAGE_OVSDB": "maybe"}, "manage_ovsdb"),
        ({"WEFT_OPENFLOW_LISTEN": "nowhere"}, "openflow_listen"),
        ({"WEFT_METRICS_LISTEN": "9464", "WEFT_MANAGE_OVSDB": "no"}, "metrics_listen"),
        ({"WEFT_LOG_FORMAT": "xml", "WEFT_CONTROLLER_TARGET": "tcp:1.2.3.4:6653"}, "log_format"),
    ],
)
def test_bad_values_name_the_setting(environ, named):
    with pytest.raises(ConfigError, match=named):
        ControllerConfig.load(environ=environ)


def test_unknown_settings_in_a_file_are_refused(tmp_path):
    path = tmp_path / "weft.toml"
    path.write_text('openflow_lisen = "1.2.3.4:6653"\n')
    with pytest.raises(ConfigError, match="openflow_lisen"):
        ControllerConfig.load(path)


def test_every_setting_is_documented_in_the_operations_guide():
    from dataclasses import fields
    from pathlib import Path

    guide = (Path(__file__).parents[2] / "docs" / "operations.md").read_text()
    for field in fields(ControllerConfig):
        row = f"| `{field.name}` | `WEFT_{field.name.upper()}` |"
        assert row in guide, f"docs/operations.md has no row for {field.name}"
