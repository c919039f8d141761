"""Real `weft api` servers (uvicorn) on loopback inside the test namespace.

`api_thread(url)` serves the application with a real uvicorn server in a thread of the test
process (starting in milliseconds, so every test gets a server of its own);
`api_process(url)` runs the `weft api` command itself, for what only a process shows (its
options, TLS, SIGTERM). Both wait until /health answers and stop the server after the test.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import uvicorn

from api.app import create_app
from models.db import make_engine

WEFT = Path(sys.executable).with_name("weft")
START_TIMEOUT = 20.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def api_thread(database_url: str) -> Iterator[str]:
    """Serve the API for `database_url` from a uvicorn server in a thread; yield its URL."""
    engine = make_engine(database_url)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(engine), host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, name="test-api", daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, lambda: thread.is_alive() or "the server thread ended")
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()


@contextlib.contextmanager
def api_process(database_url: str, *options: str, scheme: str = "http") -> Iterator[str]:
    """Run `weft api OPTIONS...`; yield its base URL; stop it with SIGTERM."""
    port = free_port()
    process = subprocess.Popen(
        [str(WEFT), "api", "--listen", f"127.0.0.1:{port}", "--database-url", database_url,
         "--log-level", "WARNING", *options],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    base = f"{scheme}://127.0.0.1:{port}"
    try:
        _wait_healthy(base, lambda: process.poll() is None or process.stdout.read())
        yield base
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=15)
        # uvicorn finishes its requests, then re-raises SIGTERM: the conventional clean exit.
        assert process.returncode == -signal.SIGTERM, (
            f"weft api exited {process.returncode}: {output}")


def _wait_healthy(base: str, alive: Callable[[], object]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if (state := alive()) is not True:
            raise AssertionError(f"weft api stopped at start: {state}")
        try:
            if httpx.get(f"{base}/health", timeout=1, verify=False).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.02)
    raise AssertionError(f"weft api did not answer /health within {START_TIMEOUT} s")
