"""Frame-aligned audio features: Whisper encoder states and prosody, at the motion frame rate.

Output per clip: (T, D + 4) float32 with T = ``round(duration_s * FPS)``; row i describes the
audio around time ``i / FPS`` seconds, the time of motion frame i.

- **Whisper encoder states** (D = 384 for tiny.en) from CTranslate2's ``encode`` on Whisper's
  log-mel input (one pass per clip, shared with recognition: :mod:`semges.speech.encoder`).
  The encoder sees 30 s windows and gives 50 states per second. Long audio is
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

from semges import layout
from semges.layout import FPS
from semges.speech.audio import SAMPLE_RATE, resample

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

    from semges.speech.encoder import StateBlender

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

PROSODY_CHUNK_FRAMES: int = 3600
"""Motion frames (2 minutes) of prosody analysed per piece: bounds the memory of YIN and the
STFTs on long speech. Frames are analysed independently, so pieces change nothing; the
per-clip references are taken over the whole clip."""
ONSET_N_FFT: int = 2048  # librosa's onset-strength STFT size (its default)


def audio_features(whisper: WhisperModel, samples: np.ndarray) -> np.ndarray:
    """(T, D + 4) float32 Whisper states then prosody, for (N,) float32 16 kHz ``samples``."""
    num_frames = layout.num_motion_frames(samples.shape[0], SAMPLE_RATE)
    states = whisper_encoder_states(whisper, samples, num_frames)
    prosody = prosody_features(samples, num_frames)
    return np.concatenate([states, prosody], axis=1)


def whisper_encoder_states(
    whisper: WhisperModel, samples: np.ndarray, num_frames: int
) -> np.ndarray:
    """(num_frames, D) float32 Whisper encoder states at frame times ``i / FPS`` seconds."""
    from semges.speech.encoder import StateBlender, content_frames, encode_windows, log_mel

    mel = log_mel(whisper, samples)  # (n_mels, M) at 100 frames/s; one global level reference
    blender = StateBlender(whisper, content_frames(whisper, mel, samples.shape[0]))
    for window in encode_windows(whisper, mel, samples.shape[0]):
        blender.add(window)
    return frame_states(blender, num_frames)


def frame_states(blender: StateBlender, num_frames: int) -> np.ndarray:
    """(num_frames, D) float32: the blended encoder states interpolated to frame times."""
    states, times = blender.states()
    return _interpolate_rows(states, times, np.arange(num_frames) / FPS)


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
    total = 1 + audio.shape[0] // hop  # librosa's frame count for centred frames
    rms = np.empty(total, np.float32)  # the dtypes librosa gives for float32 audio
    f0, periodicity = np.empty(total, np.float64), np.empty(total, np.float64)
    mel_power: np.ndarray | None = None
    for first in range(0, total, PROSODY_CHUNK_FRAMES):
        last = min(total, first + PROSODY_CHUNK_FRAMES)
        piece = _centred_piece(audio, first, last, hop, length)
        rms[first:last] = librosa.feature.rms(
            y=piece, frame_length=length, hop_length=hop, center=False
        )[0]
        f0[first:last] = librosa.yin(
            piece,
            fmin=F0_MIN_HZ,
            fmax=F0_MAX_HZ,
            sr=rate,
            frame_length=length,
            hop_length=hop,
            center=False,
        )
        periodicity[first:last] = yin_periodicity(piece, f0[first:last], rate, length, hop)
        mel = librosa.feature.melspectrogram(
            y=_centred_piece(audio, first, last, hop, ONSET_N_FFT),
            sr=rate,
            n_fft=ONSET_N_FFT,
            hop_length=hop,
            center=False,
        )
        if mel_power is None:
            mel_power = np.empty((mel.shape[0], total), np.float32)
        mel_power[:, first:last] = mel

    level_db = librosa.amplitude_to_db(rms, amin=1e-5, top_db=None)
    loud_db = np.percentile(level_db, LOUD_PERCENTILE)
    energy = np.clip(1.0 + (level_db - loud_db) / ENERGY_RANGE_DB, 0.0, 1.0)
    sounding = level_db > loud_db - SILENCE_DB

    onset = librosa.onset.onset_strength(
        S=librosa.power_to_db(mel_power), sr=rate, n_fft=ONSET_N_FFT, hop_length=hop
    )
    onset = np.clip(onset / max(np.percentile(onset, LOUD_PERCENTILE), 1e-6), 0.0, ONSET_CLIP)

    voicing = periodicity * sounding
    voiced = voicing > VOICED_THRESHOLD
    log_f0 = np.zeros_like(f0)
    if voiced.any():
        log_f0[voiced] = np.log2(f0[voiced] / np.median(f0[voiced]))
    log_f0 = np.clip(log_f0, -PITCH_CLIP_OCTAVES, PITCH_CLIP_OCTAVES)

    channels = [energy, onset, log_f0, voicing]
    return np.stack([_fit_length(c, num_frames) for c in channels], axis=1).astype(np.float32)


def _centred_piece(audio: np.ndarray, first: int, last: int, hop: int, length: int) -> np.ndarray:
    """The samples under centred frames ``first..last-1`` (frame i centred on sample
    ``i * hop``), zero outside the clip, as librosa's ``center=True`` pads them."""
    begin, end = first * hop - length // 2, (last - 1) * hop + length - length // 2
    piece = audio[max(begin, 0) : min(end, audio.shape[0])]
    return np.pad(piece, (max(-begin, 0), max(end - audio.shape[0], 0)))


def yin_periodicity(
    frames_audio: np.ndarray, f0: np.ndarray, rate: int, length: int, hop: int
) -> np.ndarray:
    """(F,) normalised autocorrelation at the YIN period of each frame of ``frames_audio``
    (already centre-padded, see :func:`_centred_piece`), in [0, 1]."""
    import librosa

    frames = librosa.util.frame(frames_audio, frame_length=length, hop_length=hop)
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
