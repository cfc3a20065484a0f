"""The Hugging Face Space as it builds: requirements.txt alone, then ``python app.py``.

A Space installs ``requirements.txt`` before the repository is there, into a bare Python,
then runs ``app.py`` from a folder holding the repository's files. Here: a fresh venv (no
system site-packages, no repository install), the Space's files copied to a temp folder, the
shipped checkpoint served, one HTTP request answered.

This machine reaches PyPI only: when download.pytorch.org does not resolve, the CPU index
line is dropped and ``torch==2.13.0+cpu`` comes from pip's local wheel (find-links), as
``make`` does. Everything else comes from the package indexes, so this takes minutes.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from test_app import REPO
from test_app_server import UNBUFFERED, free_port, stop_server, wait_until_serving

pytestmark = pytest.mark.slow

SPACE_FILES = ["app.py", "webapp", "semges", "assets", "requirements.txt", "packages.txt"]
CPU_INDEX_HOST = "download.pytorch.org"
INSTALL_TIMEOUT_S = 900
NOT_FOR_THE_SPACE = ("pytest", "playwright", "tensorboard", "omegaconf", "semges")


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


def test_requirements_alone_install_and_serve_the_space(tmp_path):
    space = copy_space(tmp_path / "space")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    requirements = space_requirements(space / "requirements.txt", tmp_path / "requirements.txt")
    env = {
        key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-compile", "-r", str(requirements)],
        cwd=space,
        env=env,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
    )
    assert install.returncode == 0, install.stderr[-4000:]

    listed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    installed = {entry["name"].lower(): entry["version"] for entry in json.loads(listed.stdout)}
    assert installed["torch"].endswith("+cpu")
    assert not [name for name in installed if name.startswith("nvidia-")]
    assert not [name for name in NOT_FOR_THE_SPACE if name in installed]

    port = free_port()
    log = tmp_path / "app.log"
    app_env = {
        **env,
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_TEMP_DIR": str(tmp_path / "gradio"),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "SEMGES_APP_OUTPUT": str(tmp_path / "requests"),
        **UNBUFFERED,
    }
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [str(python), "app.py"], cwd=space, env=app_env, stdout=output, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_serving(url, process, log)
        with urllib.request.urlopen(url + "config", timeout=10) as response:
            config = json.load(response)
    finally:
        stop_server(process)
    assert config["title"].startswith("semges")
    assert any(dependency.get("api_name") == "generate" for dependency in config["dependencies"])
    assert "Traceback" not in log.read_text(), log.read_text()[-4000:]
