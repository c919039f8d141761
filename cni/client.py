"""The few calls of Weft's HTTP API the plugin makes, with a host token (docs/api.md).

Standard library only (http.client): the plugin runs once per container operation and
must start fast. Every failure becomes a CniError: the API unreachable or overloaded is
"try again later" (11), a refusal keeps the API's own message (100).
"""

from __future__ import annotations

import http.client
import json
import urllib.parse

from cni.errors import API_REFUSED, TRY_AGAIN_LATER, CniError


class ApiClient:
    """One keep-alive HTTP(S) connection to the API, opened on the first request."""

    def __init__(self, base: str, token: str, timeout: float = 5.0) -> None:
        parsed = urllib.parse.urlsplit(base)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise CniError(API_REFUSED, f"the API address {base!r} is not http(s)://HOST:PORT")
        self.base, self.token, self.timeout = base, token, timeout
        self._parsed = parsed
        self._connection: http.client.HTTPConnection | None = None

    def _connect(self) -> http.client.HTTPConnection:
        kind = (http.client.HTTPSConnection if self._parsed.scheme == "https"
                else http.client.HTTPConnection)
        return kind(self._parsed.hostname or "", self._parsed.port, timeout=self.timeout)

    def request(self, method: str, path: str, body: dict | None = None,
                missing_ok: bool = False) -> dict | list | None:
        """The decoded answer; None for 204, or for 404 when `missing_ok`."""
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            if self._connection is None:
                self._connection = self._connect()
            self._connection.request(method, path, data, headers)
            response = self._connection.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as error:
            self.close()
            raise CniError(TRY_AGAIN_LATER, f"the Weft API at {self.base} cannot be reached: "
                           f"{error or type(error).__name__}") from None
        if response.status == 204 or (response.status == 404 and missing_ok):
            return None
        try:
            answer = json.loads(payload) if payload else None
        except ValueError:
            answer = None
        if 200 <= response.status < 300:
            return answer
        message = (answer or {}).get("error", {}).get("message") if isinstance(answer, dict) \
            else None
        message = message or payload.decode(errors="replace")[:200] or response.reason
        code = TRY_AGAIN_LATER if response.status >= 500 else API_REFUSED
        raise CniError(code, f"the Weft API refused {method} {path} ({response.status}): "
                       f"{message}")

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    # The calls, by what they do.

    def network(self, name: str) -> dict:
        return self.request("GET", f"/v1/networks/{_quote(name)}")  # type: ignore[return-value]

    def networks(self) -> list[dict]:
        return self.request("GET", "/v1/networks")  # type: ignore[return-value]

    def ensure_port(self, name: str, network: str) -> dict:
        """Create the port on this token's host, or get it back as it was (idempotent)."""
        return self.request("PUT", f"/v1/ports/{_quote(name)}",  # type: ignore[return-value]
                            {"network": network})

    def port(self, name: str) -> dict | None:
        return self.request("GET", f"/v1/ports/{_quote(name)}",  # type: ignore[return-value]
                            missing_ok=True)

    def ports(self) -> list[dict]:
        """The ports of this token's host (requested or bound there)."""
        return self.request("GET", "/v1/ports")  # type: ignore[return-value]

    def delete_port(self, name: str) -> None:
        self.request("DELETE", f"/v1/ports/{_quote(name)}", missing_ok=True)


def _quote(name: str) -> str:
    return urllib.parse.quote(name, safe="")
