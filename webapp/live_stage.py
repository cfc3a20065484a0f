"""The Live page's sessions: who is on stage, their streaming generator, and what they may send.

A visitor who presses Start opens a :class:`LiveSession`: a ``semges.live.LiveGenerator`` of
their own (its stream state is theirs alone) and a :class:`~webapp.live_frames.FrameEncoder`.
Each piece of speech the page sends is checked (:func:`read_samples`), pushed into the
generator, and the frames that became final go back encoded. Stop flushes the rest and frees
the session.

The stage holds at most ``capacity`` sessions (``AppSettings.live_sessions``, 1 by default):
the generator must keep up with real time, and on the 2-core server one stream takes most of
the CPU, so a second speaker would make both fall behind. Whoever comes next is told the
stage is busy (:class:`StageBusy`) instead of getting a body that lags further every second.

A visitor who vanishes (tab closed, network gone) sends nothing more: a session that has
received nothing for ``idle_seconds`` is closed the next time anyone asks the stage for
anything, so a lost client frees the stage for the next one without a background thread.

Everything here is thread-safe: the HTTP routes call it from a thread pool.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from semges.motion import MotionClip
from semges.pipeline import SemGesPipeline
from semges.sampling import DEFAULT_TEMPERATURE
from semges.speakers import DEFAULT_SPEAKER
from webapp.live_frames import FrameEncoder
from webapp.memory import return_freed_memory
from webapp.settings import AppSettings

logger = logging.getLogger(__name__)

MAX_PIECE_SECONDS: float = 2.0  # the page sends 0.1-0.25 s; a longer piece is refused
MAX_SAMPLE_MAGNITUDE: float = 4.0  # float audio may overshoot 1 a little; PCM read as float
# does not stay near [-1, 1] (its bytes land in the exponent), so this tells the two apart
SESSION_ID_BYTES: int = 16
LIVE_UNAVAILABLE = (
    "Live gestures are not available on this server: its checkpoint has no live models "
    "(python -m training.live trains them). The Generate page works as usual."
)
BUSY_MESSAGE = (
    "The stage is busy: someone else is speaking live right now, and this server can follow "
    "one voice at a time. Please try again in a few minutes."
)


class LiveStream(Protocol):
    """What the stage needs of ``semges.live.LiveGenerator`` (its documented contract)."""

    sample_rate: int
    lookahead_s: float
    frames_emitted: int
    next_step_samples: int

    def push(self, samples: np.ndarray) -> MotionClip: ...

    def flush(self) -> MotionClip: ...

    def close(self) -> None: ...


StreamFactory = Callable[[], LiveStream]


class LiveError(ValueError):
    """A live request the stage cannot serve; the message is written for the visitor."""


class StageBusy(LiveError):
    """Every place on the stage is taken."""


class LiveUnavailable(LiveError):
    """The server cannot stream at all (its checkpoint has no live models)."""


class SessionGone(LiveError):
    """The session does not exist (never opened, stopped, or closed for being idle)."""


class BadAudio(LiveError):
    """A piece of audio that is not what the page must send."""


class PieceTooLarge(BadAudio):
    """A piece longer than :data:`MAX_PIECE_SECONDS`."""


def read_samples(payload: bytes, sample_rate: int) -> np.ndarray:
    """(N,) float32 samples of one piece: little-endian float32 mono at ``sample_rate``.

    Raises PieceTooLarge above :data:`MAX_PIECE_SECONDS`, BadAudio for an empty piece, a
    length that is not whole float32 samples, or values no float32 audio has (NaN, infinity,
    far beyond full scale: what 16-bit PCM bytes look like when read as float32).
    """
    if len(payload) > max_piece_bytes(sample_rate):
        raise piece_too_large(f"{len(payload):,} bytes", sample_rate)
    itemsize = np.dtype(np.float32).itemsize
    if not payload or len(payload) % itemsize:
        raise BadAudio(
            f"An audio piece must be whole float32 samples (a multiple of {itemsize} bytes), "
            f"got {len(payload):,} bytes."
        )
    samples = np.frombuffer(payload, "<f4")
    if not np.isfinite(samples).all() or float(np.abs(samples).max()) > MAX_SAMPLE_MAGNITUDE:
        raise BadAudio(
            f"The audio is not float32 samples in [-1, 1] at {sample_rate} Hz (16-bit PCM "
            "or another format?): send little-endian float32 mono."
        )
    return samples.astype(np.float32)


def max_piece_bytes(sample_rate: int) -> int:
    """The largest piece accepted, in bytes: :data:`MAX_PIECE_SECONDS` of float32 samples."""
    return int(MAX_PIECE_SECONDS * sample_rate) * np.dtype(np.float32).itemsize


def piece_too_large(size: str, sample_rate: int) -> PieceTooLarge:
    """The refusal of a piece of ``size`` (words: "70,000 bytes", "over 64,000 bytes")."""
    return PieceTooLarge(
        f"An audio piece of {size} is too large: send at most {MAX_PIECE_SECONDS:g} s "
        f"({max_piece_bytes(sample_rate):,} bytes of float32 at {sample_rate} Hz) at a time."
    )


@dataclass
class LiveSession:
    """One visitor's stream: their generator, the frame encoder, and what they sent."""

    session_id: str
    stream: LiveStream | None  # None once closed: the generator is freed at once
    sample_rate: int
    encoder: FrameEncoder = field(default_factory=FrameEncoder)
    opened_at: float = field(default_factory=time.monotonic)
    last_seen: float = field(default_factory=time.monotonic)
    samples_received: int = 0
    compute_seconds: float = 0.0  # time spent in the generator, all pieces together
    lock: threading.Lock = field(default_factory=threading.Lock)  # one piece at a time

    @property
    def audio_seconds(self) -> float:
        return self.samples_received / self.sample_rate

    def describe(self) -> str:
        audio = self.audio_seconds
        load = self.compute_seconds / audio if audio else 0.0
        return (
            f"{audio:.1f} s of speech, {self.encoder.frames_encoded} frames, generator at "
            f"{load:.2f}x real time"
        )


