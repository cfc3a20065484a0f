"""Motion to video: framing pass, then posing, drawing and encoding overlapped.

One :class:`VideoRenderer` holds a body and an OpenGL context and serves many requests (the web
app keeps one loaded). For each video:

1. framing pass: pose the vertices that bound the view (positions only) for every frame, and
   fit one fixed camera (and the floor height) to them;
2. a posing thread fills a short queue with chunks of posed vertices and normals;
3. the drawing thread, which owns the GL context for the renderer's lifetime, turns them into
   frames, read back raw in OpenGL's own layout (llvmpipe rasterises with its own threads);
4. the calling thread streams the frames into ffmpeg, which flips, converts and encodes them
   in its own process.

So posing, drawing and encoding run at the same time on different cores.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import numpy as np

from semges import layout
from semges.render.bodies import BodyModel, BodySpec, load_body
from semges.render.framing import (
    DEFAULT_VIEW,
    VIEWS,
    CameraFit,
    CameraSetup,
    View,
    camera_rotation,
    check_view,
    facing_direction,
)
from semges.render.gl_platform import configure_headless_gl
from semges.render.offscreen import RawFormat
from semges.render.video_encoder import DEFAULT_SIZE, EncoderSettings, VideoWriter, check_frame_size

if TYPE_CHECKING:
    from semges.motion import MotionClip

logger = logging.getLogger(__name__)

FRAMING_CHUNK_FRAMES: int = 256  # frames per posing call in the framing pass
POSE_CHUNK_FRAMES: int = 16  # frames per posing call while drawing
PREFETCH_CHUNKS: int = 2  # posed chunks waiting for the drawing thread
FRAME_QUEUE_SIZE: int = 8  # drawn frames waiting for the encoder (1 MB each at 720x480)
_QUEUE_POLL_S: float = 0.1

DEFAULT_ENCODER = EncoderSettings()

ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(frames_done, frames_total)`` from the thread that renders the video."""


@dataclass(frozen=True)
class Framing:
    """A fixed camera for a whole clip, and the floor height (None: no floor drawn)."""

    camera: CameraSetup
    floor_y: float | None


class _Stop(Exception):
    """Internal: the consumer went away; background workers unwind quietly."""


def _put(target: queue.Queue, item: object, stop: threading.Event) -> None:
    while True:
        if stop.is_set():
            raise _Stop
        try:
            target.put(item, timeout=_QUEUE_POLL_S)
            return
        except queue.Full:
            continue


def _get(source: queue.Queue, stop: threading.Event) -> object:
    while True:
        if stop.is_set():
            raise _Stop
        try:
            return source.get(timeout=_QUEUE_POLL_S)
        except queue.Empty:
            continue


@dataclass(frozen=True)
class _Failure:
    error: BaseException


def check_motion(motion: MotionClip) -> None:
    """Raise ValueError unless ``motion`` has frames at the semges frame rate."""
    if motion.num_frames < 1:
        raise ValueError("the motion has no frames")
    if motion.fps != layout.FPS:
        raise ValueError(f"motion is at {motion.fps} fps; the renderer works at {layout.FPS} fps")


