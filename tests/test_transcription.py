"""Whisper words and timings on real and synthetic speech; forced alignment of given text."""

from __future__ import annotations

import espeak_speech
import numpy as np
import pytest
import soundfile

from semges.speech import Word
from semges.speech.alignment import match_words, normalize_word, spread_over_speech
from semges.speech.audio import SAMPLE_RATE
from semges.speech.transcription import TimingRefinement, refine_word_times

ONSET_TOLERANCE_S = 0.15  # median |onset error|; the BEAT2 benchmark measures ~0.05 s


def _onset_errors(reference: list[Word], words: list[Word]) -> np.ndarray:
    pairs = match_words([w.word for w in reference], [w.word for w in words])
    return np.array([words[j].start - reference[i].start for i, j in pairs])


def _check_timing(words: list[Word], duration: float) -> None:
    starts = np.array([w.start for w in words])
    assert np.all(np.diff(starts) >= 0), "words out of order"
    assert all(0.0 <= w.start <= w.end <= duration + 1e-6 for w in words)


def test_transcribes_real_speech(speech_frontend, speech_excerpt, speech_excerpt_words):
    timed = speech_frontend.timed_words(speech_excerpt)
    assert timed.language_note is None and timed.alignment_note is None  # English, recognised
    words = timed.words
    _check_timing(words, 6.45)
    pairs = match_words([w.word for w in speech_excerpt_words], [w.word for w in words])
    assert len(pairs) >= 0.85 * len(speech_excerpt_words)
    errors = _onset_errors(speech_excerpt_words, words)
    assert np.median(np.abs(errors)) <= ONSET_TOLERANCE_S


def test_aligns_given_text_on_real_speech(speech_frontend, speech_excerpt, speech_excerpt_words):
    text = " ".join(w.word for w in speech_excerpt_words)
    features = speech_frontend.extract(speech_excerpt, text)
    assert [w.word for w in features.words] == text.split()
    assert features.alignment_note is None
    _check_timing(features.words, 6.45)
    errors = np.array([a.start - b.start for a, b in zip(features.words, speech_excerpt_words)])
    assert np.median(np.abs(errors)) <= ONSET_TOLERANCE_S


@pytest.fixture(scope="module")
def espeak_clip():
    if not espeak_speech.available():
        pytest.skip("espeak-ng is not installed")
    text = (
        "Yesterday I walked down to the harbour to watch the boats come in. "
        "The fishermen were tired but happy, because the catch had been good all week."
    )
    samples, rate, words = espeak_speech.synthesize(text)
    return text, samples, rate, words


def test_aligns_synthetic_speech_to_espeak_word_times(speech_frontend, espeak_clip):
    text, samples, rate, reference = espeak_clip
    words = speech_frontend.transcribe((samples, rate), text)
    assert [w.word for w in words] == text.split()  # the user's words, punctuation and all
    _check_timing(words, samples.shape[0] / rate)
    assert np.median(np.abs(_onset_errors(reference, words))) <= ONSET_TOLERANCE_S


LONG_TEXT = (
    "Yesterday I walked down to the harbour to watch the boats come in. The fishermen were "
    "tired but happy, because the catch had been good all week. A small girl waved at them "
    "from the pier, and one of the sailors threw her an orange. Later that evening we cooked "
    "dinner together and talked about our plans for the summer. My brother wants to travel "
    "across the mountains by bicycle, while I would rather stay near the sea and read. "
    "Our grandmother laughed and said that both of us would change our minds by June."
)


def test_long_audio_is_aligned_window_by_window(speech_frontend):
    """Over 30 s of speech: aligned in several Whisper windows, no word lost or misplaced."""
    if not espeak_speech.available():
        pytest.skip("espeak-ng is not installed")
    samples, rate, reference = espeak_speech.synthesize(LONG_TEXT, words_per_minute=150)
    duration = samples.shape[0] / rate
    assert duration > 30.0
    words = speech_frontend.transcribe((samples, rate), LONG_TEXT)
    assert [w.word for w in words] == LONG_TEXT.split()
    _check_timing(words, duration)
    errors = _onset_errors(reference, words)
    assert len(errors) >= 0.95 * len(reference)  # espeak splits a few words its own way
    assert np.median(np.abs(errors)) <= ONSET_TOLERANCE_S
    assert np.abs(errors).max() < 1.0


