"""Configuration of `weft api`, read like the controller's (controller/config.LayeredSettings).

    database_url = "postgresql://weft@db/weft"
    api_listen = "0.0.0.0:8080"
    tls_cert = "/etc/weft/api.crt"   # with tls_key: HTTPS; without: plain HTTP (behind a proxy)
    tls_key = "/etc/weft/api.key"
"""

from __future__ import annotations

from dataclasses import dataclass

from controller.config import ConfigError, LayeredSettings, host_port


@dataclass(frozen=True)
class ApiConfig(LayeredSettings):
    database_url: str | None = None
    api_listen: str = "127.0.0.1:8080"
    tls_cert: str | None = None
    tls_key: str | None = None
    log_level: str = "INFO"
    pool_size: int = 10  # database connections per process (each replica has its own)

    def __post_init__(self) -> None:
        _ = self.address  # a malformed one raises ConfigError
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ConfigError("tls_cert, tls_key: give both for HTTPS, or neither")

    @property
    def address(self) -> tuple[str, int]:
        host, port = host_port("api_listen", self.api_listen)
        return host or "0.0.0.0", port
