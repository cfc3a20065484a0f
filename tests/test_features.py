"""Frame-aligned features: exact frame counts, window stitching, prosody, word embeddings."""

from __future__ import annotations

import numpy as np
import pytest

from semges.layout import FPS
from semges.speech import SpeechFeatures, Word
from semges.speech.audio import SAMPLE_RATE, load_audio, num_motion_frames
from semges.speech.audio_features import (
    NUM_PROSODY_CHANNELS,
    PROSODY_CHANNELS,
    audio_features,
    prosody_features,
    whisper_encoder_states,
)
from semges.speech.text_features import frame_word_features, sentence_spans

ENERGY, ONSET, LOG_F0, VOICING = (PROSODY_CHANNELS.index(c) for c in PROSODY_CHANNELS)


def _tone(frequency_hz, seconds: float) -> np.ndarray:
    """A sine, or a glide when ``frequency_hz`` is a (start, end) pair (log sweep)."""
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    if isinstance(frequency_hz, tuple):
        start, end = frequency_hz
        instantaneous = start * (end / start) ** (t / seconds)
        phase = 2 * np.pi * np.cumsum(instantaneous) / SAMPLE_RATE
    else:
        phase = 2 * np.pi * frequency_hz * t
    return (0.5 * np.sin(phase)).astype(np.float32)


def test_extract_contract(speech_frontend, speech_excerpt):
    features = speech_frontend.extract(speech_excerpt)
    assert isinstance(features, SpeechFeatures)
    frames = num_motion_frames(load_audio(speech_excerpt))
    assert frames == round(6.45 * FPS)
    assert features.audio.shape == (frames, speech_frontend.audio_dim)
    assert features.text.shape == (frames, speech_frontend.text_dim)
    assert features.word_mask.shape == (frames,) and features.word_mask.dtype == bool
    assert features.audio.dtype == np.float32 and features.text.dtype == np.float32
    assert np.isfinite(features.audio).all() and np.isfinite(features.text).all()
    assert 0.5 < features.word_mask.mean() < 0.95  # speech with a pause at each end
    assert np.all(features.text[~features.word_mask] == 0)
    assert features.words and features.alignment_note is None


def test_dimensions(speech_frontend):
    assert speech_frontend.audio_dim == 384 + NUM_PROSODY_CHANNELS == 388
    assert speech_frontend.text_dim == 384


@pytest.mark.parametrize("seconds", [0.3, 1.0171, 7.0103, 31.37])
def test_feature_length_is_exact_for_odd_durations(speech_frontend, speech_excerpt, seconds):
    speech = load_audio(speech_excerpt)
    samples = np.resize(speech, round(seconds * SAMPLE_RATE))  # repeats the excerpt if needed
    matrix = audio_features(speech_frontend.whisper, samples)
    assert matrix.shape == (round(seconds * FPS), speech_frontend.audio_dim)
    assert np.isfinite(matrix).all()


@pytest.fixture(scope="module")
def long_speech(speech_excerpt) -> np.ndarray:
    """45 s: seven copies of the excerpt, so any 30 s prefix has the same loudest frame."""
    return np.resize(load_audio(speech_excerpt), 45 * SAMPLE_RATE)


def test_long_audio_keeps_window_centres(speech_frontend, long_speech):
    """Frames well inside the first window equal encoding the first 30 s on its own."""
    whisper = speech_frontend.whisper
    frames = num_motion_frames(long_speech)
    stitched = whisper_encoder_states(whisper, long_speech, frames)
    alone = whisper_encoder_states(whisper, long_speech[: 30 * SAMPLE_RATE], 30 * FPS)
    inside = slice(0, 24 * FPS)  # the first window is kept up to 24.5 s (crossfade 24.5-25.5)
    cosine = np.sum(stitched[inside] * alone[inside], 1) / (
        np.linalg.norm(stitched[inside], axis=1) * np.linalg.norm(alone[inside], axis=1)
    )
    assert cosine.min() > 0.98
    assert np.isfinite(stitched).all() and np.abs(stitched[-FPS:]).sum(1).min() > 0  # tail kept


def test_no_seam_between_windows(speech_frontend, long_speech):
    states = whisper_encoder_states(
        speech_frontend.whisper, long_speech, num_motion_frames(long_speech)
    )
    steps = np.linalg.norm(np.diff(states, axis=0), axis=1)  # frame-to-frame change
    seam = slice(24 * FPS, 26 * FPS)  # the handover from window 1 to window 2 is at 25 s
    elsewhere = np.concatenate([steps[: 23 * FPS], steps[27 * FPS :]])
    assert steps[seam].max() <= np.percentile(elsewhere, 99.5)


