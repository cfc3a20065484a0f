"""Operator settings of the web demo, read once from the environment at start-up."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from semges.render.bodies import SMPLX_MODEL_ENV
from semges.shipped_checkpoint import DEFAULT_CHECKPOINT_DIR

EXAMPLES_FOLDER = Path(__file__).resolve().parent.parent / "assets" / "examples"
BYTES_PER_MB = 1024 * 1024  # "MB" as Gradio's upload limit counts it


class SettingsError(ValueError):
    """An environment variable holds a value the demo cannot use."""


def _env_int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be >= {minimum}, got {value}")
    return value


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class AppSettings:
    """Everything the demo needs to know before it loads a model.

    Each field has an environment variable (in brackets) so a Space or a container can be
    configured without code changes.
    """

    checkpoint: Path = DEFAULT_CHECKPOINT_DIR  # [SEMGES_CHECKPOINT] pipeline folder
    output_root: Path = Path(tempfile.gettempdir()) / "semges-demo"  # [SEMGES_APP_OUTPUT]
    smplx_model: Path | None = None  # [SEMGES_SMPLX_MODEL] SMPL-X model file; None: mannequin only
    max_audio_seconds: int = 60  # [SEMGES_APP_MAX_SECONDS] longer uploads are refused
    max_upload_mb: int = 50  # [SEMGES_APP_MAX_UPLOAD_MB] larger files are refused before decoding
    max_transcript_words: int = 1000  # [SEMGES_APP_MAX_WORDS] longer typed transcripts are refused
    keep_minutes: int = 30  # [SEMGES_APP_KEEP_MINUTES] request folders older than this are deleted
    queue_size: int = 16  # [SEMGES_APP_QUEUE_SIZE] requests waiting beyond this are turned away
    concurrency: int = 2  # [SEMGES_APP_CONCURRENCY] requests worked on at once
    share: bool = False  # [SEMGES_APP_SHARE] create a public gradio.live link
    live_sessions: int = 1  # [SEMGES_APP_LIVE_SESSIONS] live speakers at once; others: "busy"
    live_idle_seconds: int = 10  # [SEMGES_APP_LIVE_IDLE_SECONDS] a silent client's session ends
    # [SEMGES_APP_LIVE_NO_WORDS] 1: live gestures from the audio alone, no recognition thread
    live_words: bool = True

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * BYTES_PER_MB

    @classmethod
    def from_env(cls) -> AppSettings:
        defaults = cls()
        smplx = os.environ.get(SMPLX_MODEL_ENV, "").strip()
        return cls(
            checkpoint=Path(os.environ.get("SEMGES_CHECKPOINT", "").strip() or defaults.checkpoint),
            output_root=Path(
                os.environ.get("SEMGES_APP_OUTPUT", "").strip() or defaults.output_root
            ),
            smplx_model=Path(smplx) if smplx else None,
            max_audio_seconds=_env_int("SEMGES_APP_MAX_SECONDS", defaults.max_audio_seconds, 1),
            max_upload_mb=_env_int("SEMGES_APP_MAX_UPLOAD_MB", defaults.max_upload_mb, 1),
            max_transcript_words=_env_int("SEMGES_APP_MAX_WORDS", defaults.max_transcript_words, 1),
            keep_minutes=_env_int("SEMGES_APP_KEEP_MINUTES", defaults.keep_minutes, 1),
            queue_size=_env_int("SEMGES_APP_QUEUE_SIZE", defaults.queue_size, 1),
            concurrency=_env_int("SEMGES_APP_CONCURRENCY", defaults.concurrency, 1),
            share=_env_flag("SEMGES_APP_SHARE"),
            live_sessions=_env_int("SEMGES_APP_LIVE_SESSIONS", defaults.live_sessions, 1),
            live_idle_seconds=_env_int(
                "SEMGES_APP_LIVE_IDLE_SECONDS", defaults.live_idle_seconds, 1
            ),
            live_words=not _env_flag("SEMGES_APP_LIVE_NO_WORDS"),
        )
