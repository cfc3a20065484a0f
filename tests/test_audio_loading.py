"""Audio loading: every common format and layout -> 16 kHz mono float32; typed errors."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile

from semges.speech.audio import (
    SAMPLE_RATE,
    AudioError,
    AudioTooLongError,
    AudioTooShortError,
    EmptyAudioError,
    NotAudioError,
    UnreadableAudioError,
    load_audio,
    num_motion_frames,
    resample,
)


def _ffmpeg(*args: str) -> None:
    import imageio_ffmpeg

    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-y", "-loglevel", "error", *args]
    subprocess.run(command, check=True, capture_output=True)


# name -> (file suffix, ffmpeg output options); encoded from the excerpt at 48 kHz stereo
FFMPEG_FORMATS = {
    "mp3": (".mp3", ["-c:a", "libmp3lame", "-b:a", "96k"]),
    "ogg_vorbis": (".ogg", ["-c:a", "libvorbis"]),
    "opus": (".opus", ["-c:a", "libopus", "-b:a", "48k"]),
    "webm": (".webm", ["-c:a", "libopus", "-b:a", "48k"]),  # what browser microphones record
    "m4a": (".m4a", ["-c:a", "aac", "-b:a", "96k"]),
    "aac": (".aac", ["-c:a", "aac", "-b:a", "96k", "-f", "adts"]),
    "flac": (".flac", ["-c:a", "flac"]),
}
SOUNDFILE_SUBTYPES = {"wav_pcm16": "PCM_16", "wav_pcm24": "PCM_24", "wav_float32": "FLOAT"}


@pytest.fixture(scope="module")
def reference(speech_excerpt: Path) -> np.ndarray:
    samples, rate = soundfile.read(speech_excerpt, dtype="float32")
    assert rate == SAMPLE_RATE and samples.ndim == 1
    return samples


@pytest.fixture(scope="module")
def encoded(tmp_path_factory, speech_excerpt: Path) -> dict[str, Path]:
    """Every format, made with the shipped ffmpeg (or soundfile for WAV subtypes)."""
    folder = tmp_path_factory.mktemp("formats")
    samples, rate = soundfile.read(speech_excerpt, dtype="float32")
    files = {}
    for name, subtype in SOUNDFILE_SUBTYPES.items():
        files[name] = folder / f"{name}.wav"
        soundfile.write(files[name], samples, rate, subtype=subtype)
    for name, (suffix, options) in FFMPEG_FORMATS.items():
        files[name] = folder / f"{name}{suffix}"
        _ffmpeg("-i", str(speech_excerpt), "-ac", "2", "-ar", "48000", *options, str(files[name]))
    return files


def _best_correlation(x: np.ndarray, y: np.ndarray, max_lag: int = 1600) -> float:
    """Largest normalised correlation of x and y over shifts up to ``max_lag`` samples
    (lossy codecs may delay the signal by their priming samples)."""
    from scipy.signal import correlate

    n = min(len(x), len(y)) - max_lag
    core = y[max_lag:n]
    scores = correlate(x[: n + max_lag], core, mode="valid")
    power = np.concatenate([[0.0], np.cumsum(x[: n + max_lag].astype(np.float64) ** 2)])
    energy = np.sqrt(power[len(core) :] - power[: -len(core)])  # norm of each shifted slice
    return float(np.max(scores / (energy * np.linalg.norm(core) + 1e-12)))


@pytest.mark.parametrize("name", [*SOUNDFILE_SUBTYPES, *FFMPEG_FORMATS])
def test_every_format_loads_as_16khz_mono_float(encoded, reference, name):
    samples = load_audio(encoded[name])
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert abs(len(samples) - len(reference)) <= 0.08 * SAMPLE_RATE  # codec padding at most
    assert np.abs(samples).max() <= 1.0 + 1e-3
    assert _best_correlation(samples, reference) > 0.95


@pytest.mark.parametrize("name", SOUNDFILE_SUBTYPES)
def test_lossless_wav_is_exact(encoded, reference, name):
    np.testing.assert_allclose(load_audio(encoded[name]), reference, atol=1e-4)


def test_stereo_48k_equals_mono_16k(tmp_path, reference):
    high = resample(reference, SAMPLE_RATE, 48_000)
    stereo = tmp_path / "stereo48k.wav"
    soundfile.write(stereo, np.stack([high, high], axis=1), 48_000, subtype="FLOAT")
    loaded = load_audio(stereo)
    assert len(loaded) == len(reference)
    # equal up to the resamplers' band edge near 8 kHz: under 2 % relative error
    relative_error = np.linalg.norm(loaded - reference) / np.linalg.norm(reference)
    assert relative_error < 0.02
    assert np.corrcoef(loaded, reference)[0, 1] > 0.999


def test_channels_are_averaged(tmp_path, reference):
    path = tmp_path / "left_only.wav"
    soundfile.write(
        path, np.stack([reference, np.zeros_like(reference)], 1), SAMPLE_RATE, subtype="FLOAT"
    )
    np.testing.assert_allclose(load_audio(path), reference / 2, atol=1e-6)


def test_in_memory_pairs_in_either_order(speech_excerpt, reference):
    pcm = np.round(reference * 32767).astype(np.int16)
    from_file = load_audio(speech_excerpt)
    np.testing.assert_allclose(load_audio((pcm, SAMPLE_RATE)), from_file, atol=1e-4)
    # Gradio's microphone: (sample_rate, int16 array of shape (N, channels))
    gradio = (44_100, np.round(resample(reference, SAMPLE_RATE, 44_100) * 32767).astype(np.int16))
    stereo = (gradio[0], np.stack([gradio[1], gradio[1]], axis=1))
    loaded = load_audio(stereo)
    assert abs(len(loaded) - len(reference)) <= 1
    assert _best_correlation(loaded, reference, max_lag=16) > 0.999
    np.testing.assert_allclose(load_audio((reference, SAMPLE_RATE)), reference)


def test_frame_count_is_rounded_duration_times_fps():
    assert num_motion_frames(np.zeros(16_000)) == 30
    assert num_motion_frames(np.zeros(16_270)) == round(16_270 / 16_000 * 30)  # 30.5 -> 30
    assert num_motion_frames(np.zeros(44_100), 44_100) == 30


# ---- bad input: one typed error each, with a message for people -------------------------


def test_not_audio(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("this is not a sound file\n" * 20)
    with pytest.raises(NotAudioError, match="not an audio file"):
        load_audio(text)
    garbage = tmp_path / "random.bin"
    garbage.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(NotAudioError):
        load_audio(garbage)


def test_video_without_sound_is_not_audio(tmp_path):
    video = tmp_path / "silent.mp4"
    _ffmpeg("-f", "lavfi", "-i", "color=c=black:s=32x32:d=1", "-c:v", "mpeg4", str(video))
    with pytest.raises(NotAudioError, match="no audio track"):
        load_audio(video)


def test_empty(tmp_path):
    zero_bytes = tmp_path / "empty.wav"
    zero_bytes.write_bytes(b"")
    with pytest.raises(EmptyAudioError, match="empty"):
        load_audio(zero_bytes)
    no_frames = tmp_path / "no_frames.wav"
    soundfile.write(no_frames, np.zeros(0, np.float32), SAMPLE_RATE)
    with pytest.raises(EmptyAudioError):
        load_audio(no_frames)
    with pytest.raises(EmptyAudioError):
        load_audio((np.zeros(0, np.float32), SAMPLE_RATE))


def test_too_short(tmp_path):
    short = tmp_path / "short.wav"
    soundfile.write(short, np.zeros(int(0.2 * SAMPLE_RATE), np.float32), SAMPLE_RATE)
    with pytest.raises(AudioTooShortError, match="at least 0.3 s"):
        load_audio(short)
    with pytest.raises(AudioTooShortError):
        load_audio((np.zeros(100, np.float32), SAMPLE_RATE))


def test_too_long(encoded):
    with pytest.raises(AudioTooLongError, match="longer than the 2 s allowed"):
        load_audio(encoded["wav_pcm16"], max_duration_s=2.0)
    with pytest.raises(AudioTooLongError):  # decoded by ffmpeg: stops early, still refused
        load_audio(encoded["m4a"], max_duration_s=2.0)
    with pytest.raises(AudioTooLongError, match="1 minute"):
        load_audio((np.zeros(61 * SAMPLE_RATE, np.float32), SAMPLE_RATE), max_duration_s=60)


def test_unreadable(tmp_path, encoded):
    with pytest.raises(UnreadableAudioError, match="not found"):
        load_audio(tmp_path / "missing.wav")
    with pytest.raises(UnreadableAudioError, match="folder"):
        load_audio(tmp_path)
    damaged = tmp_path / "damaged.m4a"
    damaged.write_bytes(encoded["m4a"].read_bytes()[:600])  # header cut off mid-way
    with pytest.raises(UnreadableAudioError, match="damaged"):
        load_audio(damaged)
    with pytest.raises(UnreadableAudioError, match="NaN"):
        load_audio((np.full(SAMPLE_RATE, np.nan, np.float32), SAMPLE_RATE))


def test_every_error_is_an_audio_value_error():
    for error in (
        NotAudioError,
        EmptyAudioError,
        AudioTooShortError,
        AudioTooLongError,
        UnreadableAudioError,
    ):
        assert issubclass(error, AudioError) and issubclass(error, ValueError)