class VideoRenderer:
    """A body and an offscreen GL context, reusable across clips (one clip at a time).

    body: ``None`` (SMPL-X if ``$SEMGES_SMPLX_MODEL`` is set, else the mannequin),
    ``"mannequin"``, a path to ``SMPLX_NEUTRAL_2020.npz`` or a ``BodyModel``.
    size: (width, height) in pixels, even numbers.
    """

    def __init__(
        self,
        body: BodySpec = None,
        size: tuple[int, int] = DEFAULT_SIZE,
        encoder: EncoderSettings = DEFAULT_ENCODER,
        gl_platform: str | None = None,
    ) -> None:
        self.gl_platform = configure_headless_gl(gl_platform)
        self.size = check_frame_size(size)
        self.encoder = encoder
        self.body: BodyModel = load_body(body).with_face()  # the mannequin gets a mouth
        self._gl_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="semges-gl")
        self._frames = None  # FrameRenderer, created in the GL thread on first use
        self._closed = False
        self._busy = threading.RLock()  # one clip at a time: the body and GL state are shared

    # -- framing ---------------------------------------------------------------------------
    def frame(self, motion: MotionClip, view: str = DEFAULT_VIEW) -> Framing:
        """Fit one camera to every frame of ``motion`` for ``view`` ("upper" or "full")."""
        check_motion(motion)
        spec = VIEWS[check_view(view)]
        with self._busy:
            return self._fit(motion, spec)

    def _fit(self, motion: MotionClip, spec: View) -> Framing:
        rotation = camera_rotation(
            facing_direction(motion.poses[:, : layout.AXIS_ANGLE_DIM]), spec.pitch_rad
        )
        width, height = self.size
        fit = CameraFit(rotation, width / height, spec.margin)
        vertex_ids = self.body.framing_vertices(spec.upper_body_only)
        floor_ids = vertex_ids if not spec.upper_body_only else None
        floor = math.inf
        for start in range(0, motion.num_frames, FRAMING_CHUNK_FRAMES):
            stop = min(motion.num_frames, start + FRAMING_CHUNK_FRAMES)
            points = self.body.positions(motion, start, stop, vertex_ids)
            fit.update(points)
            if floor_ids is not None:
                floor = min(floor, float(points[..., 1].min()))
        return Framing(fit.camera(), floor if spec.show_floor else None)

    # -- drawing ---------------------------------------------------------------------------
    def _frame_renderer(self) -> object:
        if self._frames is None:
            from semges.render.offscreen import FrameRenderer

            self._frames = FrameRenderer(self.body.faces, self.body.vertex_colors, self.size)
        return self._frames

    def _pose_worker(
        self,
        motion: MotionClip,
        start: int,
        stop: int,
        chunks: queue.Queue,
        stop_event: threading.Event,
    ) -> None:
        try:
            for first in range(start, stop, POSE_CHUNK_FRAMES):
                last = min(stop, first + POSE_CHUNK_FRAMES)
                _put(chunks, self.body.pose(motion, first, last), stop_event)
        except _Stop:
            pass
        except BaseException as error:  # handed to the consumer, which re-raises it
            with contextlib.suppress(_Stop):
                _put(chunks, _Failure(error), stop_event)

    def _draw_worker(
        self,
        framing: Framing,
        num_frames: int,
        chunks: queue.Queue,
        frames: queue.Queue,
        stop_event: threading.Event,
    ) -> None:
        try:
            renderer = self._frame_renderer()
            renderer.set_view(framing.camera, framing.floor_y)
            drawn = 0
            while drawn < num_frames:
                chunk = _get(chunks, stop_event)
                if isinstance(chunk, _Failure):
                    _put(frames, chunk, stop_event)
                    return
                for index in range(chunk.num_frames):
                    vertices = chunk.vertices[index]
                    center = vertices.mean(axis=0)
                    image = renderer.render_raw(
                        vertices, chunk.normals[index], (float(center[0]), float(center[2]))
                    )
                    _put(frames, image, stop_event)
                drawn += chunk.num_frames
        except _Stop:
            pass
        except BaseException as error:
            with contextlib.suppress(_Stop):
                _put(frames, _Failure(error), stop_event)

    def render_frames(
        self,
        motion: MotionClip,
        view: str = DEFAULT_VIEW,
        start: int = 0,
        stop: int | None = None,
        framing: Framing | None = None,
    ) -> Iterator[np.ndarray]:
        """Frames ``start:stop`` of ``motion`` as (H, W, 3) uint8 RGB, in order (an iterator).

        The camera is fitted to the whole clip (not just the range) unless ``framing`` is
        given, so a still matches the same frame of the video. Close the iterator (or exhaust
        it) to release the renderer.
        """
        check_motion(motion)
        stop = motion.num_frames if stop is None else stop
        if not 0 <= start < stop <= motion.num_frames:
            raise ValueError(
                f"frame range {start}:{stop} outside a clip of {motion.num_frames} frames"
            )
        framing = framing or self.frame(motion, view)
        return self._rgb_stream(motion, framing, start, stop)

    def _raw_format(self) -> RawFormat:
        return self._start_gl().result()

    def _start_gl(self) -> Future[RawFormat]:
        """Create the GL context (first call only) in the drawing thread, without waiting."""
        if self._closed:
            raise RuntimeError("this VideoRenderer is closed")
        return self._gl_thread.submit(lambda: self._frame_renderer().raw_format)

    def _rgb_stream(
        self, motion: MotionClip, framing: Framing, start: int, stop: int
    ) -> Iterator[np.ndarray]:
        with self._busy:
            raw_format = self._raw_format()
            for data in self._stream(motion, framing, start, stop):
                yield raw_format.to_rgb(data, self.size)

    def _stream(
        self, motion: MotionClip, framing: Framing, start: int, stop: int
    ) -> Iterator[bytes]:
        """Raw frames (see ``FrameRenderer.raw_format``) ``start:stop``, in order."""
        stop_event = threading.Event()
        chunks: queue.Queue = queue.Queue(maxsize=PREFETCH_CHUNKS)
        frames: queue.Queue = queue.Queue(maxsize=FRAME_QUEUE_SIZE)
        poser = threading.Thread(
            target=self._pose_worker,
            name="semges-pose",
            daemon=True,
            args=(motion, start, stop, chunks, stop_event),
        )
        poser.start()
        drawing = self._gl_thread.submit(
            self._draw_worker, framing, stop - start, chunks, frames, stop_event
        )
        try:
            for _ in range(stop - start):
                item = _get(frames, stop_event)
                if isinstance(item, _Failure):
                    raise item.error
                yield item
        finally:
            stop_event.set()
            poser.join()
            drawing.result()

    def render_still(self, motion: MotionClip, frame: int, view: str = DEFAULT_VIEW) -> np.ndarray:
        """(H, W, 3) uint8: one frame, framed as in the whole clip's video."""
        frames = self.render_frames(motion, view, frame, frame + 1)
        try:
            return next(frames)
        finally:
            frames.close()

    # -- video -----------------------------------------------------------------------------
    def render_video(
        self,
        motion: MotionClip,
        out_path: str | os.PathLike,
        audio_path: str | os.PathLike | None = None,
        view: str = DEFAULT_VIEW,
        progress: ProgressCallback | None = None,
    ) -> Path:
        """Render ``motion`` to an H.264 mp4 at ``out_path``, with ``audio_path`` muxed as AAC.

        One video frame per motion frame at 30 fps; the audio is padded or cut to the motion's
        duration. Written atomically. An exception from ``progress`` cancels the render.
        Returns the output path.
        """
        check_motion(motion)
        check_view(view)
        if audio_path is not None and not Path(audio_path).is_file():
            raise FileNotFoundError(f"audio file not found: {audio_path}")
        total = motion.num_frames
        with self._busy:
            gl_ready = self._start_gl()  # the GL context starts while the camera is fitted
            framing = self.frame(motion, view)
            raw_format = gl_ready.result()
            with VideoWriter(
                out_path,
                self.size,
                total,
                motion.fps,
                audio_path,
                self.encoder,
                raw_format.pix_fmt,
                raw_format.bottom_up,
            ) as writer:
                frames = self._stream(motion, framing, 0, total)
                try:
                    for done, data in enumerate(frames, start=1):
                        writer.write(data)
                        if progress is not None:
                            progress(done, total)
                finally:
                    frames.close()
        logger.info("wrote %s (%d frames, %s view, %s body)", out_path, total, view, self.body.name)
        return Path(out_path)

    def close(self) -> None:
        """Free the GL context and the drawing thread (idempotent)."""
        if self._closed:
            return

        def release() -> None:
            if self._frames is not None:
                self._frames.close()
                self._frames = None

        with self._busy:
            self._closed = True
            self._gl_thread.submit(release).result()
            self._gl_thread.shutdown(wait=True)

    def __enter__(self) -> VideoRenderer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def render_video(
    motion: MotionClip,
    out_path: str | os.PathLike,
    audio_path: str | os.PathLike | None = None,
    size: tuple[int, int] = DEFAULT_SIZE,
    view: str = DEFAULT_VIEW,
    body: BodySpec = None,
    progress: ProgressCallback | None = None,
) -> Path:
    """One-shot :meth:`VideoRenderer.render_video` (builds and frees a renderer)."""
    with VideoRenderer(body, size) as renderer:
        return renderer.render_video(motion, out_path, audio_path, view, progress)
