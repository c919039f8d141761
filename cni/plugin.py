"""`weft-cni`: the executable a CNI runtime runs (CNI spec 1.0.0).

The runtime passes the operation in CNI_COMMAND (ADD, DEL, CHECK, VERSION), the container in
CNI_CONTAINERID, CNI_NETNS and CNI_IFNAME, and the network configuration on stdin; the
plugin prints a result (ADD), nothing (DEL, CHECK) or the versions it speaks (VERSION), or
an error as JSON, and exits 0 or 1. STATUS and GC of spec 1.1 are not implemented: podman
4.3 speaks at most 1.0.0 and never sends them; `weft cni gc` reaps instead (docs/cni.md).
"""

from __future__ import annotations

import json
import os
import sys
from typing import NoReturn

from cni import attach
from cni.client import ApiClient
from cni.config import settings_from
from cni.errors import (
    DECODE_FAILURE,
    INCOMPATIBLE_VERSION,
    INVALID_ENVIRONMENT,
    IO_FAILURE,
    CniError,
)

SUPPORTED_VERSIONS = ["0.3.0", "0.3.1", "0.4.0", "1.0.0"]
LATEST = "1.0.0"


def _environment(*names: str) -> list[str]:
    values = [os.environ.get(name, "") for name in names]
    if missing := [n for n, v in zip(names, values, strict=True) if not v]:
        raise CniError(INVALID_ENVIRONMENT, f"the runtime did not set {', '.join(missing)}")
    return values


def _merge(previous: dict | None, ours: dict) -> dict:
    """Our result after a previous plugin's: its interfaces first, our indexes shifted."""
    if not previous:
        return ours
    shift = len(previous.get("interfaces", []))
    ips = [ip | {"interface": ip["interface"] + shift} for ip in ours["ips"]]
    return previous | {
        "interfaces": previous.get("interfaces", []) + ours["interfaces"],
        "ips": previous.get("ips", []) + ips,
        "routes": previous.get("routes", []) + ours["routes"],
        "dns": previous.get("dns") or ours["dns"],
    }


def _for_version(result: dict, version: str) -> dict:
    """Results of 0.3.x name each address's IP version; 0.4.0 and 1.0.0 do not."""
    if version.startswith("0.3."):
        result = result | {"ips": [ip | {"version": "6" if ":" in ip["address"] else "4"}
                                   for ip in result["ips"]]}
    return {"cniVersion": version, **result}


def run(command: str, conf: dict) -> dict | None:
    """Do `command` for the container in the environment; the JSON to print, if any."""
    version = conf.get("cniVersion", LATEST)
    if command == "VERSION":
        return {"cniVersion": LATEST, "supportedVersions": SUPPORTED_VERSIONS}
    if version not in SUPPORTED_VERSIONS:
        raise CniError(INCOMPATIBLE_VERSION, f"cniVersion {version} is not supported "
                       f"(supported: {', '.join(SUPPORTED_VERSIONS)})")
    if command not in ("ADD", "DEL", "CHECK"):
        raise CniError(INVALID_ENVIRONMENT, f"CNI_COMMAND {command!r} is not one of ADD, "
                       "DEL, CHECK, VERSION")
    settings = settings_from(conf)
    container_id, ifname = _environment("CNI_CONTAINERID", "CNI_IFNAME")
    netns = os.environ.get("CNI_NETNS", "")
    if command != "DEL" and not netns:
        raise CniError(INVALID_ENVIRONMENT, "the runtime did not set CNI_NETNS")
    request = attach.Request(container_id, netns, ifname)
    api = ApiClient(settings.api, settings.token(), timeout=min(settings.timeout, 5.0))
    try:
        if command == "ADD":
            ours = attach.add(settings, api, request)
            return _for_version(_merge(conf.get("prevResult"), ours), version)
        if command == "DEL":
            attach.delete(settings, api, request)
        else:
            attach.check(settings, api, request)
        return None
    finally:
        api.close()


def main() -> None:
    command = os.environ.get("CNI_COMMAND", "")
    version = LATEST
    try:
        text = sys.stdin.read() if command != "VERSION" else ""
        try:
            conf = json.loads(text) if text.strip() else {}
        except ValueError as error:
            raise CniError(DECODE_FAILURE,
                           f"the network configuration is not JSON: {error}") from None
        if not isinstance(conf, dict):
            raise CniError(DECODE_FAILURE, "the network configuration is not a JSON object")
        version = conf.get("cniVersion", LATEST)
        output = run(command, conf)
    except OSError as error:  # a file or command of this host failed unexpectedly
        _fail(CniError(IO_FAILURE, f"{type(error).__name__}: {error}"), version)
    except CniError as error:
        _fail(error, version)
    if output is not None:
        json.dump(output, sys.stdout)
        sys.stdout.write("\n")


def _fail(error: CniError, version: str) -> NoReturn:
    json.dump(error.as_json(version), sys.stdout)
    sys.stdout.write("\n")
    sys.exit(1)
