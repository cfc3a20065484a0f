import subprocess
import sys

from import_probe import modules_loaded_by

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
