"""One Whisper encoder pass per clip, shared by recognition, alignment and the audio features.

The encoder sees fixed 30 s windows of Whisper's log-mel input that start every 20 s
(:data:`ENCODER_WINDOW_S`, :data:`ENCODER_OVERLAP_S`), on the clip's own timeline: exactly the
windows the shipped checkpoint's audio features were computed from. :func:`encode_windows`
yields each window's encoder output once; :class:`StateBlender` crossfades them into per-clip
states (:mod:`semges.speech.audio_features`) and :class:`semges.speech.recognition.WindowRecogniser`
decodes words from the same outputs, so no window is encoded twice.

The log-mel spectrogram is computed in pieces (:func:`log_mel`), so an hour of speech costs
tens of megabytes, not the gigabytes one STFT of the whole clip would take; the values are
those of faster-whisper's ``FeatureExtractor`` on the whole clip (one global level reference).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from semges.speech.audio import SAMPLE_RATE

if TYPE_CHECKING:
    import ctranslate2
    from faster_whisper import WhisperModel

ENCODER_WINDOW_S: float = 30.0
ENCODER_OVERLAP_S: float = 10.0
ENCODER_CROSSFADE_S: float = 1.0

MEL_FRAME_S: float = 0.01
"""Seconds per Whisper log-mel frame: its hop, 160 samples at 16 kHz."""
MEL_CHUNK_FRAMES: int = 30_000
"""Log-mel frames (:data:`MEL_FRAME_S` each: 5 minutes) computed per STFT piece; bounds its
memory."""
_LOG_FLOOR = 1e-10  # faster-whisper's floor on mel power before log10
_DYNAMIC_RANGE = 8.0  # log10 units kept below the clip's loudest bin (80 dB)
_LOG_OFFSET, _LOG_SCALE = 4.0, 4.0  # Whisper's final affine scaling of the log-mel


@dataclass(frozen=True)
class EncodedWindow:
    """One encoder window of a clip.

    ``index``: its position among the clip's windows. ``start``: first log-mel frame (10 ms
    frames, so ``start / 100`` seconds). ``num_frames``: log-mel frames of real audio in it
    (<= 3000; the rest is zero padding). ``output``: the encoder output, (1, 1500, D) as a
    CTranslate2 ``StorageView`` (50 states per second).
    """

    index: int
    start: int
    num_frames: int
    output: ctranslate2.StorageView

    @property
    def start_s(self) -> float:
        return self.start * MEL_FRAME_S

    @property
    def end_s(self) -> float:
        """Seconds at which its real audio ends."""
        return (self.start + self.num_frames) * MEL_FRAME_S


def log_mel(whisper: WhisperModel, samples: np.ndarray) -> np.ndarray:
    """(n_mels, M) float32 Whisper log-mel of (N,) float32 16 kHz ``samples``, M = N // 160 + 1.

    Equal (up to float rounding) to ``whisper.feature_extractor(samples)``, but computed in
    pieces of :data:`MEL_CHUNK_FRAMES` frames.
    """
    extractor = whisper.feature_extractor
    hop, n_fft = extractor.hop_length, extractor.n_fft
    # The extractor appends one hop of zeros, then pads n_fft / 2 by reflection on each side.
    padded = np.pad(
        np.pad(samples.astype(np.float32, copy=False), (0, hop)), n_fft // 2, mode="reflect"
    )
    total = 1 + (padded.shape[0] - n_fft) // hop - 1  # the extractor drops the last frame
    window = np.hanning(n_fft + 1)[:-1].astype(np.float32)
    log_spec = np.empty((extractor.mel_filters.shape[0], total), np.float32)
    for first in range(0, total, MEL_CHUNK_FRAMES):
        last = min(total, first + MEL_CHUNK_FRAMES)
        piece = padded[first * hop : (last - 1) * hop + n_fft]
        stft = extractor.stft(
            piece, n_fft, hop, window=window, center=False, return_complex=True
        ).astype(np.complex64)
        power = np.abs(stft) ** 2  # (n_fft // 2 + 1, last - first)
        mel = extractor.mel_filters @ power
        log_spec[:, first:last] = np.log10(np.clip(mel, _LOG_FLOOR, None))
    np.maximum(log_spec, log_spec.max() - _DYNAMIC_RANGE, out=log_spec)
    return (log_spec + _LOG_OFFSET) / _LOG_SCALE


def window_starts(whisper: WhisperModel, content_frames: int) -> list[int]:
    """First log-mel frame of every encoder window covering ``content_frames`` frames."""
    window = whisper.feature_extractor.nb_max_frames  # 3000 mel frames = 30 s
    stride = round(window * (1.0 - ENCODER_OVERLAP_S / ENCODER_WINDOW_S))
    starts = [0]
    while starts[-1] + window < content_frames:
        starts.append(starts[-1] + stride)
    return starts


def content_frames(whisper: WhisperModel, mel: np.ndarray, num_samples: int) -> int:
    """Log-mel frames of real audio: the clip's length, not the extractor's padding frame."""
    return min(mel.shape[1], round(num_samples / whisper.feature_extractor.hop_length))


def encode_windows(
    whisper: WhisperModel, mel: np.ndarray, num_samples: int
) -> Iterator[EncodedWindow]:
    """Encode each fixed window of ``mel`` (see :func:`window_starts`) once, in order."""
    from faster_whisper.audio import pad_or_trim

    content = content_frames(whisper, mel, num_samples)
    window = whisper.feature_extractor.nb_max_frames
    for index, start in enumerate(window_starts(whisper, content)):
        output = whisper.encode(pad_or_trim(mel[:, start : start + window]))
        yield EncodedWindow(index, start, min(window, content - start), output)


class StateBlender:
    """Crossfades the windows' encoder states into one (S, D) array at 50 states per second.

    Each window keeps its centre; neighbours hand over linearly over
    :data:`ENCODER_CROSSFADE_S` around the middle of their overlap, so there is no seam.
    """

    def __init__(self, whisper: WhisperModel, content: int) -> None:
        extractor = whisper.feature_extractor
        self._window = extractor.nb_max_frames
        self._starts = window_starts(whisper, content)
        mel_rate = SAMPLE_RATE / extractor.hop_length  # 100 Hz
        self.state_rate = mel_rate * (self._window // 2) / self._window  # 50 Hz
        self._scale = self.state_rate / mel_rate
        self.total_states = int(np.ceil(content * self._scale))
        self._blended: np.ndarray | None = None
        self._weight_sum = np.zeros(self.total_states, np.float32)

    def add(self, window: EncodedWindow) -> None:
        """Accumulate one window's states (in any order)."""
        states = np.array(window.output)[0]  # (1500, D); copy: the StorageView owns its memory
        offset = round(window.start * self._scale)
        count = min(states.shape[0], self.total_states - offset)
        weights = _window_weights(
            self._starts,
            window.index,
            self._window,
            offset,
            count,
            self._scale,
            ENCODER_CROSSFADE_S * self.state_rate,
        )
        if self._blended is None:
            self._blended = np.zeros((self.total_states, states.shape[1]), np.float32)
        self._blended[offset : offset + count] += weights[:, None] * states[:count]
        self._weight_sum[offset : offset + count] += weights

    def states(self) -> tuple[np.ndarray, np.ndarray]:
        """(S, D) blended states and (S,) their centre times in seconds (state j covers 20 ms)."""
        if self._blended is None:
            raise RuntimeError("no encoder window was added")
        self._blended /= np.maximum(self._weight_sum, 1e-6)[:, None]
        times = (np.arange(self.total_states) + 0.5) / self.state_rate
        return self._blended, times


def _window_weights(
    starts: list[int], k: int, window: int, offset: int, count: int, scale: float, ramp: float
) -> np.ndarray:
    """(count,) weights of window k over its states: 1 in its centre, linear crossfades.

    Adjacent windows' weights sum to one: window k hands over to window k + 1 over
    ``ramp`` states centred on the middle of their overlap.
    """
    index = offset + np.arange(count, dtype=np.float64)
    weights = np.ones(count)
    if k > 0:
        middle = 0.5 * (starts[k] + starts[k - 1] + window) * scale
        weights *= np.clip((index - middle) / ramp + 0.5, 0.0, 1.0)
    if k + 1 < len(starts):
        middle = 0.5 * (starts[k + 1] + starts[k] + window) * scale
        weights *= np.clip((middle - index) / ramp + 0.5, 0.0, 1.0)
    return weights.astype(np.float32)
