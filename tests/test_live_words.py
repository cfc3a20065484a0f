"""Streaming word recognition for the live path (semges.live.words): real Whisper and MiniLM on
real speech, the live generator using the words, and the training lag that matches it."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import numpy as np
import pytest
import soundfile as sf
import torch

from semges.layout import FPS
from semges.live import LiveConfig
from semges.live.words import (
    CausalWordEmbedder,
    IncrementalRecognizer,
    StreamingWordConfig,
    WordBatch,
    WordStream,
    committed_batches,
    recognition_whisper,
)
from semges.speech.alignment import match_words, normalize_word
from semges.speech.audio import SAMPLE_RATE
from semges.speech.text_features import frame_word_features
from semges.speech.types import Word
from tests.test_live import live_generator, push_in_pieces, save_tiny_live_checkpoint

CONFIG = StreamingWordConfig()


@pytest.fixture(scope="module")
def live_checkpoint(tmp_path_factory):
    """Tiny live models that see 64 frames, as the shipped one: words 1-2 s old are in view."""
    return save_tiny_live_checkpoint(tmp_path_factory.mktemp("live") / "pipeline", window=64)


@pytest.fixture(scope="module")
def speech(speech_excerpt) -> np.ndarray:
    samples, _ = sf.read(speech_excerpt, dtype="float32")
    return samples


def recognize_in_steps(recognizer: IncrementalRecognizer, samples: np.ndarray) -> list[WordBatch]:
    """Decode the trailing window every 1.2 s, as a live stream sends them."""
    window = round(CONFIG.window_s * SAMPLE_RATE)
    every = CONFIG.decode_every_steps * LiveConfig().features.hop_frames / FPS
    batches = []
    for end_s in np.arange(every, samples.shape[0] / SAMPLE_RATE + every, every):
        end = round(end_s * SAMPLE_RATE)
        piece = np.zeros(window, np.float32)
        available = samples[max(0, end - window) : end]
        piece[window - available.shape[0] :] = available
        batches.append(recognizer.decode(piece, float(end_s), round(end_s * FPS)))
    return batches


def test_the_recognizer_commits_each_spoken_word_once_in_order(
    speech_frontend, speech, speech_excerpt_words
):
    recognizer = IncrementalRecognizer(
        recognition_whisper(None, "int8"), speech_frontend.word_encoder, CONFIG
    )
    batches = recognize_in_steps(recognizer, speech)
    words = [w for b in batches for w in b.words]
    reference = [normalize_word(w.word) for w in speech_excerpt_words]
    matched = match_words(reference, [normalize_word(w.word) for w in words])
    assert len(matched) >= 0.8 * len(reference)
    assert len(words) <= len(reference) + 2  # no word committed twice
    starts = [w.start for w in words]
    assert starts == sorted(starts)
    for batch in batches:
        end_s = batch.sent_frame / FPS
        assert all(w.end <= end_s - CONFIG.commit_margin_s for w in batch.words)
        assert batch.embeddings.shape == (len(batch.words), speech_frontend.word_encoder.dim)
    known = [b.known_until_s for b in batches]
    assert known == sorted(known) and known[-1] > 0
    # silence is not decoded (Whisper invents words there) and holds no word
    silence = np.zeros(round(CONFIG.window_s * SAMPLE_RATE), np.float32)
    quiet = recognizer.decode(silence, 20.0, 600)
    assert quiet.words == () and quiet.known_until_s == 20.0 - CONFIG.commit_margin_s


def test_a_batch_is_embedded_after_its_sentence_so_far(speech_frontend):
    encoder = speech_frontend.word_encoder
    first = [Word("we", 0.0, 0.2), Word("went", 0.2, 0.4)]
    second = [Word("to", 0.4, 0.5), Word("sea.", 0.5, 0.8)]
    after = [Word("Later", 1.0, 1.3)]
    embedder = CausalWordEmbedder(encoder, context_words=16)
    embedder.add(first)
    np.testing.assert_allclose(embedder.add(second), encoder.embed(first + second)[2:], atol=1e-5)
    # a finished sentence is no context for the next one
    np.testing.assert_allclose(embedder.add(after), encoder.embed(after), atol=1e-5)


def test_training_groups_words_as_the_decodes_commit_them():
    hop, first = 6, 18  # decodes at step ends 18, 54, 90, ... (frames)
    words = [Word("a", 0.0, 0.05), Word("b", 0.2, 0.6), Word("c", 0.7, 1.2), Word("d", 1.3, 2.0)]
    # committed at the first decode at least 0.5 s after the word's end
    assert committed_batches(words, CONFIG, hop, first) == [words[:1], words[1:3], words[3:]]
    low, high = CONFIG.lag_range_s(hop)
    assert low == pytest.approx(0.5 + 0.4) and high == pytest.approx(low + 1.2)


def test_word_features_lay_on_a_window_of_frames():
    words = [Word("one", 0.5, 1.0), Word("two", 3.0, 3.4), Word("x", 2.01, 2.02)]
    embeddings = np.arange(3 * 2, dtype=np.float32).reshape(3, 2)
    text, mask = frame_word_features(words, embeddings, 120)
    window_text, window_mask = frame_word_features(words, embeddings, 40, first_frame=50)
    np.testing.assert_array_equal(window_mask, mask[50:90])
    np.testing.assert_array_equal(window_text, text[50:90])


class TimedRecognizer:
    """Stands in for the Whisper decode where only the thread's timing is under test: each
    decode takes ``seconds`` and commits one word named after its frame."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = threading.Event()

    def decode(self, samples: np.ndarray, end_s: float, sent_frame: int) -> WordBatch:
        self.started.set()
        time.sleep(self.seconds)
        word = Word(str(sent_frame), end_s - 0.6, end_s - 0.5)
        return WordBatch(sent_frame, (word,), np.zeros((1, 2), np.float32), end_s - 0.5)


