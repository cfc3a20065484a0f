"""What `pip install` of the repository puts in site-packages, and what it must bring along."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RUN_FROM_THE_REPOSITORY = ("render", "training", "webapp")
OPTIONAL_IMPORTS = {"render"}  # semges writes .bvh/.glb/.mp4 through it only when asked


def third_party_imports(package: Path) -> set[str]:
    """Top-level names of the modules ``package`` imports that are neither its own nor the
    standard library's."""
    names: set[str] = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n not in
            {package.name, "__future__"}}  # fmt: skip


def declared_distributions() -> set[str]:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    return {re.split(r"[<>=!~\[ ;]", requirement, maxsplit=1)[0].lower()
            for requirement in pyproject["project"]["dependencies"]}  # fmt: skip


def test_pyproject_declares_every_package_semges_imports():
    by_module = importlib.metadata.packages_distributions()
    missing = {}
    for module in third_party_imports(REPO / "semges") - OPTIONAL_IMPORTS:
        distributions = {d.lower() for d in by_module.get(module, [module])}
        if not distributions & declared_distributions():
            missing[module] = sorted(distributions)
    assert not missing, f"imported by semges, not in pyproject dependencies: {missing}"


def test_only_semges_is_installed():
    """From outside the repository only ``semges`` imports: the renderer, training code and
    demo keep their generic names out of site-packages."""
    code = ("import importlib.util as u\n"
            f"print([n for n in ('semges',) + {RUN_FROM_THE_REPOSITORY!r} if u.find_spec(n)])")
    result = subprocess.run([sys.executable, "-c", code], cwd="/", capture_output=True,
                            text=True, check=True)  # fmt: skip
    assert result.stdout.strip() == "['semges']"
