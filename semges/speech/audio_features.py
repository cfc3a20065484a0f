"""Frame-aligned audio features: Whisper encoder states and prosody, at the motion frame rate.

Output per clip: (T, D + 4) float32 with T = ``round(duration_s * FPS)``; row i describes the
audio around time ``i / FPS`` seconds, the time of motion frame i.

- **Whisper encoder states** (D = 384 for tiny.en) from CTranslate2's ``encode`` on Whisper's
  log-mel input. The encoder sees 30 s windows and gives 50 states per second. Long audio is
  encoded in windows that overlap by 10 s; each window keeps its centre and neighbours are
  crossfaded over 1 s around the middle of the overlap, so there is no seam and no dropped
  tail. States are linearly interpolated to the frame times. They are left unnormalised
  (Whisper's final layer norm already bounds them: std about 1.3).
- **Prosody** (4 channels, :data:`PROSODY_CHANNELS`), computed with librosa on a hop of
  exactly one motion frame (audio resampled to ``FPS * PROSODY_HOP`` Hz), so frame i is
  centred on time i / FPS without interpolation:
  ``energy``: RMS level in dB relative to the clip's loud speech, mapped to [0, 1];
  ``onset``: onset strength divided by the clip's 99th percentile, in [0, 2];
  ``log_f0``: pitch in octaves relative to the clip's median voiced pitch, in [-1, 1],
  0 where unvoiced (librosa YIN: pYIN is ~30x slower);
  ``voicing``: normalised autocorrelation at the YIN period, in [0, 1], 0 in silence.
  Per-clip references make the features independent of recording gain and speaker pitch.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

from semges.speech.audio import SAMPLE_RATE, resample
from semges.layout import FPS

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

logger = logging.getLogger(__name__)

PROSODY_CHANNELS: tuple[str, ...] = ("energy", "onset", "log_f0", "voicing")
NUM_PROSODY_CHANNELS: int = len(PROSODY_CHANNELS)

PROSODY_HOP: int = 500
"""Samples per motion frame at the prosody sample rate."""
PROSODY_SAMPLE_RATE: int = FPS * PROSODY_HOP  # 15 kHz at 30 fps: keeps speech up to 7.5 kHz
PROSODY_FRAME_LENGTH: int = 1024  # 68 ms: at least two periods of the lowest pitch
F0_MIN_HZ: float = 65.0
F0_MAX_HZ: float = 500.0
ENERGY_RANGE_DB: float = 60.0  # energy 0 at this many dB below the clip's loud speech
LOUD_PERCENTILE: float = 99.0  # the clip's "loud speech" level (robust to a single click)
SILENCE_DB: float = 40.0  # quieter than loud speech by this much: no voicing, no pitch
VOICED_THRESHOLD: float = 0.5
ONSET_CLIP: float = 2.0
PITCH_CLIP_OCTAVES: float = 1.0

ENCODER_WINDOW_S: float = 30.0
ENCODER_OVERLAP_S: float = 10.0
ENCODER_CROSSFADE_S: float = 1.0


def audio_features(whisper: "WhisperModel", samples: np.ndarray) -> np.ndarray:
    """(T, D + 4) float32 Whisper states then prosody, for (N,) float32 16 kHz ``samples``."""
    num_frames = round(samples.shape[0] * FPS / SAMPLE_RATE)
    states = whisper_encoder_states(whisper, samples, num_frames)
    prosody = prosody_features(samples, num_frames)
    return np.concatenate([states, prosody], axis=1)


def whisper_encoder_states(
    whisper: "WhisperModel", samples: np.ndarray, num_frames: int
) -> np.ndarray:
    """(num_frames, D) float32 Whisper encoder states at frame times ``i / FPS`` seconds."""
    from faster_whisper.audio import pad_or_trim

    extractor = whisper.feature_extractor
    mel = extractor(samples)  # (n_mels, M) at 100 frames/s; one global level normalisation
    mel_rate = SAMPLE_RATE / extractor.hop_length  # 100 Hz
    content = min(mel.shape[1], round(samples.shape[0] / extractor.hop_length))
    window = extractor.nb_max_frames  # 3000 mel frames = 30 s
    stride = round(window * (1.0 - ENCODER_OVERLAP_S / ENCODER_WINDOW_S))
    starts = [0]
    while starts[-1] + window < content:
        starts.append(starts[-1] + stride)

    state_rate = mel_rate * _states_per_window(whisper) / window  # 50 Hz for every Whisper
    total_states = int(np.ceil(content * state_rate / mel_rate))
    blended: np.ndarray | None = None
    weight_sum = np.zeros(total_states, np.float32)
    for k, start in enumerate(starts):
        encoded = whisper.encode(pad_or_trim(mel[:, start : start + window]))
        states = np.array(encoded)[0]  # copy: the StorageView owns its memory
        offset = round(start * state_rate / mel_rate)
        count = min(states.shape[0], total_states - offset)
        weights = _window_weights(starts, k, window, offset, count, state_rate / mel_rate,
                                  ENCODER_CROSSFADE_S * state_rate)  # fmt: skip
        if blended is None:
            blended = np.zeros((total_states, states.shape[1]), np.float32)
        blended[offset : offset + count] += weights[:, None] * states[:count]
        weight_sum[offset : offset + count] += weights
    blended /= np.maximum(weight_sum, 1e-6)[:, None]
    state_times = (np.arange(total_states) + 0.5) / state_rate  # state j covers 20 ms
    return _interpolate_rows(blended, state_times, np.arange(num_frames) / FPS)


def _states_per_window(whisper: "WhisperModel") -> int:
    """Encoder states for one 30 s window (1500: the encoder's conv halves the mel rate)."""
    return whisper.feature_extractor.nb_max_frames // 2


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


def _interpolate_rows(values: np.ndarray, times: np.ndarray, new_times: np.ndarray) -> np.ndarray:
    """Linear interpolation of (S, D) rows sampled at ``times`` onto ``new_times`` (T,)."""
    position = np.interp(new_times, times, np.arange(times.shape[0], dtype=np.float64))
    lower = np.floor(position).astype(np.int64)
    upper = np.minimum(lower + 1, times.shape[0] - 1)
    fraction = (position - lower).astype(np.float32)[:, None]
    return ((1.0 - fraction) * values[lower] + fraction * values[upper]).astype(np.float32)


def prosody_features(samples: np.ndarray, num_frames: int) -> np.ndarray:
    """(num_frames, 4) float32 energy, onset, log_f0, voicing (see the module docstring)."""
    import librosa

    audio = resample(samples, SAMPLE_RATE, PROSODY_SAMPLE_RATE)
    rate, hop, length = PROSODY_SAMPLE_RATE, PROSODY_HOP, PROSODY_FRAME_LENGTH
    rms = librosa.feature.rms(y=audio, frame_length=length, hop_length=hop)[0]
    level_db = librosa.amplitude_to_db(rms, amin=1e-5, top_db=None)
    loud_db = np.percentile(level_db, LOUD_PERCENTILE)
    energy = np.clip(1.0 + (level_db - loud_db) / ENERGY_RANGE_DB, 0.0, 1.0)
    sounding = level_db > loud_db - SILENCE_DB

    onset = librosa.onset.onset_strength(y=audio, sr=rate, hop_length=hop)
    onset = np.clip(onset / max(np.percentile(onset, LOUD_PERCENTILE), 1e-6), 0.0, ONSET_CLIP)

    f0 = librosa.yin(audio, fmin=F0_MIN_HZ, fmax=F0_MAX_HZ, sr=rate, frame_length=length,
                     hop_length=hop)  # fmt: skip
    voicing = _periodicity(audio, f0, rate, length, hop) * sounding[: f0.shape[0]]
    voiced = voicing > VOICED_THRESHOLD
    log_f0 = np.zeros_like(f0)
    if voiced.any():
        log_f0[voiced] = np.log2(f0[voiced] / np.median(f0[voiced]))
    log_f0 = np.clip(log_f0, -PITCH_CLIP_OCTAVES, PITCH_CLIP_OCTAVES)

    channels = [energy, onset, log_f0, voicing]
    return np.stack([_fit_length(c, num_frames) for c in channels], axis=1).astype(np.float32)


def _periodicity(
    audio: np.ndarray, f0: np.ndarray, rate: int, length: int, hop: int
) -> np.ndarray:
    """(F,) normalised autocorrelation of each centred frame at the YIN period, in [0, 1]."""
    import librosa

    frames = librosa.util.frame(np.pad(audio, length // 2), frame_length=length, hop_length=hop)
    frames = frames[:, : f0.shape[0]]
    autocorrelation = librosa.autocorrelate(frames, axis=0)  # (length, F)
    lag = np.clip(np.round(rate / f0).astype(np.int64), 1, length - 1)
    columns = np.arange(frames.shape[1])
    unbiased = autocorrelation[lag, columns] * length / (length - lag)
    energy = autocorrelation[0, columns]
    return np.clip(unbiased / np.maximum(energy, 1e-10), 0.0, 1.0)


def _fit_length(values: np.ndarray, num_frames: int) -> np.ndarray:
    """Trim or edge-pad a (F,) track to exactly ``num_frames``."""
    if values.shape[0] >= num_frames:
        return values[:num_frames]
    return np.pad(values, (0, num_frames - values.shape[0]), mode="edge")
