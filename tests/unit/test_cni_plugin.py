"""weft-cni without a runtime: what it answers, how it names things, what it refuses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cni import link, ovs
from cni.config import settings_from
from cni.errors import CniError
from controller.pipeline import COOKIE_MARK, Table

PLUGIN = str(Path(sys.executable).with_name("weft-cni"))


def plugin(command: str, conf: object, **env: str) -> tuple[int, dict]:
    done = subprocess.run([PLUGIN], input=json.dumps(conf), capture_output=True, text=True,
                          env={"CNI_COMMAND": command, "PATH": "/usr/bin:/bin", **env})
    return done.returncode, json.loads(done.stdout)


def test_the_plugin_agrees_with_the_controller_on_tables_and_cookies():
    assert ovs.PORT_SECURITY_TABLE == Table.PORT_SECURITY
    assert int(ovs.WEFT_COOKIE_MARK, 16) == COOKIE_MARK


def test_version_names_what_podman_speaks():
    code, answer = plugin("VERSION", {"cniVersion": "1.0.0"})
    assert code == 0 and "1.0.0" in answer["supportedVersions"]


@pytest.mark.parametrize(("command", "conf", "code", "words"), [
    ("ADD", {"cniVersion": "1.1.0"}, 1, "cniVersion 1.1.0 is not supported"),
    ("STATUS", {"cniVersion": "1.0.0"}, 4, "CNI_COMMAND 'STATUS'"),
    ("ADD", {"cniVersion": "1.0.0", "name": "blue"}, 7, '"api" is missing'),
    ("ADD", {"cniVersion": "1.0.0", "name": "blue", "api": "http://198.51.100.1:1",
             "token_file": "/nonexistent"}, 4, "CNI_CONTAINERID"),
    ("ADD", [], 6, "not a JSON object"),
])
def test_errors_are_cni_json_with_the_spec_codes(command, conf, code, words):
    exit_code, answer = plugin(command, conf)
    assert exit_code == 1 and answer["code"] == code and words in answer["msg"]


def test_a_missing_token_file_is_a_configuration_error():
    settings = settings_from({"name": "blue", "api": "http://x", "token_file": "/nonexistent"})
    with pytest.raises(CniError, match="cannot read the host token file") as raised:
        settings.token()
    assert raised.value.code == 7


def test_names_are_stable_per_container_and_interface_and_fit_the_kernel():
    port = link.port_name("4d378d7f491ec14d" + "0" * 48, "eth0")
    assert port == "cni-4d378d7f491ec14d-eth0"
    assert link.host_veth(port) == link.host_veth(port) != link.host_veth(port[:-1] + "1")
    assert len(link.host_veth(port)) <= 15
