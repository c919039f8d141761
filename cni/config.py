"""The plugin's settings: one entry of a network configuration list (docs/cni.md).

    {"type": "weft-cni", "api": "http://198.18.0.1:8080", "token_file": "/etc/weft/host.token",
     "network": "blue", "ovs_rundir": "/var/run/openvswitch", "bridge": "br-int",
     "state_dir": "/var/lib/weft-cni", "timeout": 10}

Only `api` and `token_file` are required; `network` defaults to the list's `name`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cni.errors import INVALID_CONFIG, CniError

PLUGIN_TYPE = "weft-cni"
DEFAULT_OVS_RUNDIR = "/var/run/openvswitch"
DEFAULT_BRIDGE = "br-int"
DEFAULT_STATE_DIR = "/var/lib/weft-cni"
DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True)
class Settings:
    api: str
    token_file: str
    network: str
    ovs_rundir: str = DEFAULT_OVS_RUNDIR
    bridge: str = DEFAULT_BRIDGE
    state_dir: str = DEFAULT_STATE_DIR
    timeout: float = DEFAULT_TIMEOUT

    @property
    def ovsdb(self) -> str:
        return f"unix:{self.ovs_rundir}/db.sock"

    @property
    def openflow(self) -> str:
        """The bridge's local OpenFlow socket, which ovs-ofctl reads flows from."""
        return f"unix:{self.ovs_rundir}/{self.bridge}.mgmt"

    def token(self) -> str:
        try:
            return Path(self.token_file).read_text().strip()
        except OSError as error:
            raise CniError(INVALID_CONFIG, f"cannot read the host token file "
                           f"{self.token_file}: {error.strerror}") from None


def _text(conf: dict, key: str, default: str | None = None) -> str:
    value = conf.get(key, default)
    if not isinstance(value, str) or not value:
        wanted = "is missing" if value is None else "must be a non-empty string"
        raise CniError(INVALID_CONFIG, f'the network configuration\'s "{key}" {wanted}')
    return value


def settings_from(conf: dict) -> Settings:
    """The settings of one plugin entry (with the list's `name`), or a clear refusal."""
    timeout = conf.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise CniError(INVALID_CONFIG, 'the network configuration\'s "timeout" must be a '
                       "positive number of seconds")
    return Settings(
        api=_text(conf, "api").rstrip("/"),
        token_file=_text(conf, "token_file"),
        network=_text(conf, "network", conf.get("name")),
        ovs_rundir=_text(conf, "ovs_rundir", DEFAULT_OVS_RUNDIR),
        bridge=_text(conf, "bridge", DEFAULT_BRIDGE),
        state_dir=_text(conf, "state_dir", DEFAULT_STATE_DIR),
        timeout=float(timeout),
    )