def test_a_decode_is_used_when_due_never_before_and_waited_for_only_briefly():
    stream = WordStream(TimedRecognizer(0.0), usable_after=12, max_wait_s=0.05)
    stream.send(30, np.zeros(4))
    time.sleep(0.1)
    assert stream.take(36) == []  # done, but not due before step end 42
    assert [b.sent_frame for b in stream.take(42)] == [30]
    stream.close()

    slow = WordStream(TimedRecognizer(0.5), usable_after=12, max_wait_s=0.05)
    slow.send(30, np.zeros(4))
    start = time.perf_counter()
    assert slow.take(42) == []  # due, not done: the step goes on without it
    assert time.perf_counter() - start < 0.3
    assert slow.late == 1
    time.sleep(0.6)
    assert [b.sent_frame for b in slow.take(48)] == [30]  # used as soon as it is done
    slow.close()


def test_waiting_streams_are_exact_and_busy_ones_drop_the_oldest_decode():
    exact = WordStream(TimedRecognizer(0.05), usable_after=6, max_wait_s=None)
    for frame in (6, 12, 18, 24):
        exact.send(frame, np.zeros(4))
    assert [b.sent_frame for b in exact.take(30)] == [6, 12, 18, 24]
    exact.close()

    recognizer = TimedRecognizer(0.3)
    busy = WordStream(recognizer, usable_after=6, max_wait_s=0.0)
    busy.send(6, np.zeros(4))
    assert recognizer.started.wait(1.0)
    for frame in (12, 18, 24):  # two may wait: 12 is dropped
        busy.send(frame, np.zeros(4))
    assert busy.dropped == 1
    time.sleep(1.0)
    assert [b.sent_frame for b in busy.take(30)] == [6, 18, 24]
    busy.close()


def test_a_failed_decode_is_raised_to_the_stream(speech_frontend):
    class Broken(TimedRecognizer):
        def decode(self, samples, end_s, sent_frame):
            raise OSError("no model")

    stream = WordStream(Broken(0.0), usable_after=6, max_wait_s=None)
    stream.send(6, np.zeros(4))
    with pytest.raises(RuntimeError, match="word recognition failed"):
        stream.take(12)
    stream.close()


