"""What `pip install` of the repository puts in site-packages, and what it must bring along."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from import_layers import in_render_layer, installed_modules, module_imports, violations

REPO = Path(__file__).resolve().parent.parent
RUN_FROM_THE_REPOSITORY = ("render", "training", "webapp", "benchmarks")
RENDER_EXTRA = "render"


def canonical(distribution: str) -> str:
    """A distribution's name as PyPI compares them (PEP 503): ``fast_simplification`` (its
    metadata) and ``fast-simplification`` (pyproject) are one."""
    return re.sub(r"[-_.]+", "-", distribution).lower()


def _names(requirements: list[str]) -> set[str]:
    return {
        canonical(re.split(r"[<>=!~\[ ;]", requirement, maxsplit=1)[0])
        for requirement in requirements
    }


def declared_distributions(extra: str | None = None) -> set[str]:
    """The distributions of pyproject's dependencies (with ``extra``'s when given)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    names = _names(project["dependencies"])
    if extra is not None:
        names |= _names(project["optional-dependencies"][extra])
    return names


def top_level_imports(render_layer: bool) -> set[str]:
    """Third-party top-level names the core (or the render layer) imports."""
    names = set()
    for module, path in installed_modules().items():
        if in_render_layer(module) == render_layer:
            names |= {name.split(".")[0] for name in module_imports(path, module)}
    return {name for name in names if name not in sys.stdlib_module_names and name != "semges"}


def undeclared(modules: set[str], declared: set[str]) -> dict[str, list[str]]:
    by_module = importlib.metadata.packages_distributions()
    missing = {}
    for module in modules:
        distributions = {canonical(d) for d in by_module.get(module, [module])}
        if not distributions & declared:
            missing[module] = sorted(distributions)
    return missing


def test_pyproject_declares_every_package_semges_imports():
    """The core's imports are dependencies; the render layer's are those or the extra's."""
    core = undeclared(top_level_imports(render_layer=False), declared_distributions())
    assert not core, f"imported by the semges core, not in pyproject dependencies: {core}"
    render = undeclared(top_level_imports(render_layer=True), declared_distributions(RENDER_EXTRA))
    assert not render, f"imported by semges.render, not in dependencies or the extra: {render}"


def test_the_extras_message_names_what_pyproject_lists():
    from semges.render.extra import INSTALL_HINT, RENDER_EXTRA_MODULES

    extra = declared_distributions(RENDER_EXTRA) - declared_distributions()
    assert {canonical(d) for d in RENDER_EXTRA_MODULES.values()} == extra
    assert INSTALL_HINT == f"pip install 'semges[{RENDER_EXTRA}]'"


def test_the_core_never_imports_the_render_layer_nor_anything_undeclared():
    """Walks every module of the semges package (pkgutil) and reads its imports (ast)."""
    by_module = importlib.metadata.packages_distributions()
    declared = declared_distributions(RENDER_EXTRA)
    allowed = {
        module for module, dists in by_module.items() if {canonical(d) for d in dists} & declared
    }
    assert len(installed_modules()) > 40  # the walk found the package's modules
    assert violations(allowed) == []


def test_the_walk_catches_a_core_module_importing_render(tmp_path, monkeypatch):
    """The layering check fails for the imports it is there to catch."""
    import import_layers

    core = tmp_path / "cli.py"
    core.write_text("def main():\n    from semges.render import write_bvh\n    import training\n")
    monkeypatch.setattr(import_layers, "installed_modules", lambda: {"semges.cli": core})
    found = import_layers.violations(set())
    assert len(found) == 2 and "render layer" in found[0] and "training" in found[1]


def test_only_semges_is_installed():
    """From outside the repository only ``semges`` imports: the training code, demo and
    benchmarks keep their generic names out of site-packages (the renderer is semges.render)."""
    code = (
        "import importlib.util as u\n"
        f"print([n for n in ('semges', 'semges.render') + {RUN_FROM_THE_REPOSITORY!r} "
        "if u.find_spec(n)])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd="/", capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "['semges', 'semges.render']"
