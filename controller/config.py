"""Configuration of `weft controller`: defaults < file (TOML) < environment < command line.

`LayeredSettings` is how any Weft service reads its settings (`weft api` too: api/config.py).
Every setting has one name, used as the TOML key, as the environment variable (upper case
with a WEFT_ prefix: `openflow_listen` -> WEFT_OPENFLOW_LISTEN) and, with dashes, as the
command-line option. Example file (docs/operations.md has the full list):

    database_url = "postgresql://weft@db/weft"
    openflow_listen = "0.0.0.0:6653"
    controller_target = "tcp:10.0.0.5:6653"   # what every host's br-int connects to
    metrics_listen = "0.0.0.0:9464"
    log_format = "json"
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Self

ENV_PREFIX = "WEFT_"


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class LayeredSettings:
    """A frozen dataclass of settings, loaded from defaults < TOML file < WEFT_* environment
    < explicit overrides (the command line); each value coerced to its field's type."""

    @classmethod
    def load(
        cls,
        path: Path | None = None,
        environ: Mapping[str, str] = os.environ,
        overrides: Mapping[str, object] | None = None,
    ) -> Self:
        values: dict[str, object] = {}
        if path is not None:
            try:
                values.update(tomllib.loads(Path(path).read_text()))
            except (OSError, tomllib.TOMLDecodeError) as error:
                raise ConfigError(f"config file {path}: {error}") from error
        known = {f.name: f for f in fields(cls)}
        unknown = set(values) - known.keys()
        if unknown:
            raise ConfigError(
                f"config file {path}: unknown setting(s) {', '.join(sorted(unknown))}"
            )
        for name in known:
            if (text := environ.get(ENV_PREFIX + name.upper())) is not None:
                values[name] = text
        values.update({k: v for k, v in (overrides or {}).items() if v is not None})
        return cls(**{name: _coerce(known[name], value) for name, value in values.items()})


@dataclass(frozen=True)
class ControllerConfig(LayeredSettings):
    database_url: str | None = None
    # OpenFlow: where switches connect, and the target the OVSDB manager gives them.
    openflow_listen: str = "0.0.0.0:6653"
    controller_target: str | None = None
    manage_ovsdb: bool = True
    ovsdb_connect_timeout: float = 5.0
    resync_interval: float = 30.0
    audit_interval: float = 60.0  # seconds between audits of each switch; 0: never
    metrics_listen: str | None = None
    log_level: str = "INFO"
    log_format: str = "text"  # or "json": one object per line
    # IGMP querier (RFC 2236 timers)
    igmp_query_interval: float = 125.0
    igmp_query_response: float = 10.0
    igmp_robustness: int = 2
    # IGMP snooping under load (controller/multicast.py)
    igmp_port_group_limit: int = 256
    igmp_network_group_limit: int = 4096
    igmp_port_backlog: int = 64
    igmp_queue_limit: int = 8192
    igmp_batch_window: float = 0.01

    def __post_init__(self) -> None:
        _ = self.openflow_address, self.metrics_address  # a malformed one raises ConfigError
        for name in ("igmp_port_group_limit", "igmp_network_group_limit",
                     "igmp_port_backlog", "igmp_queue_limit"):  # fmt: skip
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}: {getattr(self, name)!r} is not at least 1")
        if not 0 <= self.igmp_batch_window <= 1:
            raise ConfigError(f"igmp_batch_window: {self.igmp_batch_window!r} is not 0..1 s")
        if self.log_format not in ("text", "json"):
            raise ConfigError(f"log_format: {self.log_format!r} is not text or json")
        if self.manage_ovsdb and not self.target:
            raise ConfigError(
                "controller_target: needed when openflow_listen is a wildcard address "
                "(hosts must be told where to connect, e.g. tcp:10.0.0.5:6653)"
            )

    @property
    def openflow_address(self) -> tuple[str, int]:
        """(address, port) to listen on for switches; an empty host means every address."""
        host, port = host_port("openflow_listen", self.openflow_listen)
        return host or "0.0.0.0", port

    @property
    def metrics_address(self) -> tuple[str, int] | None:
        if not self.metrics_listen:
            return None
        host, port = host_port("metrics_listen", self.metrics_listen)
        return host or "0.0.0.0", port

    @property
    def target(self) -> str | None:
        """The OpenFlow target for hosts: as configured, else the listen address if usable."""
        if self.controller_target:
            return self.controller_target
        host, port = self.openflow_address
        if host in ("0.0.0.0", "::"):
            return None
        return f"tcp:[{host}]:{port}" if ":" in host else f"tcp:{host}:{port}"


def _coerce(field: dataclasses.Field, value: object) -> object:
    kind = field.type if isinstance(field.type, str) else field.type.__name__
    if not isinstance(value, str) or kind.startswith("str"):
        return value
    try:
        if kind == "bool":
            if value.lower() not in ("1", "0", "true", "false", "yes", "no"):
                raise ValueError(value)
            return value.lower() in ("1", "true", "yes")
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
    except ValueError as error:
        raise ConfigError(f"{field.name}: {value!r} is not a {kind}") from error
    return value


def host_port(name: str, value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{name}: {value!r} is not HOST:PORT")
    return host.strip("[]"), int(port)
