"""Play speech through a :class:`~semges.live.generator.LiveGenerator` as a live source
would, and measure it: the command line's ``semges live`` and ``benchmarks/live.py``.

A source yields pieces of audio, each with the wall-clock time it arrived: a file played at
real-time pace (each piece handed over when its last sample would have been spoken), a file
as fast as possible, or the microphone. :func:`run_stream` pushes every piece, collects the
final frames and times them: a frame's latency is the time from the arrival of the piece that
held its audio instant (frame i: ``i / 30`` s) to the frame being ready.
"""

from __future__ import annotations

import platform
import resource
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field

import numpy as np

from semges import layout
from semges.live.features import frame_sample
from semges.live.generator import LiveGenerator
from semges.motion import MotionClip
from semges.speech.audio import SAMPLE_RATE

PERCENTILES = (50, 95)


@dataclass(frozen=True)
class Piece:
    samples: np.ndarray  # float32 mono 16 kHz
    arrived: float  # time.perf_counter() when it arrived


def file_pieces(
    samples: np.ndarray,
    piece_range_s: tuple[float, float],
    realtime: bool,
    seed: int = 0,
) -> Iterator[Piece]:
    """``samples`` in pieces of random lengths within ``piece_range_s`` (seconds; equal ends:
    one length), handed over at real-time pace when ``realtime`` (a piece arrives when its
    last sample would have been spoken), else at once."""
    low, high = piece_range_s
    if not 0 < low <= high:
        raise ValueError(f"piece lengths must be 0 < low <= high seconds, got {piece_range_s}")
    rng = np.random.default_rng(seed)
    start_wall = time.perf_counter()
    position = 0
    while position < samples.shape[0]:
        length = max(1, round(rng.uniform(low, high) * SAMPLE_RATE))
        piece = samples[position : position + length]
        position += piece.shape[0]
        if realtime:
            due = start_wall + position / SAMPLE_RATE
            time.sleep(max(0.0, due - time.perf_counter()))
        yield Piece(piece, time.perf_counter())


@dataclass
class StreamReport:
    """What a live run measured; ``benchmarks/live.py`` and ``semges live --report`` write it."""

    frames: int
    expected_frames: int
    audio_s: float
    lookahead_s: float
    latency_p50_s: float
    latency_p95_s: float
    latency_max_s: float
    compute_s_per_audio_s: float  # the steps' time and the word recognition thread's
    step_compute_s_per_audio_s: float  # the steps alone (the caller's thread)
    recognition_s_per_audio_s: float  # the word recognition thread alone
    cpu_load: float  # process CPU seconds per wall second over the run (2 cores: up to 2)
    pieces: int
    piece_range_s: tuple[float, float]
    realtime: bool
    peak_rss_mb: float
    words: dict[str, object] = field(default_factory=dict)  # LiveGenerator.word_statistics
    machine: dict[str, object] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def machine_description() -> dict[str, object]:
    import os

    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }


def run_stream(
    live: LiveGenerator,
    pieces: Iterator[Piece],
    piece_range_s: tuple[float, float],
    realtime: bool,
    on_frames: Callable[[MotionClip], None] | None = None,
) -> tuple[MotionClip, StreamReport]:
    """Push every piece, then flush; returns the whole motion and the measurements."""
    arrivals: list[tuple[int, float]] = []  # (first sample after the piece, its arrival)
    ready: list[np.ndarray] = []  # per frame: when it was ready
    clips: list[MotionClip] = []
    compute = 0.0
    received = 0
    wall_start, cpu_start = time.perf_counter(), time.process_time()
    count = 0
    for piece in pieces:
        count += 1
        received += piece.samples.shape[0]
        arrivals.append((received, piece.arrived))
        started = time.perf_counter()
        for clip in live.push_steps(piece.samples):  # each step's frames as soon as ready
            done = time.perf_counter()
            compute += done - started
            _collect(clip, done, clips, ready, on_frames)
            started = time.perf_counter()
        compute += time.perf_counter() - started
    started = time.perf_counter()
    clip = live.flush()
    done = time.perf_counter()
    compute += done - started
    _collect(clip, done, clips, ready, on_frames)
    wall = time.perf_counter() - wall_start
    cpu = time.process_time() - cpu_start
    motion = MotionClip.concatenate(clips) if clips else MotionClip.rest(0)
    ready_at = np.concatenate(ready) if ready else np.zeros(0)
    latency = ready_at - _arrival_of_frames(arrivals, motion.num_frames)
    audio_s = received / SAMPLE_RATE
    p50, p95 = np.percentile(latency, PERCENTILES) if latency.size else (float("nan"),) * 2
    words = live.word_statistics()
    per_audio_s = 1.0 / max(audio_s, 1e-9)
    report = StreamReport(
        frames=motion.num_frames,
        expected_frames=layout.num_motion_frames(received, SAMPLE_RATE),
        audio_s=round(audio_s, 3),
        lookahead_s=round(live.lookahead_s, 3),
        latency_p50_s=round(float(p50), 3),
        latency_p95_s=round(float(p95), 3),
        latency_max_s=round(float(latency.max()) if latency.size else float("nan"), 3),
        compute_s_per_audio_s=round((compute + words["recognition_s"]) * per_audio_s, 3),
        step_compute_s_per_audio_s=round(compute * per_audio_s, 3),
        recognition_s_per_audio_s=round(words["recognition_s"] * per_audio_s, 3),
        cpu_load=round(cpu / max(wall, 1e-9), 3),
        pieces=count,
        piece_range_s=piece_range_s,
        realtime=realtime,
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        words=words,
        machine=machine_description(),
    )
    return motion, report


def _collect(
    clip: MotionClip,
    done: float,
    clips: list[MotionClip],
    ready: list[np.ndarray],
    on_frames: Callable[[MotionClip], None] | None,
) -> None:
    if clip.num_frames == 0:
        return
    clips.append(clip)
    ready.append(np.full(clip.num_frames, done))
    if on_frames is not None:
        on_frames(clip)


def _arrival_of_frames(arrivals: list[tuple[int, float]], num_frames: int) -> np.ndarray:
    """(num_frames,) when the audio instant of each frame arrived: the arrival of the first
    piece that ended after it (frames past the audio: the last piece's)."""
    ends = np.array([end for end, _ in arrivals], np.int64)
    times = np.array([arrived for _, arrived in arrivals])
    samples = frame_sample(np.arange(num_frames, dtype=np.int64))
    which = np.minimum(np.searchsorted(ends, samples, side="right"), len(times) - 1)
    return times[which]
