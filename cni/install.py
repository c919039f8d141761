"""`weft cni install`: put the plugin in a host's CNI bin dir and write one network
configuration list per Weft network (docs/cni.md)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from cni.client import ApiClient
from cni.config import PLUGIN_TYPE, Settings, settings_from

CONFLIST_PREFIX = "weft-"


def plugin_executable() -> Path:
    """The `weft-cni` entry point installed next to this Python."""
    return Path(sys.executable).with_name(PLUGIN_TYPE)


def conflist(settings: Settings, chain: list[dict]) -> dict:
    return {
        "cniVersion": "1.0.0",
        "name": settings.network,
        "plugins": [
            {
                "type": PLUGIN_TYPE,
                "api": settings.api,
                "token_file": settings.token_file,
                "network": settings.network,
                "ovs_rundir": settings.ovs_rundir,
                "bridge": settings.bridge,
                "state_dir": settings.state_dir,
                "timeout": settings.timeout,
            },
            *chain,
        ],
    }


def install(template: Settings, networks: list[str] | None, bin_dir: Path, conf_dir: Path,
            chain: list[dict]) -> list[Path]:
    """Link the plugin into `bin_dir`; write a conflist per network (those given, or every
    network the token may read); return the files written."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    target = bin_dir / PLUGIN_TYPE
    if target.is_symlink() or target.exists():
        target.unlink()
    target.symlink_to(plugin_executable())
    api = ApiClient(template.api, template.token())
    try:
        names = ([api.network(name)["name"] for name in networks] if networks
                 else [n["name"] for n in api.networks()])
    finally:
        api.close()
    conf_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names:
        settings = Settings(**{**template.__dict__, "network": name})
        path = conf_dir / f"{CONFLIST_PREFIX}{name}.conflist"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(conflist(settings, chain), indent=2) + "\n")
        os.chmod(temporary, 0o644)
        temporary.replace(path)
        written.append(path)
    return written


def installed_settings(conf_dir: Path) -> list[Settings]:
    """The distinct plugin settings of the Weft conflists in `conf_dir` (one per API, token,
    switch and state dir), for the reaper."""
    found: dict[tuple, Settings] = {}
    for path in sorted(conf_dir.glob("*.conflist")):
        try:
            listed = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        for entry in listed.get("plugins", []):
            if entry.get("type") == PLUGIN_TYPE:
                settings = settings_from({"name": listed.get("name"), **entry})
                key = (settings.api, settings.token_file, settings.ovs_rundir,
                       settings.bridge, settings.state_dir)
                found.setdefault(key, settings)
    return list(found.values())
