"""The private APIs of our dependencies that the code still uses, each at a pinned version:
these tests fail, with a message that says what to do, when an upgrade changes one."""

from __future__ import annotations

import importlib.metadata
import inspect
import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SPLIT_PARAMETERS = [
    "self",
    "tokenizer",
    "tokens",
    "time_offset",
    "segment_size",
    "segment_duration",
    "seek",
]


def pinned(requirements: list[str], distribution: str) -> str | None:
    for line in requirements:
        match = re.match(rf"^{re.escape(distribution)}==([\w.]+)", line.strip(), re.IGNORECASE)
        if match:
            return match.group(1)
    return None


def requirement_lines() -> dict[str, list[str]]:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    return {
        "pyproject.toml": pyproject,
        "requirements.txt": (REPO / "requirements.txt").read_text().splitlines(),
    }


def test_faster_whisper_is_pinned_where_its_private_split_is_used():
    installed = importlib.metadata.version("faster-whisper")
    for source, lines in requirement_lines().items():
        assert pinned(lines, "faster-whisper") == installed, (
            f"{source} must pin faster-whisper=={installed}: semges.speech.recognition calls "
            "its private WhisperModel._split_segments_by_timestamps"
        )


def test_faster_whispers_private_split_keeps_the_signature_we_call():
    from faster_whisper import WhisperModel

    split = getattr(WhisperModel, "_split_segments_by_timestamps", None)
    assert split is not None, (
        "faster-whisper no longer has WhisperModel._split_segments_by_timestamps, which "
        "semges.speech.recognition (RecognitionSession._decode) calls: port that call to the "
        "new version, then update the pin in pyproject.toml and requirements.txt"
    )
    parameters = list(inspect.signature(split).parameters)
    assert parameters == SPLIT_PARAMETERS, (
        f"faster-whisper changed the private WhisperModel._split_segments_by_timestamps"
        f"{tuple(parameters)} (was {tuple(SPLIT_PARAMETERS)}): semges.speech.recognition "
        "calls it by these keywords; port the call, then update the pin"
    )


def test_gradio_is_pinned_where_its_private_queue_is_read():
    installed = importlib.metadata.version("gradio")
    assert pinned(requirement_lines()["requirements.txt"], "gradio") == installed, (
        f"requirements.txt must pin gradio=={installed}: webapp.ui.gradio_queue reads the "
        "private Blocks._queue"
    )


def test_gradios_private_queue_still_counts_who_waits():
    import gradio as gr

    from webapp.ui import gradio_queue, waiting_requests

    with gr.Blocks() as demo:
        gr.Markdown("queue")
    demo.queue(max_size=7, default_concurrency_limit=2)
    try:
        queue = gradio_queue(demo)
    except AttributeError as error:
        raise AssertionError(
            "gradio no longer keeps its queue in Blocks._queue (webapp.ui.gradio_queue): "
            "find its new place, or a public way to count waiting requests, then update "
            "the pin in requirements.txt"
        ) from error
    assert (queue.max_size, queue.default_concurrency_limit) == (7, 2), (
        "gradio's private queue no longer holds demo.queue()'s max_size and "
        "default_concurrency_limit (webapp.ui.gradio_queue, tests/test_app.py)"
    )
    assert waiting_requests(demo) == 0, "len(Blocks._queue) no longer counts waiting requests"


def test_the_upload_folder_rule_is_gradios(monkeypatch, tmp_path):
    """webapp.downloads.gradio_upload_folder follows Gradio's documented GRADIO_TEMP_DIR rule;
    compared here with Gradio's own (private) function."""
    from gradio.utils import get_upload_folder

    from webapp.downloads import UPLOAD_FOLDER_ENV, gradio_upload_folder

    message = (
        "gradio's upload folder rule changed (gradio.utils.get_upload_folder): update "
        "webapp.downloads.gradio_upload_folder"
    )
    monkeypatch.delenv(UPLOAD_FOLDER_ENV, raising=False)
    assert gradio_upload_folder() == Path(get_upload_folder()), message
    monkeypatch.setenv(UPLOAD_FOLDER_ENV, str(tmp_path))
    assert gradio_upload_folder() == Path(get_upload_folder()) == tmp_path, message
