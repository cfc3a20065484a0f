"""The imports of the installed ``semges`` package, read from its source files (every import
statement, those inside functions included), and the layering they must keep.

Layers: the core (every ``semges`` module outside ``semges.render``) never imports
``semges.render``: the export registry (``semges.export``) names the render layer's writers
by module path and imports them only when a render kind is written, and no command line of
the core needs more. ``semges.render`` imports the core and the packages of its extra. No
module imports a top-level package other than the standard library's, ``semges`` itself and
the distributions pyproject.toml declares (no ``render``, ``training``, ``webapp``,
``benchmarks``: they are not installed).

Run as a script (``python import_layers.py [ALLOWED_TOP_LEVEL ...]``) it prints the
violations of the ``semges`` it imports as JSON, so a test can ask an installed copy.
"""

from __future__ import annotations

import ast
import json
import pkgutil
import sys
from pathlib import Path

RENDER_LAYER = "semges.render"


def module_imports(path: Path, module: str) -> set[str]:
    """The absolute names ``module`` (source ``path``) imports."""
    names: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            names.add(base)
    return names - {"__future__"}


def installed_modules() -> dict[str, Path]:
    """{module name: source file} of every module of the imported ``semges`` package."""
    import semges

    modules = {"semges": Path(semges.__file__)}
    for info in pkgutil.walk_packages(semges.__path__, "semges."):
        spec = info.module_finder.find_spec(info.name, None)
        if spec is not None and spec.origin and spec.origin.endswith(".py"):
            modules[info.name] = Path(spec.origin)
    return modules


def in_render_layer(name: str) -> bool:
    return name == RENDER_LAYER or name.startswith(RENDER_LAYER + ".")


def violations(allowed_top_level: set[str]) -> list[str]:
    """Each import that breaks the layering, as 'module imports name (why)'."""
    found = []
    for module, path in sorted(installed_modules().items()):
        for name in sorted(module_imports(path, module)):
            top = name.split(".")[0]
            if in_render_layer(name) and not in_render_layer(module):
                found.append(f"{module} imports {name} (the core must not import the render layer)")
            elif (
                top != "semges"
                and top not in sys.stdlib_module_names
                and top not in allowed_top_level
            ):
                found.append(
                    f"{module} imports {name} (not the standard library's, semges's "
                    "or a declared dependency's)"
                )
    return found


if __name__ == "__main__":
    print(
        json.dumps(
            {"modules": len(installed_modules()), "violations": violations(set(sys.argv[1:]))}
        )
    )
