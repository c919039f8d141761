"""StdlibParser reads JSON-RPC exactly as the `ovs` library's own parser does.

Messages go through the real `ovs.jsonrpc.Connection`, whose receive loop is what uses the
parser; only its socket is replaced by a list of chunks (`ChunkStream`), because where the
chunks are cut is what this test is about: anywhere, also inside strings and escapes,
several messages per chunk or one message over many. Cuts fall between characters, not
inside a multi-byte one: the connection decodes UTF-8 before the parser sees anything (and
loses a character cut in two right after a message ends, whichever parser it uses).
"""

from __future__ import annotations

import errno
import json

import ovs.json
import ovs.jsonrpc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ovsdb import fastjson

# Without NUL: OVSDB's own parser refuses it in strings, so no server ever sends one (and
# the ovs parser this is compared with rejects it where the standard library's accepts it).
# Without lone surrogates: they are not UTF-8.
texts = st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | texts,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(texts.filter(lambda s: len(s) <= 8), children, max_size=4),
    max_leaves=20,
)
messages = st.builds(
    lambda method, params: {"id": None, "method": method, "params": params},
    texts.filter(lambda s: 0 < len(s) <= 10),
    st.lists(json_values, max_size=3),
)


class ChunkStream:
    """The part of ovs.stream.Stream that jsonrpc.Connection reads from."""

    name = "chunks"

    def __init__(self, text: str, cuts: list[int]) -> None:
        points = sorted({c % (len(text) + 1) for c in cuts} | {0, len(text)})
        self._chunks = [
            text[a:b].encode() for a, b in zip(points, points[1:], strict=False) if b > a
        ]

    def recv(self, n: int):
        if not self._chunks:
            return errno.EAGAIN, b""
        return 0, self._chunks.pop(0)

    def close(self) -> None:
        """Called when the connection gives up on what it read."""


def receive_all(stream: ChunkStream, parser_class) -> list:
    original = ovs.json.Parser
    ovs.json.Parser = parser_class
    try:
        connection = ovs.jsonrpc.Connection(stream)
        received = []
        while True:
            error, message = connection.recv()
            if error:
                assert error == errno.EAGAIN
                return received
            received.append(message.to_json())
    finally:
        ovs.json.Parser = original


@settings(max_examples=200, deadline=None)
@given(
    st.lists(messages, min_size=1, max_size=5),
    st.lists(st.integers(min_value=0), max_size=30),
    st.sampled_from(["", " ", "\n"]),
)
def test_any_chunking_reads_the_same_messages_as_the_ovs_parser(batch, cuts, separator):
    text = separator.join(json.dumps(m, ensure_ascii=False) for m in batch)

    ours = receive_all(ChunkStream(text, cuts), fastjson.StdlibParser)

    assert ours == receive_all(ChunkStream(text, cuts), ovs.json.Parser)
    assert ours == [ovs.jsonrpc.Message.from_json(m).to_json() for m in batch]


@pytest.mark.parametrize(
    ("text", "expected"),
    [('{"a": [1, "}"]}', {"a": [1, "}"]}), ("[1, 2]", [1, 2]), ('"x"', "x")],
)
def test_from_string_reads_one_whole_value(text, expected):
    parser = fastjson.StdlibParser(check_trailer=True)
    parser.feed(text)
    assert parser.finish() == expected


@pytest.mark.parametrize("text", ['{"a": 1} {"b": 2}', '{"a": ', ""])
def test_from_string_reports_anything_else_as_an_error_string(text):
    parser = fastjson.StdlibParser(check_trailer=True)
    parser.feed(text)
    assert parser.finish().startswith("syntax error")
