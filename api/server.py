"""Serving the API with uvicorn: one process, any number of them against one PostgreSQL.

Each process keeps one engine (a pool of `pool_size` connections); handlers run in
uvicorn's thread pool. With `tls_cert` and `tls_key` it serves HTTPS; without, plain HTTP,
for a reverse proxy in front that terminates TLS (docs/api.md).
"""

from __future__ import annotations

import logging

import uvicorn

from api.app import create_app
from api.config import ApiConfig
from models.db import make_engine


def serve(config: ApiConfig) -> None:
    """Serve until SIGTERM or SIGINT (uvicorn finishes the requests in flight, then returns)."""
    logging.basicConfig(level=config.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    engine = make_engine(config.database_url, **_pool(config))
    host, port = config.address
    try:
        uvicorn.run(
            create_app(engine), host=host, port=port, log_level=config.log_level.lower(),
            ssl_certfile=config.tls_cert, ssl_keyfile=config.tls_key, access_log=False,
        )
    finally:
        engine.dispose()


def _pool(config: ApiConfig) -> dict:
    url = config.database_url or ""
    return {"pool_size": config.pool_size} if "postgres" in url else {}
