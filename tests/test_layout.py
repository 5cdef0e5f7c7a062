"""The package's plan holds: every module imports alone, and imports only run downwards."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import pytest

import sklearn_slaf

ROOT = pathlib.Path(sklearn_slaf.__file__).parent
MODULES = sorted(
    ".".join(("sklearn_slaf", *p.relative_to(ROOT).with_suffix("").parts)).removesuffix(".__init__")
    for p in ROOT.rglob("*.py")
)

# Lower levels never import higher ones. Within the top level the estimators sit above the
# analysis packages, which sit above the layers; the packages' own modules are listed in
# their facades' docstrings.
LEVELS = {
    "sklearn_slaf._functions": 0, "sklearn_slaf._gauss": 0, "sklearn_slaf._validation": 0, "sklearn_slaf._version": 0,
    "sklearn_slaf._warnings": 0, "sklearn_slaf._devices": 0, "sklearn_slaf._metrics": 0, "sklearn_slaf.datasets": 0,
    "sklearn_slaf._docstrings": 0,
    "sklearn_slaf.basis": 1, "sklearn_slaf._threads": 1, "sklearn_slaf._batch_weights": 1,
    "sklearn_slaf._kernels": 2,
    "sklearn_slaf.activation": 3,
    "sklearn_slaf.network": 4,
    "sklearn_slaf.training": 5, "sklearn_slaf.polynomial": 5, "sklearn_slaf.eoc": 5,
    "sklearn_slaf.plotting": 6, "sklearn_slaf._extrapolation": 6, "sklearn_slaf._base": 7,
    "sklearn_slaf.regressor": 8, "sklearn_slaf.classifier": 8,
    "sklearn_slaf.demo": 9, "sklearn_slaf.__main__": 10, "sklearn_slaf": 10,
}


def _level(module: str) -> int:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        name = ".".join(parts[:n])
        if name in LEVELS:
            return LEVELS[name]
    raise KeyError(f"{module} has no place in LEVELS: add it to the layout")


def _imports(module: str) -> set[str]:
    """Modules of the package that ``module`` imports (at any depth of its code)."""
    path = ROOT.joinpath(*module.split(".")[1:])
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            target = ".".join(base + ([node.module] if node.module else []))
            out.add(target)
            out.update(f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in MODULES)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            out.update(n for n in names if n.startswith("sklearn_slaf"))
    return {m for m in out if m in MODULES}


_ALONE = """
import importlib, sys, traceback
failed = []
for name in sys.argv[1:]:
    for m in [m for m in sys.modules if m == "sklearn_slaf" or m.startswith("sklearn_slaf.")]:
        del sys.modules[m]  # torch and numpy stay loaded; the package starts from nothing each time
    try:
        importlib.import_module(name)
    except Exception:
        failed.append(name + ":\\n" + traceback.format_exc(limit=3))
print("\\n".join(failed))
sys.exit(bool(failed))
"""


def test_every_module_imports_alone():
    # a fresh interpreter, and the package emptied before each import: no import order can hide a cycle
    res = subprocess.run([sys.executable, "-c", _ALONE, *MODULES], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]


@pytest.mark.parametrize("module", MODULES)
def test_imports_run_downwards(module):
    me = _level(module)
    for target in _imports(module):
        inside = "." in module.removeprefix("sklearn_slaf.")  # a module of a subpackage
        same_package = inside and target.startswith(module.rpartition(".")[0] + ".")
        if target == "sklearn_slaf" or same_package:
            continue
        assert _level(target) < me or (_level(target) == me and target.split(".")[:2] == module.split(".")[:2]), (
            f"{module} (level {me}) imports {target} (level {_level(target)})"
        )
