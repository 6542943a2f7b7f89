"""The house: every module imports only from its own floor or the floors below, so that the data
flows one way (scenario -> plan -> generated files -> runtime -> event logs -> analysis) and the wire
layer sits below the runtime that speaks it. Checked on the source with ``ast``: every import, also
those inside functions."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {"monerosim_actors": ROOT / "monerosim_actors", "monerosim_actors.actors": ROOT / "actors",
            "monerosim_actors.coordination": ROOT / "coordination"}
"""Import name -> folder (pyproject.toml installs actors/ and coordination/ inside the package)."""

FLOORS: list[set[str]] = [
    {"monerosim_actors", "monerosim_actors.errors", "monerosim_actors.defaults", "monerosim_actors.events"},
    {"monerosim_actors.wire", "monerosim_actors.scenario", "monerosim_actors.native"},
    {"monerosim_actors.randomx", "monerosim_actors.wallet_cert"},
    {"monerosim_actors.plan"},
    {"monerosim_actors.runtime", "monerosim_actors.shadow"},
    {"monerosim_actors.role", "monerosim_actors.coordination.messages"},
    {"monerosim_actors.testing", "monerosim_actors.coordination", "monerosim_actors.actors"},
    {"monerosim_actors.backends"},
    {"monerosim_actors.sweep"},
    {"monerosim_actors.analysis"},
    {"monerosim_actors.commands", "monerosim_actors.cli"},
    {"monerosim_actors.__main__"},
]
"""Bottom first. A module belongs to the longest area name that prefixes it."""


def _area(module: str) -> str:
    areas = [a for floor in FLOORS for a in floor if module == a or module.startswith(a + ".")]
    return max(areas, key=len)


def _floor(module: str) -> int:
    area = _area(module)
    return next(i for i, floor in enumerate(FLOORS) if area in floor)


def _modules() -> dict[str, Path]:
    found = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            if package == "monerosim_actors" and path.is_relative_to(PACKAGES["monerosim_actors.actors"]):
                continue
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join([package, *parts])] = path
    return found


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("monerosim_actors"):
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.startswith("monerosim_actors"))
    return names


def test_no_import_runs_up_the_house_or_across_a_floor() -> None:
    wrong = []
    for module, path in sorted(_modules().items()):
        for imported in sorted(_imports(path)):
            same_area = _area(imported) == _area(module)
            if not same_area and _floor(imported) >= _floor(module):
                wrong.append(f"{module} (floor {_floor(module)}) imports {imported} (floor {_floor(imported)})")
    assert not wrong, "imports that run up the house or across a floor:\n" + "\n".join(wrong)


def test_every_package_folder_is_installed() -> None:
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    packages = {m for m, p in _modules().items() if p.name == "__init__.py"}
    assert packages == listed, f"pyproject.toml [tool.setuptools] packages: missing {packages - listed}, " \
                               f"extra {listed - packages}"
