"""The packages import downward only (docs/architecture.md, "Layers").

    models <- migrations, ovsdb <- controller <- northbound <- admin, api, cni <- lab <- bench

A package may import its own modules and any package on a lower floor; never one on its own
floor (admin and api are sibling front ends) or above. Every import counts, also one inside a
function (the CLI imports lazily), since it ties the packages all the same. Test code is not
a layer and may import anything.

To see this test fail, add an upward import, e.g. `from admin.output import table` to
models/ipam.py, or `import lab` inside a function of northbound/ports.py, and run
`bash scripts/test tests/unit/test_layers.py`: it names the file, the line and the layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FLOORS = {
    "models": 0,
    "migrations": 1,
    "ovsdb": 1,
    "controller": 2,
    "northbound": 3,
    "admin": 4,
    "api": 4,
    "cni": 4,
    "lab": 5,
    "bench": 6,
}


def imported_packages(path: Path) -> list[tuple[int, str]]:
    """(line, top-level package) of every import of a project package in `path`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [(node.lineno, name.split(".")[0]) for name in names
                  if name.split(".")[0] in FLOORS]
    return found


def upward_imports() -> list[str]:
    problems = []
    for package, floor in FLOORS.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            for line, imported in imported_packages(path):
                if imported != package and FLOORS[imported] >= floor:
                    problems.append(f"{path.relative_to(ROOT)}:{line}: {package} (floor {floor})"
                                    f" imports {imported} (floor {FLOORS[imported]})")
    return problems


def test_every_package_is_on_a_floor():
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests"}
    assert packages - {"bench"} <= set(FLOORS), "a new package needs its floor here"


def test_nothing_imports_upward():
    assert upward_imports() == []


def test_the_check_sees_an_upward_import(tmp_path):
    """The checker itself: an upward import, even inside a function, is found."""
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from admin.output import table\n    import lab.api\n")
    assert imported_packages(sample) == [(2, "admin"), (3, "lab")]
