"""Make the `ovs` library read JSON-RPC with the standard library's C decoder.

The `ovs` package from PyPI parses JSON in pure Python, character by character, unless it
was built against libopenvswitch (Debian ships no headers for that). With one OVSDB
connection per host, that parser was three quarters of the manager's CPU while a mesh comes
up, and with every connection thread busy parsing, any other thread waited hundreds of
milliseconds for the GIL. `install()` replaces `ovs.json.Parser` by `StdlibParser`, which
keeps its interface (feed / is_done / finish) but decodes with `json.JSONDecoder`: some
fifty times faster. Only the `ovs` library uses that class (ovsdbapp through it).
"""

from __future__ import annotations

import json

import ovs.json

_decoder = json.JSONDecoder()
_NOTHING = object()


class StdlibParser:
    """ovs.json.Parser's interface over json.JSONDecoder.

    Streaming (check_trailer False, as ovs.jsonrpc uses it): `feed` buffers text and returns
    how much of it it consumed, which stops at the end of the first complete value, so the
    caller keeps the rest for the next message. A decode is attempted only when the new text
    holds a '}' or ']': a value can end nowhere else (JSON-RPC messages are objects). Text
    that does not decode is taken as incomplete: ovsdb-server sends valid JSON, and a
    connection that stops making sense is dropped by its inactivity probe.
    With check_trailer (ovs.json.from_string), the whole input must be one value.
    """

    def __init__(self, check_trailer: bool = False) -> None:
        self.check_trailer = check_trailer
        self._buffer = ""
        self._value = _NOTHING

    def feed(self, text: str) -> int:
        if self.is_done():
            return 0
        start = len(self._buffer)
        self._buffer += text
        if self.check_trailer or ("}" not in text and "]" not in text):
            return len(text)
        buffer = self._buffer
        begin = len(buffer) - len(buffer.lstrip())
        try:
            self._value, end = _decoder.raw_decode(buffer, begin)
        except json.JSONDecodeError:
            return len(text)
        self._buffer = ""
        return end - start

    def is_done(self) -> bool:
        return self._value is not _NOTHING

    def finish(self):
        """The value, or (as ovs.json.Parser does) an error message as a string."""
        if self.check_trailer:
            try:
                return json.loads(self._buffer)
            except json.JSONDecodeError as error:
                return f"syntax error: {error.msg}"
        if self._value is _NOTHING:
            return "unexpected end of input"
        return self._value


def install() -> None:
    """Idempotent; affects only code that builds parsers through `ovs.json.Parser`."""
    ovs.json.Parser = StdlibParser
