import subprocess
import sys

HEAVY_OR_FOREIGN = ("gradio", "pyrender", "OpenGL", "training", "render", "tensorboard",
                    "faster_whisper", "transformers", "librosa")


def test_importing_semges_stays_light():
    code = (
        "import sys, semges, semges.pipeline, semges.models, semges.motion, semges.layout\n"
        f"print(','.join(m for m in {HEAVY_OR_FOREIGN!r} if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
