import subprocess
import sys
from pathlib import Path

from import_probe import modules_loaded_by

REPO = Path(__file__).resolve().parent.parent

HEAVY_OR_FOREIGN = (
    "gradio",
    "pyrender",
    "OpenGL",
    "training",
    "render",
    "semges.render",
    "tensorboard",
    "faster_whisper",
    "transformers",
    "librosa",
)


def test_importing_semges_stays_light():
    imports = (
        "import semges, semges.pipeline, semges.models, semges.motion, semges.layout, "
        "semges.export, semges.cli, semges.batch_command"
    )
    assert modules_loaded_by(imports, HEAVY_OR_FOREIGN) == []


TRAINING_COMMANDS = (
    "training.vqvae",
    "training.generator",
    "training.face",
    "training.evaluate",
    "training.default_checkpoint",
    "training.fgd_autoencoder",
)


def test_training_commands_answer_help_and_usage_errors_without_torch():
    """Each training command's parser runs (``--help`` and a bad argument) with torch unloaded,
    and the model configs import without torch."""
    code = (
        "import importlib, sys\n"
        "from semges.models import FaceConfig, GeneratorConfig, VQVAEConfig\n"
        "import training.config\n"
        f"for name in {TRAINING_COMMANDS!r}:\n"
        "    for argv in (['--help'], ['--no-such-option']):\n"
        "        try:\n"
        "            importlib.import_module(name).main(argv)\n"
        "        except SystemExit:\n"
        "            pass\n"
        "        else:\n"
        "            raise AssertionError(f'{name} {argv} did not exit')\n"
        "print('LOADED:' + ','.join(m for m in ('torch', 'semges.pipeline') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert "usage:" in result.stdout and "unrecognized arguments" in result.stderr
    assert result.stdout.strip().splitlines()[-1] == "LOADED:"


def test_the_app_and_the_commands_choose_passive_openmp_threads_before_torch_loads():
    """``app.py`` and ``python -m semges`` set OMP_WAIT_POLICY while torch is still unloaded
    (the OpenMP runtime reads it once, when it loads); a policy the user chose is kept."""
    code = (
        "import os, sys\n"
        "os.environ.pop('OMP_WAIT_POLICY', None)\n"
        "sys.argv = ['semges']\n"
        "import app\n"
        "print(os.environ.pop('OMP_WAIT_POLICY', None), 'torch' in sys.modules)\n"
        "import semges.__main__\n"
        "print(os.environ.get('OMP_WAIT_POLICY'), 'torch' in sys.modules)\n"
        "os.environ['OMP_WAIT_POLICY'] = 'ACTIVE'\n"
        "from semges.openmp import prefer_passive_waits\n"
        "prefer_passive_waits()\n"
        "print(os.environ['OMP_WAIT_POLICY'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert result.stdout.split() == ["PASSIVE", "False", "PASSIVE", "False", "ACTIVE"]