def test_text_that_does_not_match_falls_back_and_says_so(speech_frontend, speech_excerpt):
    text = "Quantum chromodynamics describes quarks gluons and the colour charge"
    features = speech_frontend.extract(speech_excerpt, text)
    assert [w.word for w in features.words] == text.split()
    assert features.alignment_note and "spread over the voiced parts" in features.alignment_note
    _check_timing(features.words, 6.45)


def test_blank_text_means_transcribe(speech_frontend, speech_excerpt):
    assert speech_frontend.transcribe(speech_excerpt, "  ") == speech_frontend.transcribe(
        speech_excerpt
    )


def test_silence_gives_no_words(speech_frontend):
    assert speech_frontend.transcribe((np.zeros(2 * SAMPLE_RATE, np.float32), SAMPLE_RATE)) == []


def test_spread_over_speech_uses_voiced_parts_only():
    speech = np.array([[1.0, 2.0], [3.0, 4.0]])
    words = spread_over_speech(["aa", "bb", "cc", "dd"], 0.0, 5.0, speech)  # 0.5 s each
    assert [(w.start, w.end) for w in words] == [(1.0, 1.5), (1.5, 2.0), (3.0, 3.5), (3.5, 4.0)]


def test_refinement_moves_starts_out_of_silence():
    speech = np.array([[1.0, 2.0], [3.0, 4.0]])
    raw = [Word("a", 1.1, 1.9), Word("b", 2.5, 3.5)]  # b starts in the pause
    refined = refine_word_times(raw, speech, 5.0, TimingRefinement(shift_s=0.0))
    assert refined == [Word("a", 1.1, 1.9), Word("b", 3.0, 3.5)]
    shifted = refine_word_times(raw, speech, 5.0, TimingRefinement(shift_s=0.1))
    assert (shifted[0].start, shifted[0].end) == pytest.approx((1.0, 1.8))


def test_normalized_spellings_match():
    assert normalize_word("Weekends,") == normalize_word("weekends") == "weekends"
    assert normalize_word("I'll") == "i'll"
    assert match_words(["the", "first", "thing"], ["The", "first,", "THING."]) == [
        (0, 0),
        (1, 1),
        (2, 2),
    ]


def test_bundled_models_are_found_offline():
    from semges.speech.text_features import bundled_text_model_path
    from semges.speech.transcription import bundled_whisper_path

    assert (bundled_whisper_path() / "model.bin").is_file()
    assert (bundled_text_model_path() / "config.json").is_file()


def test_excerpt_is_real_16k_speech(speech_excerpt):
    info = soundfile.info(speech_excerpt)
    assert (info.samplerate, info.channels) == (SAMPLE_RATE, 1)
    assert 5.0 <= info.duration <= 8.0


def test_each_word_is_aligned_by_the_window_that_hears_it_in_its_middle():
    from semges.speech.alignment import _owned_span, _owning_windows
    from semges.speech.encoder import EncodedWindow

    # a 65 s clip: encoder windows at 0, 20 and 40 s (the last one 25 s long)
    windows = [
        EncodedWindow(0, 0, 3000, None),
        EncodedWindow(1, 2000, 3000, None),
        EncodedWindow(2, 4000, 2500, None),
    ]
    centres = np.array([0.5, 24.9, 25.1, 44.9, 45.1, 64.9])
    assert _owning_windows(centres, windows).tolist() == [0, 0, 1, 1, 2, 2]
    spans = [_owned_span(i, windows, 65.0) for i in range(3)]
    assert spans == [(0.0, 25.0), (25.0, 45.0), (45.0, 65.0)]  # the clip, shared without gaps
    for (start, end), window in zip(spans, windows):  # every share lies 5 s inside its window
        assert window.start_s <= max(0.0, start - 5.0) and window.end_s >= min(65.0, end + 5.0)
