"""CNI errors: the spec's codes and the plugin's own, each with a message a person understands.

A plugin reports a failure as `{"cniVersion", "code", "msg", "details"}` on stdout and exits
non-zero (CNI spec 1.0.0, "Error"). Codes below 100 are the spec's; 100 and above are Weft's
(docs/cni.md lists them all).
"""

from __future__ import annotations

INCOMPATIBLE_VERSION = 1
UNSUPPORTED_FIELD = 2
CONTAINER_UNKNOWN = 3
INVALID_ENVIRONMENT = 4
IO_FAILURE = 5
DECODE_FAILURE = 6
INVALID_CONFIG = 7
TRY_AGAIN_LATER = 11
# Weft's own codes.
API_REFUSED = 100  # the API answered with a refusal (4xx): the message says why
NOT_INSTALLED = 101  # the port's flows did not appear on this host within the timeout
CHECK_FAILED = 102  # CHECK found the container's interface or binding not as ADD left it
OVS_FAILURE = 103  # the host's Open vSwitch refused or did not answer


class CniError(Exception):
    """A failure to report to the runtime as CNI error JSON."""

    def __init__(self, code: int, msg: str, details: str = "") -> None:
        super().__init__(msg)
        self.code, self.msg, self.details = code, msg, details

    def as_json(self, cni_version: str) -> dict:
        return {"cniVersion": cni_version, "code": self.code, "msg": self.msg,
                "details": self.details}