def test_prosody_of_a_tone_and_silence():
    samples = np.concatenate([_tone(200.0, 1.0), np.zeros(SAMPLE_RATE, np.float32)])
    prosody = prosody_features(samples, 2 * FPS)
    assert prosody.shape == (2 * FPS, NUM_PROSODY_CHANNELS)
    tone, silence = slice(5, FPS - 5), slice(FPS + 5, 2 * FPS)
    assert prosody[tone, VOICING].min() > 0.9 and prosody[silence, VOICING].max() == 0
    assert prosody[tone, ENERGY].min() > 0.95 and prosody[silence, ENERGY].max() < 0.05
    assert np.abs(prosody[tone, LOG_F0]).max() < 0.02  # the only pitch is the median pitch
    assert (prosody[:, ONSET] >= 0).all()


def test_pitch_follows_a_glide():
    prosody = prosody_features(_tone((150.0, 300.0), 2.0), 2 * FPS)  # one octave up
    pitch = prosody[3:-3, LOG_F0]
    assert pitch[0] == pytest.approx(-0.5, abs=0.1) and pitch[-1] == pytest.approx(0.5, abs=0.1)
    assert np.all(np.diff(pitch) > -0.02)


def test_onsets_peak_where_sounds_start():
    burst = _tone(300.0, 0.15)
    samples = np.zeros(2 * SAMPLE_RATE, np.float32)
    starts_s = (0.4, 1.0, 1.6)
    for start in starts_s:
        index = round(start * SAMPLE_RATE)
        samples[index : index + burst.shape[0]] = burst
    onset = prosody_features(samples, 2 * FPS)[:, ONSET]
    for start in starts_s:
        frame = round(start * FPS)
        assert onset[frame - 2 : frame + 3].max() > 0.8
    assert onset[round(0.7 * FPS)] < 0.2  # the middle of a quiet stretch


def test_words_are_laid_on_the_frame_grid():
    words = [Word("a", 0.1, 0.2), Word("b", 0.2, 0.2), Word("c", 0.5, 0.7)]
    embeddings = np.arange(3 * 2, dtype=np.float32).reshape(3, 2) + 1
    text, mask = frame_word_features(words, embeddings, 30)
    assert np.flatnonzero(mask).tolist() == [3, 4, 5, 6, 15, 16, 17, 18, 19, 20]
    # frame i carries the word spoken at i / FPS: a covers 3-5; b (zero length) gets frame 6
    assert np.all(text[3:6] == embeddings[0]) and np.all(text[6] == embeddings[1])
    assert np.all(text[15:21] == embeddings[2]) and np.all(text[~mask] == 0)


def test_sentences_split_at_punctuation_pauses_and_length():
    words = [
        Word(w, i * 0.3, i * 0.3 + 0.2) for i, w in enumerate("Hi there. How are you?".split())
    ]
    assert sentence_spans(words) == [(0, 2), (2, 5)]
    paused = [Word("one", 0.0, 0.2), Word("two", 3.0, 3.2)]
    assert sentence_spans(paused) == [(0, 1), (1, 2)]
    many = [Word("word", i * 0.3, i * 0.3 + 0.2) for i in range(100)]
    assert all(b - a <= 48 for a, b in sentence_spans(many))


def test_word_embeddings_are_contextual_within_a_sentence_only(speech_frontend):
    encoder = speech_frontend.word_encoder

    def timed(text: str) -> list[Word]:
        return [Word(w, i * 0.3, i * 0.3 + 0.2) for i, w in enumerate(text.split())]

    river = encoder.embed(timed("We sat on the river bank."))
    money = encoder.embed(timed("I paid at the bank."))
    assert river.shape == (6, encoder.dim)
    cosine = river[5] @ money[4] / (np.linalg.norm(river[5]) * np.linalg.norm(money[4]))
    assert cosine < 0.95  # "bank" differs with its sentence
    two = encoder.embed(timed("We sat on the river bank. I paid at the bank."))
    np.testing.assert_allclose(two[:6], river, atol=1e-4)  # each sentence encoded on its own
    np.testing.assert_allclose(two[6:], money, atol=1e-4)


def test_loading_whisper_leaves_torch_thread_count_alone():
    import torch

    from semges.speech.transcription import load_whisper

    before = torch.get_num_threads()
    whisper_threads = 1 if before > 1 else 2
    load_whisper(cpu_threads=whisper_threads)
    assert torch.get_num_threads() == before
