"""Stream RGB frames into ffmpeg: H.264 (libx264, yuv420p) with the speech muxed as AAC.

Frames go to ffmpeg's stdin as raw rgb24; no image file ever touches the disk. The video has
exactly one frame per motion frame and lasts ``num_frames / fps`` seconds; the audio is padded
with silence (``apad``) or cut (``-t``) to that duration. The mp4 is written under a temporary
name beside the target and renamed into place only when ffmpeg succeeds, so a failure never
leaves a half-written video behind.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import numpy as np

from semges.atomic_files import partial_path

logger = logging.getLogger(__name__)

VIDEO_CODEC: str = "libx264"
PIXEL_FORMAT: str = "yuv420p"
AUDIO_CODEC: str = "aac"
INPUT_CHANNELS: dict[str, int] = {"rgb24": 3, "rgba": 4}
DEFAULT_SIZE: tuple[int, int] = (720, 480)  # width, height: faster than real time on 2 cores
MIN_FRAME_SIDE: int = 16
MAX_FRAME_SIDE: int = 4096  # H.264 level 5.1's widest picture
_SIZE_PATTERN = re.compile(r"^(\d+)\s*[xX×]\s*(\d+)$")
_STDERR_TAIL_CHARS: int = 2000


class VideoEncodeError(RuntimeError):
    """ffmpeg failed, or was fed the wrong number of frames."""


@dataclass(frozen=True)
class EncoderSettings:
    """libx264 / AAC settings. ``crf``: 0 lossless .. 51 worst; ``preset``: x264 speed."""

    crf: int = 20
    preset: str = "veryfast"
    audio_bitrate: str = "128k"
    faststart: bool = True  # moov atom first, so browsers start playing before the end


def ffmpeg_executable() -> str:
    """Path of the ffmpeg binary bundled with ``imageio-ffmpeg``."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def check_frame_size(size: tuple[int, int], max_side: int = MAX_FRAME_SIDE) -> tuple[int, int]:
    """Validate (width, height) in pixels: even (yuv420p needs it) and MIN_FRAME_SIDE to
    ``max_side`` a side. Raises ValueError with words a user can act on."""
    width, height = size
    if not (MIN_FRAME_SIDE <= width <= max_side and MIN_FRAME_SIDE <= height <= max_side):
        raise ValueError(
            f"video size must be between {MIN_FRAME_SIDE} and {max_side} pixels a "
            f"side, got {width}x{height}"
        )
    if width % 2 or height % 2:
        raise ValueError(
            f"video width and height must be even numbers (H.264 needs it), got {width}x{height}"
        )
    return int(width), int(height)


def parse_frame_size(text: str, max_side: int = MAX_FRAME_SIDE) -> tuple[int, int]:
    """``"720x480"`` (or ``720×480``) -> (720, 480), checked by :func:`check_frame_size`."""
    match = _SIZE_PATTERN.match(text.strip())
    if not match:
        raise ValueError(f"video size must look like 720x480, got {text!r}")
    return check_frame_size((int(match.group(1)), int(match.group(2))), max_side)


def build_ffmpeg_command(
    output: Path,
    size: tuple[int, int],
    fps: int,
    num_frames: int,
    audio_path: Path | None,
    settings: EncoderSettings,
    input_pix_fmt: str = "rgb24",
    bottom_up: bool = False,
) -> list[str]:
    """The ffmpeg command line: raw frames on stdin (+ audio file) -> H.264/AAC mp4.

    input_pix_fmt: "rgb24" or "rgba" (alpha ignored); bottom_up: rows arrive bottom row first
    (OpenGL's read-back order), flipped by ffmpeg.
    """
    width, height = size
    duration = f"{num_frames / fps:.6f}"
    command = [
        ffmpeg_executable(),
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "rawvideo",
        "-pix_fmt",
        input_pix_fmt,
        "-s",
        f"{width}x{height}",
        "-framerate",
        str(fps),
        "-i",
        "pipe:0",
    ]
    if audio_path is not None:
        command += [
            "-i",
            str(audio_path),
            "-map",
            "0:v:0",
            "-map",
            "1:a:0",
            "-c:a",
            AUDIO_CODEC,
            "-b:a",
            settings.audio_bitrate,
            "-af",
            "apad",
        ]
    if bottom_up:
        command += ["-vf", "vflip"]
    command += [
        "-c:v",
        VIDEO_CODEC,
        "-preset",
        settings.preset,
        "-crf",
        str(settings.crf),
        "-pix_fmt",
        PIXEL_FORMAT,
        "-r",
        str(fps),
        "-frames:v",
        str(num_frames),
        "-t",
        duration,
    ]
    if settings.faststart:
        command += ["-movflags", "+faststart"]
    command += ["-f", "mp4", str(output)]
    return command


