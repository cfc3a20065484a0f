"""The Hugging Face Space as it builds: requirements.txt alone, then ``python app.py``.

The install (``space_install.py``: a bare venv, the Space's files, ``pip install -r
requirements.txt``) runs in the background after the browser tests (``conftest.py``); this
test waits for it, checks what pip installed, serves the shipped checkpoint with ``app.py``
and asks it one HTTP request.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request

import pytest
from space_install import space_environment
from test_app_server import UNBUFFERED, free_port, stop_server, wait_until_serving

pytestmark = pytest.mark.slow

NOT_FOR_THE_SPACE = ("pytest", "playwright", "tensorboard", "omegaconf", "semges")


def test_requirements_alone_install_and_serve_the_space(space_install, tmp_path):
    returncode, pip_output = space_install.wait()
    assert returncode == 0, pip_output
    python, space = space_install.python, space_install.space
    env = space_environment()

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
