"""The controller's HTTP endpoint: Prometheus metrics, and what the switches hold.

Switches connect to the controller, not the other way round, so only the controller can read
a switch's tables over OpenFlow. This server (on `metrics_listen`) answers:

    GET /metrics                   Prometheus metrics (controller/metrics.py)
    GET /switches/HOST/audit       the switch's tables compared with the desired state:
                                   {"host", "flows_read", "bytes_read", "differences": [...]}
                                   (controller/audit.py `describe` records; nothing repaired)
    GET /switches/HOST/tables      the flows and groups it holds, as the switch sent them:
                                   {"host", "flows": [base64 ofp_flow_stats entry, ...],
                                    "groups": [base64 ofp_group_desc entry, ...]}

`weft audit` and `weft trace --installed` are its clients (`fetch_json`, `installed_tables`).
Everything is read-only; errors come back as {"error": ...} with status 404 (no such host)
or 503 (switch not connected or not answering). One thread per request (ThreadingHTTPServer).
"""

from __future__ import annotations

import base64
import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from controller.audit import describe
from controller.channel import ChannelClosed
from controller.decode import decode_flow, decode_group
from controller.owners import Owners

if TYPE_CHECKING:  # controller.service imports this module
    from controller.service import ControllerService

INSPECT_TIMEOUT = 30.0


class InspectionServer:
    """Serves the endpoint on its own threads (one listener, one per request)."""

    def __init__(self, service, host: str, port: int) -> None:
        handler = type("Handler", (_Handler,), {"service": service})
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True

    def start(self) -> None:
        threading.Thread(
            target=self._server.serve_forever, name="http", daemon=True
        ).start()


class _Handler(BaseHTTPRequestHandler):
    service: ControllerService  # set per server, by the subclass HTTPServer makes

    def log_message(self, *args) -> None:  # no access log on stderr
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        parts = self.path.strip("/").split("/")
        if parts == ["metrics"]:
            self._send(200, generate_latest(self.service.metrics.registry), CONTENT_TYPE_LATEST)
        elif len(parts) == 3 and parts[0] == "switches" and parts[2] in ("audit", "tables"):
            self._switch(urllib.parse.unquote(parts[1]), parts[2])
        else:
            self._json(404, {"error": f"no such path {self.path}"})

    def _switch(self, name: str, what: str) -> None:
        service = self.service
        with service.store.lock:
            snapshot = service.store.snapshot
        host = next((h for h in snapshot.hosts.values() if h.name == name), None)
        sync = service.fleet.syncs.get(host.datapath_id) if host else None
        if host is None:
            self._json(404, {"error": f"no host named {name!r}"})
            return
        try:
            if sync is None:
                raise ChannelClosed(f"switch {name} has never connected")
            inspection = sync.inspect(INSPECT_TIMEOUT)
        except (ChannelClosed, TimeoutError) as error:
            self._json(503, {"error": f"switch {name}: {error or 'no answer'}"})
            return
        tables = inspection.tables
        if what == "tables":
            self._json(200, {
                "host": name,
                "flows": [base64.b64encode(e.raw).decode() for e in tables.flows],
                "groups": [base64.b64encode(e.raw).decode() for e in tables.groups],
            })
            return
        self._json(200, {
            "host": name,
            "flows_read": len(tables.flows),
            "bytes_read": tables.bytes_read,
            "differences": describe(inspection.difference, Owners(snapshot), host.id),
        })

    def _json(self, status: int, body: dict) -> None:
        self._send(status, json.dumps(body).encode(), "application/json")

    def _send(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


# ---------------------------------------------------------------- the clients' side


class InspectionError(Exception):
    """The controller's endpoint could not answer; the message says why."""


def fetch_json(base_url: str, path: str, timeout: float = INSPECT_TIMEOUT + 5) -> dict:
    url = base_url.rstrip("/") + path
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        try:
            message = json.loads(error.read()).get("error", str(error))
        except ValueError:
            message = str(error)
        raise InspectionError(message) from None
    except (urllib.error.URLError, OSError) as error:
        raise InspectionError(f"cannot reach the controller at {base_url}: {error}") from None


def installed_tables(base_url: str, host: str):
    """(flows, {group id: group}) that `host`'s switch holds, read through the controller."""
    body = fetch_json(base_url, f"/switches/{urllib.parse.quote(host, safe='')}/tables")
    flows = [decode_flow(base64.b64decode(raw)).flow for raw in body["flows"]]
    groups = dict(decode_group(base64.b64decode(raw)) for raw in body["groups"])
    return flows, groups