def test_the_live_generator_uses_words_after_they_are_due(live_checkpoint, speech_frontend, speech):
    whole = live_generator(live_checkpoint, speech_frontend, seed=3, words=True)
    clips = [whole.push(speech)]
    # the words reach the generator: the same rows score other codes without them
    assert whole._word_mask.any() and whole._known_until > 0
    end = whole._rows_end
    _, logits = whole._logits(end)
    known_until, whole._known_until = whole._known_until, 0
    _, without_words = whole._logits(end)
    assert any(not torch.allclose(logits[p], without_words[p]) for p in logits)
    whole._known_until = known_until
    clips.append(whole.flush())
    poses = np.concatenate([c.poses for c in clips])
    statistics = whole.word_statistics()
    assert statistics["words"] >= 8
    low, high = whole.config.words.lag_range_s(whole.config.features.hop_frames)
    assert low - 0.1 <= statistics["word_lag_p50_s"] <= high + 1.0
    assert statistics["late_decodes"] == statistics["dropped_decodes"] == 0

    # any pieces give the same frames, words and all
    live = live_generator(live_checkpoint, speech_frontend, seed=3, words=True)
    in_pieces = push_in_pieces(live, speech, (0.1, 0.5), 0)
    np.testing.assert_allclose(np.concatenate([c.poses for c in in_pieces]), poses, atol=1e-5)

    # the first decode is sent at the first step and used two steps later: until its words
    # could shape a code, the motion is that of the audio alone
    without = live_generator(live_checkpoint, speech_frontend, seed=3, words=False)
    assert not without.recognizes_words
    reference = np.concatenate([c.poses for c in push_in_pieces(without, speech, (10, 10), 0)])
    config = whole.config
    hop = config.features.hop_frames
    first_use = config.first_step_end + config.words.usable_after_steps * hop
    same_until = first_use - config.lookahead_frames - config.decision_frames
    np.testing.assert_allclose(poses[:same_until], reference[:same_until], atol=1e-5)


def test_a_manifest_without_words_runs_on_the_audio_alone():
    values = LiveConfig().to_dict()
    del values["words"]
    assert LiveConfig.from_dict(values).words is None
    assert LiveConfig.from_dict(LiveConfig().to_dict()) == LiveConfig()
    with pytest.raises(ValueError, match="context_s"):
        LiveConfig(words=replace(CONFIG, window_s=9.0, encoder_window_s=10.0))


def test_frames_can_hold_unknown_words(speech_frontend):
    """The generator takes per-frame unknown words: all frames unknown is the window withheld."""
    from tests.tiny_pipeline import tiny_pipeline

    generator = tiny_pipeline(text_dim=8).generator.eval()
    audio = torch.randn(2, 16, generator.config.audio_dim)
    text = torch.randn(2, 16, 8)
    mask = torch.ones(2, 16, dtype=torch.bool)
    speaker = torch.tensor([2, 2])
    with torch.inference_mode():
        window = generator(audio, text, mask, speaker, words_withheld=torch.tensor([True, False]))
        frames = torch.zeros(2, 16, dtype=torch.bool)
        frames[0] = True
        per_frame = generator(audio, text, mask, speaker, words_withheld=frames)
    for part, logits in window.code_logits.items():
        torch.testing.assert_close(per_frame.code_logits[part], logits)


def test_training_hides_the_words_of_each_windows_last_lag():
    from datetime import timedelta

    from training.config import GeneratorTrainConfig, RunConfig
    from training.generator import unknown_word_frames
    from training.loop import Process

    process = Process(0, 1, torch.device("cpu"), timedelta(seconds=1))
    config = GeneratorTrainConfig(
        run=RunConfig(batch_size=3), word_lag_s_min=0.5, word_lag_s_max=0.5, vqvae_dir="x"
    )
    mask = torch.zeros(3, 64, dtype=torch.bool)
    mask[:, 40:52] = True  # a word over frames 40-51: the cut at 49 (0.5 s) falls in it
    withheld = torch.tensor([False, True, False])
    unknown = unknown_word_frames(config, 0, process, mask, withheld)
    assert unknown[1].all()
    for row in (0, 2):
        assert not unknown[row, :40].any() and unknown[row, 40:].all()
    offline = replace(config, word_lag_s_min=0.0, word_lag_s_max=0.0)
    torch.testing.assert_close(
        unknown_word_frames(offline, 0, process, mask, withheld),
        withheld[:, None].expand(3, 64),
    )
