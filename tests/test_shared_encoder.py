"""Decode once, encode once: the typed Audio, the chunked log-mel and prosody, and one
Whisper encoder pass shared by recognition and the audio features."""

from __future__ import annotations

import numpy as np
import pytest

from semges.layout import FPS
from semges.speech import audio_features as features_module
from semges.speech import encoder as encoder_module
from semges.speech.audio import SAMPLE_RATE, Audio, decode_audio, load_audio
from semges.speech.audio_features import audio_features, prosody_features
from semges.speech.encoder import log_mel, window_starts
from semges.speech.recognition import _near_speech, same_word
from semges.speech.types import Word

LONG_SPEECH_S = 35  # past one 30 s encoder window: two windows meet inside it


def test_decode_audio_gives_typed_audio_once(speech_excerpt):
    audio = decode_audio(speech_excerpt)
    assert isinstance(audio, Audio) and audio.source == speech_excerpt
    assert audio.sample_rate == SAMPLE_RATE and audio.samples.dtype == np.float32
    assert audio.duration_s == pytest.approx(audio.samples.shape[0] / SAMPLE_RATE)
    assert audio.num_motion_frames == round(audio.duration_s * FPS)
    assert decode_audio(audio) is audio  # already decoded: used as it is
    np.testing.assert_array_equal(load_audio(speech_excerpt), audio.samples)
    with pytest.raises(ValueError):
        Audio(np.zeros((2, 100), np.float32))


def test_log_mel_in_pieces_equals_the_whole_clip(speech_frontend, speech_excerpt, monkeypatch):
    whisper = speech_frontend.whisper
    samples = load_audio(speech_excerpt)
    whole = whisper.feature_extractor(samples)
    monkeypatch.setattr(encoder_module, "MEL_CHUNK_FRAMES", 170)  # several pieces
    pieces = log_mel(whisper, samples)
    assert pieces.shape == whole.shape
    np.testing.assert_allclose(pieces, whole, atol=1e-5)


def test_prosody_in_pieces_equals_one_piece(speech_excerpt, monkeypatch):
    samples = load_audio(speech_excerpt)
    frames = round(samples.shape[0] * FPS / SAMPLE_RATE)
    whole = prosody_features(samples, frames)
    monkeypatch.setattr(features_module, "PROSODY_CHUNK_FRAMES", 37)  # uneven pieces
    pieces = prosody_features(samples, frames)
    np.testing.assert_allclose(pieces, whole, atol=1e-5)


def test_extract_shares_the_encoder_pass(speech_frontend, speech_excerpt):
    """The features of one shared pass equal the features computed on their own."""
    features = speech_frontend.extract(speech_excerpt)
    alone = audio_features(speech_frontend.whisper, load_audio(speech_excerpt))
    np.testing.assert_array_equal(features.audio, alone)
    assert [w.word for w in features.words] == [
        w.word for w in speech_frontend.transcribe(speech_excerpt)
    ]


@pytest.mark.slow
def test_long_speech_words_are_ordered_and_not_doubled(speech_frontend, speech_excerpt):
    """35 s: two encoder windows; the words where they meet are taken once."""
    excerpt = load_audio(speech_excerpt)
    samples = np.resize(excerpt, LONG_SPEECH_S * SAMPLE_RATE)
    assert len(window_starts(speech_frontend.whisper, LONG_SPEECH_S * 100)) == 2
    words = speech_frontend.transcribe(Audio(samples))
    once = speech_frontend.transcribe(Audio(excerpt))
    starts = np.array([w.start for w in words])
    assert (np.diff(starts) >= 0).all()
    copies = samples.shape[0] / excerpt.shape[0]  # 5.4 copies of the excerpt
    assert 0.85 * copies * len(once) <= len(words) <= 1.1 * copies * len(once)


def test_words_in_silence_are_dropped():
    speech = np.array([[1.0, 2.0], [5.0, 6.0]])
    assert _near_speech(Word("yes", 1.5, 1.8), speech)
    assert _near_speech(Word("edge", 2.05, 2.4), speech)  # within the tolerance
    assert not _near_speech(Word("invented", 3.0, 3.5), speech)
    assert not _near_speech(Word("anything", 0.0, 1.0), np.zeros((0, 2)))


def test_a_word_decoded_by_two_windows_is_recognised():
    assert same_word(Word("weekends,", 10.0, 10.4), Word("weekends", 10.02, 10.38))
    assert not same_word(Word("the", 10.0, 10.2), Word("first", 10.2, 10.5))


def test_transcription_refines_the_raw_recognition(speech_frontend, speech_excerpt):
    """``recognise`` gives the raw words that ``transcribe`` refines: one recogniser for the
    product and for measuring it."""
    from semges.speech.transcription import refine_word_times, speech_intervals

    audio = decode_audio(speech_excerpt)
    raw = speech_frontend.recognise(audio)
    assert raw.words and raw.sounds_like_english
    timing = speech_frontend.config.timing
    speech = speech_intervals(audio.samples, timing.silence_top_db)
    assert speech_frontend.transcribe(audio) == refine_word_times(
        raw.words, speech, audio.duration_s, timing
    )
