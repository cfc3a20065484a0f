"""The package as a new user gets it: a wheel installed (not editable) into a fresh virtual
environment, run from a folder outside the repository.

The environment is made with ``venv --without-pip``; a ``.pth`` file lends it the test
environment's site-packages (torch and the rest are not downloaded again), and pip, run with
``--no-index``, installs the wheel into it: with ``[render]`` the resolver checks that the
extra's packages are there; without it, an import blocker hides them, as on a machine where
they were never installed. Nothing of the repository is on the path: the editable install's
finder is in a folder that is only appended to ``sys.path``, so its ``.pth`` never runs.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import site
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from test_packaging import RENDER_EXTRA, canonical, declared_distributions

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent
SPEECH = TESTS / "data" / "2_scott_0_1_1_excerpt.wav"
CHECKPOINT = REPO / "assets" / "checkpoint"
INSTALL_HINT = "pip install 'semges[render]'"
BLOCKER = '''import importlib.abc, sys
class HideRenderExtra(importlib.abc.MetaPathFinder):
    """As if the render extra's packages were not installed."""
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {hidden!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, HideRenderExtra())
'''


def _name(requirement: str) -> str:
    return canonical(re.split(r"[<>=!~\[ ;(]", requirement.strip(), maxsplit=1)[0])


def core_closure(project: dict) -> set[str]:
    """The distributions the core's dependencies bring, transitively (markers ignored)."""
    todo, seen = [_name(r) for r in project["dependencies"]], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            todo += [
                _name(r) for r in importlib.metadata.requires(name) or [] if "extra ==" not in r
            ]
        except importlib.metadata.PackageNotFoundError:
            continue
    return seen


def render_extra_modules() -> set[str]:
    """Top-level modules of the distributions that pyproject's render extra adds to what the
    core brings (scipy, for one, comes with librosa either way)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extra = {_name(r) for r in project["optional-dependencies"]["render"]}
    extra -= core_closure(project)
    return {
        module
        for module, dists in importlib.metadata.packages_distributions().items()
        if {_name(d) for d in dists} & extra and not module.startswith("_")
    }


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel of the project, built from a copy of what it packages (the repository keeps no
    build folder)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(
        REPO / "semges", source / "semges", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    (found,) = out.glob("semges-*.whl")
    return found


def fresh_venv(root: Path, wheel: Path, with_extra: bool) -> Path:
    """A new environment with the wheel installed (with the render extra, or with its
    packages hidden); returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / "venv")], check=True)
    python = root / "venv" / "bin" / "python"
    site_packages = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    lent = [p for p in site.getsitepackages() if Path(p).is_dir()]
    lines = list(lent)
    if not with_extra:
        blocker = root / "blocker"
        blocker.mkdir()
        (blocker / "hide_render_extra.py").write_text(
            BLOCKER.format(hidden=sorted(render_extra_modules()))
        )
        lines = [str(blocker), *lines, "import hide_render_extra"]
    (site_packages / "lent_test_packages.pth").write_text("\n".join(lines) + "\n")
    requirement = f"semges{'[render]' if with_extra else ''} @ {wheel.as_uri()}"
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-index", "--no-compile", requirement],
        check=True,
        capture_output=True,
        cwd=root,
    )
    return python


def run_outside(
    python: Path, folder: Path, *args: str | os.PathLike
) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    return subprocess.run(
        [python, *map(str, args)], cwd=folder, env=env, capture_output=True, text=True, timeout=300
    )


def speech_folder(tmp_path: Path) -> Path:
    """A folder outside the repository holding speech.wav (a real 6.5 s BEAT2 excerpt)."""
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(SPEECH, work / "speech.wav")
    return work


def generate(python: Path, work: Path, *exports: str) -> subprocess.CompletedProcess:
    """``python -m semges generate speech.wav -o out.npz [--glb --bvh]`` in ``work``."""
    return run_outside(
        python,
        work,
        "-m",
        "semges",
        "generate",
        "speech.wav",
        "-o",
        "out.npz",
        *exports,
        "--checkpoint",
        CHECKPOINT,
    )


def test_with_the_render_extra_generate_writes_npz_glb_vrma_and_bvh(tmp_path, wheel):
    python = fresh_venv(tmp_path, wheel, with_extra=True)
    work = speech_folder(tmp_path)
    where = run_outside(python, work, "-c", "import semges; print(semges.__file__)")
    assert Path(where.stdout.strip()).is_relative_to(tmp_path / "venv"), where
    result = generate(python, work, "--glb", "--vrma", "--bvh")
    assert result.returncode == 0, result.stderr
    for name in ("out.npz", "out.words.json", "out.glb", "out.vrma", "out.bvh"):
        assert (work / name).stat().st_size > 0, name
    assert (work / "out.glb").read_bytes()[:4] == b"glTF"
    assert (work / "out.bvh").read_text().startswith("HIERARCHY")
    # the installed copy keeps the layering too (tests/import_layers.py, run by that python)
    declared = declared_distributions(RENDER_EXTRA)
    allowed = {
        module
        for module, dists in importlib.metadata.packages_distributions().items()
        if {canonical(d) for d in dists} & declared
    }
    layers = run_outside(python, work, TESTS / "import_layers.py", *sorted(allowed))
    report = json.loads(layers.stdout)
    assert report["modules"] > 40 and report["violations"] == [], layers.stderr


def test_without_the_extra_an_export_names_it_in_one_line(tmp_path, wheel):
    python = fresh_venv(tmp_path, wheel, with_extra=False)
    work = speech_folder(tmp_path)
    hidden = run_outside(python, work, "-c", "import pyrender")
    assert "No module named 'pyrender'" in hidden.stderr  # the blocker works
    assert {"pyrender", "OpenGL", "pygltflib"} <= render_extra_modules()
    result = generate(python, work, "--glb", "--bvh")
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert INSTALL_HINT in result.stderr and "Traceback" not in result.stderr
    assert sorted(p.name for p in work.iterdir()) == ["speech.wav"]  # nothing half-written
    render = run_outside(python, work, "-m", "semges.render", "out.npz", "--bvh", "-o", "out.bvh")
    assert render.returncode == 1 and len(render.stderr.strip().splitlines()) == 1
    assert INSTALL_HINT in render.stderr
    plain = generate(python, work)  # the core needs no extra
    assert plain.returncode == 0, plain.stderr
    assert (work / "out.npz").is_file() and (work / "out.words.json").is_file()