class VideoWriter:
    """Context manager: ``write(frame)`` exactly ``num_frames`` times, then leave the block.

    frame: (height, width, 3) uint8 RGB, or raw bytes in ``input_pix_fmt`` ("rgb24" or
    "rgba"), bottom row first when ``bottom_up``. On a clean exit the mp4 appears at
    ``out_path``; on an exception, or a wrong frame count, ffmpeg is stopped and nothing is
    left behind.
    """

    def __init__(
        self,
        out_path: str | os.PathLike,
        size: tuple[int, int],
        num_frames: int,
        fps: int,
        audio_path: str | os.PathLike | None = None,
        settings: EncoderSettings | None = None,
        input_pix_fmt: str = "rgb24",
        bottom_up: bool = False,
    ) -> None:
        if input_pix_fmt not in INPUT_CHANNELS:
            raise ValueError(f"input_pix_fmt must be one of {sorted(INPUT_CHANNELS)}")
        if num_frames <= 0:
            raise ValueError("a video needs at least one frame")
        self.out_path = Path(out_path)
        self.size = check_frame_size(size)
        self.num_frames = num_frames
        self.fps = fps
        self.audio_path = None if audio_path is None else Path(audio_path)
        if self.audio_path is not None and not self.audio_path.is_file():
            raise FileNotFoundError(f"audio file not found: {self.audio_path}")
        self.settings = settings or EncoderSettings()
        self.frames_written = 0
        self._partial = partial_path(self.out_path)
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr = None
        self.input_pix_fmt = input_pix_fmt
        self.bottom_up = bottom_up
        self._frame_bytes = self.size[0] * self.size[1] * INPUT_CHANNELS[input_pix_fmt]

    def __enter__(self) -> VideoWriter:
        self.out_path.parent.mkdir(parents=True, exist_ok=True)
        command = build_ffmpeg_command(
            self._partial,
            self.size,
            self.fps,
            self.num_frames,
            self.audio_path,
            self.settings,
            self.input_pix_fmt,
            self.bottom_up,
        )
        logger.debug("ffmpeg: %s", " ".join(command))
        self._stderr = tempfile.TemporaryFile()
        self._process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._stderr
        )
        return self

    def write(self, frame: np.ndarray | bytes | bytearray) -> None:
        """Send one frame: an (H, W, C) uint8 array or raw bytes in ``input_pix_fmt``."""
        assert self._process is not None and self._process.stdin is not None
        if isinstance(frame, (bytes, bytearray)):
            data = memoryview(frame)
        else:
            data = np.ascontiguousarray(frame, dtype=np.uint8).data.cast("B")
        if data.nbytes != self._frame_bytes:
            raise ValueError(
                f"frame has {data.nbytes} bytes, expected {self._frame_bytes} "
                f"({self.size[0]}x{self.size[1]} {self.input_pix_fmt})"
            )
        if self.frames_written >= self.num_frames:
            raise VideoEncodeError(f"more than the {self.num_frames} frames announced")
        try:
            self._process.stdin.write(data)
        except BrokenPipeError as error:
            raise VideoEncodeError(f"ffmpeg stopped early: {self._stderr_tail()}") from error
        self.frames_written += 1

    def _stderr_tail(self) -> str:
        if self._process is not None and self._process.poll() is None:
            self._process.wait()
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        text = self._stderr.read().decode("utf-8", "replace").strip()
        return text[-_STDERR_TAIL_CHARS:] or "(no message)"

    def _finish(self) -> None:
        assert self._process is not None and self._process.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self._process.stdin.close()
        code = self._process.wait()
        if code != 0:
            raise VideoEncodeError(f"ffmpeg exited with code {code}: {self._stderr_tail()}")
        if self.frames_written != self.num_frames:
            raise VideoEncodeError(
                f"{self.frames_written} frames written, {self.num_frames} announced"
            )
        os.replace(self._partial, self.out_path)

    def _abort(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        if self._process is not None and self._process.stdin is not None:
            with contextlib.suppress(BrokenPipeError, OSError):
                self._process.stdin.close()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self._finish()
            else:
                self._abort()
        except BaseException:
            self._abort()
            raise
        finally:
            self._partial.unlink(missing_ok=True)
            if self._stderr is not None:
                self._stderr.close()