@dataclass(frozen=True)
class PushResult:
    """The frames a piece made final, encoded, and where the stream stands."""

    frames: bytes  # whole wire frames (webapp.live_frames), maybe none
    frames_emitted: int  # frames sent in this session so far, these included
    audio_seconds: float  # speech received in this session so far
    compute_seconds: float  # time the generator took for this piece
    # the session's samples at which its next step can run (what the page sends up to next);
    # None once the stream has ended
    next_step_samples: int | None


class LiveStage:
    """At most ``capacity`` live sessions; each one's stream made by ``open_stream``."""

    def __init__(
        self,
        open_stream: StreamFactory,
        capacity: int = 1,
        idle_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self._open_stream = open_stream
        self.capacity = capacity
        self.idle_seconds = idle_seconds
        self._clock = clock
        self._sessions: dict[str, LiveSession] = {}
        self._lock = threading.Lock()  # guards _sessions and _opening
        self._opening = 0  # places held while their generator loads

    def active(self) -> int:
        """Sessions on stage now (idle ones closed first)."""
        self.close_idle()
        with self._lock:
            return len(self._sessions) + self._opening

    def open(self) -> LiveSession:
        """A new session, or StageBusy when every place is taken.

        The place is held while the generator loads (outside the lock: it reads the
        checkpoint), so two visitors pressing Start at once cannot both get the last one.
        """
        self.close_idle()
        with self._lock:
            if len(self._sessions) + self._opening >= self.capacity:
                raise StageBusy(BUSY_MESSAGE)
            self._opening += 1
        try:
            stream = self._open_stream()
        finally:
            with self._lock:
                self._opening -= 1
        now = self._clock()
        session = LiveSession(
            secrets.token_urlsafe(SESSION_ID_BYTES),
            stream,
            stream.sample_rate,
            opened_at=now,
            last_seen=now,
        )
        with self._lock:
            self._sessions[session.session_id] = session
        logger.info("live session %s opened", session.session_id[:8])
        return session

    def push(self, session_id: str, payload: bytes) -> PushResult:
        """Push one piece (little-endian float32 mono at the stream's rate); the frames it
        made final. Raises SessionGone, or BadAudio (the session stays open)."""
        session = self._session(session_id)
        with session.lock:
            stream = self._still_open(session)
            session.last_seen = self._clock()
            samples = read_samples(payload, session.sample_rate)
            started = time.perf_counter()
            clip = stream.push(samples)
            seconds = time.perf_counter() - started
            session.samples_received += samples.shape[0]
            session.compute_seconds += seconds
            frames = session.encoder.encode(clip)
            session.last_seen = self._clock()
            return PushResult(
                frames,
                session.encoder.frames_encoded,
                session.audio_seconds,
                seconds,
                stream.next_step_samples,
            )

    def stop(self, session_id: str) -> PushResult:
        """Flush the session's last frames and close it. Raises SessionGone."""
        session = self._session(session_id)
        with session.lock:
            stream = self._still_open(session)
            try:
                started = time.perf_counter()
                clip = stream.flush()
                seconds = time.perf_counter() - started
                frames = session.encoder.encode(clip)
            finally:
                self._remove(session, "stopped")
            return PushResult(
                frames, session.encoder.frames_encoded, session.audio_seconds, seconds, None
            )

    def sample_rate(self, session_id: str) -> int:
        """The session's sample rate (Hz). Raises SessionGone."""
        return self._session(session_id).sample_rate

    def discard(self, session_id: str) -> None:
        """Close a session whose generator failed (its state is unknown): no flush."""
        with self._lock:
            session = self._sessions.get(session_id)
        if session is not None:
            self._remove(session, "closed after a generator error")

    def close_idle(self) -> list[str]:
        """Close sessions that received nothing for ``idle_seconds``; their ids."""
        now = self._clock()
        with self._lock:
            idle = [
                session
                for session in self._sessions.values()
                if now - session.last_seen > self.idle_seconds and not session.lock.locked()
            ]
        for session in idle:
            self._remove(session, f"closed after {self.idle_seconds:g} s without audio")
        return [session.session_id for session in idle]

    def _session(self, session_id: str) -> LiveSession:
        self.close_idle()
        with self._lock:
            session = self._sessions.get(session_id)
        if session is None:
            raise SessionGone(self._gone_message())
        return session

    def _still_open(self, session: LiveSession) -> LiveStream:
        """The session's stream; SessionGone when it was closed while the caller waited for
        its lock (call with the session's lock held)."""
        if session.stream is None:
            raise SessionGone(self._gone_message())
        return session.stream

    def _gone_message(self) -> str:
        return (
            "This live session has ended (stopped, or closed after "
            f"{self.idle_seconds:g} s without audio). Press Start to speak again."
        )

    def _remove(self, session: LiveSession, why: str) -> None:
        with self._lock:
            removed = self._sessions.pop(session.session_id, None)
        if removed is not None:
            logger.info("live session %s %s: %s", session.session_id[:8], why, session.describe())
            if session.stream is not None:
                session.stream.close()  # its word recognition thread ends
            session.stream = None  # the generator goes now, not with the last reference
            return_freed_memory()


def generator_streams(
    checkpoint: Path,
    pipeline: SemGesPipeline | None = None,
    speaker: int = DEFAULT_SPEAKER,
    temperature: float = DEFAULT_TEMPERATURE,
    words: bool = True,
) -> StreamFactory:
    """A factory of ``semges.live.LiveGenerator`` streams from ``checkpoint``'s live models,
    each with a fresh seed (logged), as Generate draws one per request; ``words``: with
    streaming word recognition (when the live models were trained with it).

    ``pipeline``: the checkpoint's pipeline, already loaded (the demo's, shared: its speech
    front-end and VQ-VAEs are only read); None: loaded once, when the first session opens.
    A checkpoint without live models makes every Start a :class:`LiveUnavailable`.
    """
    loaded: list[SemGesPipeline] = [] if pipeline is None else [pipeline]
    loading = threading.Lock()

    def open_stream() -> LiveStream:
        from semges.live import LiveGenerator, NoLiveModels
        from webapp.service import fresh_seed

        seed = fresh_seed()
        started = time.perf_counter()
        try:
            with loading:
                if not loaded:
                    loaded.append(SemGesPipeline.from_pretrained(checkpoint))
            stream = LiveGenerator.from_pretrained(
                checkpoint,
                speaker=speaker,
                seed=seed,
                temperature=temperature,
                pipeline=loaded[0],
                words=words,
            )
        except NoLiveModels as error:
            logger.warning("live: %s", error)
            raise LiveUnavailable(LIVE_UNAVAILABLE) from error
        logger.info(
            "live generator ready in %.2f s: seed %d, lookahead %.2f s, words %s",
            time.perf_counter() - started,
            seed,
            stream.lookahead_s,
            "on" if stream.recognizes_words else "off",
        )
        return stream

    return open_stream


def stage_for(settings: AppSettings, pipeline: SemGesPipeline | None = None) -> LiveStage:
    """The demo's stage: generators from the settings' checkpoint (sharing ``pipeline``, that
    checkpoint's, when given), its capacity and idle time."""
    return LiveStage(
        generator_streams(settings.checkpoint, pipeline, words=settings.live_words),
        capacity=settings.live_sessions,
        idle_seconds=settings.live_idle_seconds,
    )
