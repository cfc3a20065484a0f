"""Audio features as the speech arrives: the live path's counterpart of
:mod:`semges.speech.audio_features`, computed in fixed steps so any chunking gives the same
rows.

The offline features cannot be computed live: Whisper's states there come from 30 s windows
that see up to 20 s past a frame, and the prosody is referenced to the whole clip (its loud
speech, its median pitch). Here, each step adds the rows of ``hop_frames`` new frames, and a
row only sees audio up to the step's end:

- **Whisper encoder states** from one encoder pass over the trailing ``context_s`` of audio
  ending at the step's end (CTranslate2 encodes short inputs in proportion to their length:
  4 s in about 20 ms on 2 cores), interpolated to the new frames' times. A row therefore sees
  at most ``hop_frames`` of audio after it. These states differ from the offline ones (cosine
  0.6 with a 5 s context), so the live generator is trained on these very features
  (:func:`streamed_audio_features` runs this class over a training clip).
- **Prosody**, the same four channels as offline (energy, onset, log_f0, voicing), per frame
  on a ``PROSODY_FRAME_LENGTH`` window centred on the frame's time, with running references in
  place of the per-clip ones: the loud speech level is the 99th percentile of the levels so far
  (never below :data:`MIN_LOUD_DB`, so a quiet start is not taken for loud speech), the pitch
  reference the median voiced pitch so far, the onset scale the 99th percentile so far. The
  references live in fixed histograms: hours of speech cost the same memory as a second.

Memory is bounded: the audio buffer keeps the encoder's context and a frame window of
samples, no more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from semges.layout import FPS
from semges.speech.audio import SAMPLE_RATE
from semges.speech.audio_features import (
    ENERGY_RANGE_DB,
    F0_MAX_HZ,
    F0_MIN_HZ,
    LOUD_PERCENTILE,
    ONSET_CLIP,
    PITCH_CLIP_OCTAVES,
    SILENCE_DB,
    VOICED_THRESHOLD,
    yin_periodicity,
)

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

PROSODY_FRAME_LENGTH: int = 1024  # 64 ms at 16 kHz: two periods of the lowest pitch
ONSET_N_FFT: int = 1024
ONSET_MEL_BANDS: int = 64
MIN_LOUD_DB: float = -45.0  # a loud-speech reference never below this level (dB of RMS)
LEVEL_FLOOR_DB: float = -100.0  # RMS levels (dB) below this count as this
HISTOGRAM_STEP: float = 0.25  # dB, octaves / 8 or onset units per bin of the running references
LEVEL_BINS: tuple[float, float] = (LEVEL_FLOOR_DB, 20.0)
PITCH_BINS: tuple[float, float] = (np.log2(F0_MIN_HZ), np.log2(F0_MAX_HZ))
PITCH_BIN_OCTAVES: float = 1.0 / 48.0
ONSET_BINS: tuple[float, float] = (0.0, 200.0)
MIN_ONSET_SCALE: float = 1.0  # dB of mean positive log-mel flux: the onset scale's floor


def rms_db(windows: np.ndarray) -> np.ndarray:
    """(F,) RMS level (dB of full scale) of (F, length) sample windows, at least
    :data:`LEVEL_FLOOR_DB`."""
    rms = np.sqrt(np.mean(windows.astype(np.float64) ** 2, axis=1))
    return np.maximum(20.0 * np.log10(np.maximum(rms, 1e-10)), LEVEL_FLOOR_DB)


def frame_sample(frame: int | np.ndarray) -> int | np.ndarray:
    """The sample at motion frame ``frame``'s time (rounded: 16000 / 30 is not whole); frame
    numbers or an integer array of them."""
    return (frame * SAMPLE_RATE + FPS // 2) // FPS


@dataclass(frozen=True)
class StreamingFeatureConfig:
    """How the live features are computed; saved with the live models (they are trained on
    exactly these features)."""

    hop_frames: int = 6  # frames added per step (0.2 s)
    context_s: float = 4.0  # trailing audio the Whisper encoder sees at each step

    def __post_init__(self) -> None:
        if self.hop_frames < 1 or self.context_s <= 0:
            raise ValueError("hop_frames must be >= 1 and context_s > 0")


class RunningPercentile:
    """A percentile of every value added so far, from a fixed histogram (bounded memory)."""

    def __init__(self, low: float, high: float, step: float) -> None:
        self._low, self._step = low, step
        self._counts = np.zeros(int(np.ceil((high - low) / step)) + 1, np.int64)

    @property
    def count(self) -> int:
        return int(self._counts.sum())

    def add(self, values: np.ndarray) -> None:
        bins = np.clip(((values - self._low) / self._step).astype(np.int64), 0, None)
        np.add.at(self._counts, np.minimum(bins, self._counts.size - 1), 1)

    def percentile(self, q: float) -> float:
        """The q-th percentile (bin centre) of the values so far; NaN before any."""
        total = self._counts.sum()
        if total == 0:
            return float("nan")
        rank = np.searchsorted(np.cumsum(self._counts), q / 100.0 * total, side="left")
        return self._low + (min(rank, self._counts.size - 1) + 0.5) * self._step


class StreamingAudioFeatures:
    """Audio pushed in any pieces -> (frames, D + 4) feature rows, ``hop_frames`` per step.

    ``push(samples)`` buffers audio; ``step(end_frame)`` computes the rows of frames
    ``[end_frame - hop_frames, end_frame)`` once the audio up to ``end_frame``'s time is in
    (``available_frames``), or with silence past the end after ``finish()``.
    """

    def __init__(self, whisper: WhisperModel, config: StreamingFeatureConfig) -> None:
        import librosa

        self.whisper = whisper
        self.config = config
        self._context = round(config.context_s * SAMPLE_RATE)
        self._buffer = np.zeros(0, np.float32)
        self._buffer_start = 0  # absolute index of the buffer's first sample
        self._received = 0
        self._finished = False
        self._level = RunningPercentile(*LEVEL_BINS, HISTOGRAM_STEP)
        self._pitch = RunningPercentile(*PITCH_BINS, PITCH_BIN_OCTAVES)
        self._onset = RunningPercentile(*ONSET_BINS, HISTOGRAM_STEP)
        self._mel_filters = librosa.filters.mel(
            sr=SAMPLE_RATE, n_fft=ONSET_N_FFT, n_mels=ONSET_MEL_BANDS
        ).astype(np.float32)
        self._window = np.hanning(ONSET_N_FFT + 1)[:-1].astype(np.float32)
        self._previous_mel_db: np.ndarray | None = None

    @property
    def received_samples(self) -> int:
        return self._received

    def push(self, samples: np.ndarray) -> None:
        if self._finished:
            raise RuntimeError("the stream was finished")
        self._buffer = np.concatenate([self._buffer, samples.astype(np.float32, copy=False)])
        self._received += samples.shape[0]

    def finish(self) -> None:
        """No more audio: steps past the end read silence."""
        self._finished = True

    def available_frames(self) -> int:
        """Frames whose rows can be computed from the audio received (all, once finished)."""
        if self._finished:
            return np.iinfo(np.int64).max
        # frame f needs the samples up to its time plus half a prosody frame
        last = self._received - PROSODY_FRAME_LENGTH // 2
        return max(0, (last * FPS) // SAMPLE_RATE)

    def samples_for_frames(self, frames: int) -> int:
        """The fewest samples received that make ``frames`` available (the inverse of
        :meth:`available_frames`): a sender that knows it can send exactly what a step needs."""
        return -(-frames * SAMPLE_RATE // FPS) + PROSODY_FRAME_LENGTH // 2

    def samples(self, first: int, last: int) -> np.ndarray:
        """Absolute samples [first, last), zeros before the stream and past what was received."""
        if first < self._buffer_start and last > 0 and self._buffer_start > 0:
            raise RuntimeError("samples needed are no longer buffered")
        out = np.zeros(last - first, np.float32)
        begin = max(first, self._buffer_start)
        end = min(last, self._buffer_start + self._buffer.shape[0])
        if end > begin:
            out[begin - first : end - first] = self._buffer[
                begin - self._buffer_start : end - self._buffer_start
            ]
        return out

    def step(self, end_frame: int) -> np.ndarray:
        """(hop_frames, D + 4) float32 rows of frames [end_frame - hop_frames, end_frame)."""
        hop = self.config.hop_frames
        frames = np.arange(end_frame - hop, end_frame)
        if end_frame > self.available_frames():
            raise RuntimeError(f"frame {end_frame - 1} needs audio that has not arrived")
        states = self._encoder_states(end_frame, frames)
        prosody = self._prosody(frames)
        self._trim(frame_sample(end_frame) - self._context - PROSODY_FRAME_LENGTH)
        return np.concatenate([states, prosody], axis=1)

    def _trim(self, keep_from: int) -> None:
        drop = keep_from - self._buffer_start
        if drop > 0:
            self._buffer = self._buffer[drop:]
            self._buffer_start += drop

    def _encoder_states(self, end_frame: int, frames: np.ndarray) -> np.ndarray:
        from semges.speech.audio_features import _interpolate_rows
        from semges.speech.encoder import MEL_FRAME_S, log_mel

        end = frame_sample(end_frame)
        start = max(0, end - self._context)
        mel = log_mel(self.whisper, self.samples(start, end))
        mel = mel[:, : 2 * (mel.shape[1] // 2)]  # the encoder's first conv has stride 2
        states = np.array(self.whisper.encode(mel))[0]  # (mel frames / 2, D)
        state_s = 2 * MEL_FRAME_S
        times = start / SAMPLE_RATE + (np.arange(states.shape[0]) + 0.5) * state_s
        return _interpolate_rows(states, times, frames / FPS)

    def _prosody(self, frames: np.ndarray) -> np.ndarray:
        import librosa

        windows = self._frame_windows(frames, PROSODY_FRAME_LENGTH)
        level_db = rms_db(windows)
        self._level.add(level_db)
        loud_db = max(self._level.percentile(LOUD_PERCENTILE), MIN_LOUD_DB)
        energy = np.clip(1.0 + (level_db - loud_db) / ENERGY_RANGE_DB, 0.0, 1.0)
        sounding = level_db > loud_db - SILENCE_DB

        f0 = librosa.yin(
            windows.reshape(-1),
            fmin=F0_MIN_HZ,
            fmax=F0_MAX_HZ,
            sr=SAMPLE_RATE,
            frame_length=PROSODY_FRAME_LENGTH,
            hop_length=PROSODY_FRAME_LENGTH,
            center=False,
        )[: frames.shape[0]]
        # the windows laid end to end: frames of one window length and hop
        voicing = sounding * yin_periodicity(
            windows.reshape(-1), f0, SAMPLE_RATE, PROSODY_FRAME_LENGTH, PROSODY_FRAME_LENGTH
        )
        voiced = voicing > VOICED_THRESHOLD
        self._pitch.add(np.log2(f0[voiced]))
        log_f0 = np.zeros(frames.shape[0])
        if voiced.any():
            reference = self._pitch.percentile(50.0)
            log_f0[voiced] = np.log2(f0[voiced]) - reference
        log_f0 = np.clip(log_f0, -PITCH_CLIP_OCTAVES, PITCH_CLIP_OCTAVES)

        onset = self._onset_strength(frames)
        self._onset.add(onset)
        scale = max(self._onset.percentile(LOUD_PERCENTILE), MIN_ONSET_SCALE)
        onset = np.clip(onset / scale, 0.0, ONSET_CLIP)
        channels = [energy, onset, log_f0, voicing]
        return np.stack(channels, axis=1).astype(np.float32)

    def _frame_windows(self, frames: np.ndarray, length: int) -> np.ndarray:
        """(F, length) samples centred on each frame's time."""
        half = length // 2
        return np.stack(
            [self.samples(frame_sample(f) - half, frame_sample(f) + half) for f in frames]
        )

    def _onset_strength(self, frames: np.ndarray) -> np.ndarray:
        """(F,) mean positive change of the log-mel spectrum from the previous frame (dB)."""
        windows = self._frame_windows(frames, ONSET_N_FFT)
        power = np.abs(np.fft.rfft(windows * self._window, axis=1)) ** 2  # (F, bins)
        mel_db = 10.0 * np.log10(np.maximum(power @ self._mel_filters.T, 1e-10))
        previous = np.concatenate(
            [mel_db[:1] if self._previous_mel_db is None else self._previous_mel_db[None], mel_db]
        )[:-1]
        self._previous_mel_db = mel_db[-1]
        return np.maximum(mel_db - previous, 0.0).mean(axis=1)


def streamed_audio_features(
    whisper: WhisperModel, samples: np.ndarray, config: StreamingFeatureConfig
) -> np.ndarray:
    """(T, D + 4) live features of a whole clip of 16 kHz ``samples``, T its frame count:
    exactly the rows a live stream of it computes (training the live models on them)."""
    from semges.layout import num_motion_frames

    num_frames = num_motion_frames(samples.shape[0], SAMPLE_RATE)
    features = StreamingAudioFeatures(whisper, config)
    features.push(samples)
    features.finish()
    hop = config.hop_frames
    rows = [features.step(end) for end in range(hop, num_frames + hop, hop)]
    return np.concatenate(rows)[:num_frames]
