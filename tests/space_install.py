"""The Hugging Face Space's install (``pip install -r requirements.txt`` into a bare venv),
started when the session begins and waited for by ``test_space_install.py``.

The install is a minute and a half of pip (unpacking torch, gradio, transformers) that needs
nothing from the other tests, so ``conftest.py`` runs the browser tests first (they bound frame
rates and latencies), starts the install in the background once they are done, and runs the
test last, which finds it done or nearly so. It runs at normal priority beside the remaining
tests, which check behaviour, not timings: at ``SCHED_IDLE`` (only on a core no test wants) a
suite that keeps both cores busy left it all to the end (the Space's test waited 51 s for it
in a fresh clone). Run alone, the test starts it itself and waits the whole time.

A Space installs ``requirements.txt`` before the repository is there, into a bare Python, then
runs ``app.py`` from a folder holding the repository's files. Here: a fresh venv (no system
site-packages, no repository install), the Space's files copied to a temp folder.

This machine reaches PyPI only: when download.pytorch.org does not resolve, the CPU index line
is dropped and ``torch==2.13.0+cpu`` comes from pip's local wheel (find-links), as ``make``
does. Everything else comes from the package indexes.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SPACE_FILES = ["app.py", "webapp", "semges", "assets", "requirements.txt", "packages.txt"]
CPU_INDEX_HOST = "download.pytorch.org"
INSTALL_TIMEOUT_S = 900


def resolves(host: str) -> bool:
    try:
        socket.getaddrinfo(host, 443)
    except OSError:
        return False
    return True


def space_requirements(source: Path, target: Path) -> Path:
    """requirements.txt as the Space reads it, less the CPU index where it cannot be reached."""
    lines = source.read_text().splitlines()
    if not resolves(CPU_INDEX_HOST):
        lines = [line for line in lines if not line.startswith("--extra-index-url")]
    target.write_text("\n".join(lines) + "\n")
    return target


def copy_space(folder: Path) -> Path:
    """The files a Space serves from, and nothing else (no tests, training, pyproject)."""
    folder.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in SPACE_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, folder / name, ignore=ignore)
        else:
            shutil.copy2(source, folder / name)
    return folder


def space_environment() -> dict[str, str]:
    """This process's environment without what would point the venv at the repository's."""
    return {
        key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")
    }


@dataclass
class SpaceInstall:
    """A Space folder and a venv into which pip is installing ``requirements.txt``."""

    root: Path
    space: Path
    python: Path
    process: subprocess.Popen
    log: Path

    @classmethod
    def begin(cls) -> SpaceInstall:
        """Copy the Space's files, make the venv and start pip (in the background)."""
        root = Path(tempfile.mkdtemp(prefix="semges-space-"))
        space = copy_space(root / "space")
        venv = root / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        python = venv / "bin" / "python"
        requirements = space_requirements(space / "requirements.txt", root / "requirements.txt")
        log = root / "pip.log"
        with open(log, "wb") as output:
            process = subprocess.Popen(
                [
                    str(python),
                    "-m",
                    "pip",
                    "install",
                    "-q",
                    "--no-compile",
                    "-r",
                    str(requirements),
                ],
                cwd=space,
                env=space_environment(),
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        return cls(root, space, python, process, log)

    def wait(self) -> tuple[int, str]:
        """pip's exit status and the end of its output, once it has finished."""
        returncode = self.process.wait(timeout=INSTALL_TIMEOUT_S)
        return returncode, self.log.read_text(errors="replace")[-4000:]

    def discard(self) -> None:
        """Stop pip if it still runs, and remove the folder."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)
