"""The synthetic corpus: BEAT2 layout, exact word timings, recoverable keyword gestures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from semges.motion import MotionClip, load_motion
from training import beat2_files as files
from training.synthetic import KEYWORDS, keyword_gesture_recall, write_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("synthetic"), clips=2, seed=1)


def test_corpus_is_in_the_beat2_layout(corpus: Path) -> None:
    records = files.list_clips(corpus, [2], ["train", "test"])
    assert {r.split for r in records} == {"train", "test"}
    for record in records:
        motion = load_motion(record.motion)
        samples, rate = sf.read(record.wav)
        assert rate == 16000
        assert motion.num_frames == round(samples.size / rate * 30)
        words = files.read_words(record.textgrid)
        assert all(a.end <= b.start for a, b in zip(words, words[1:]))
        spans = files.read_semantic_spans(record.sem)
        assert [s.keywords for s in spans] == [w.word for w in words if w.word in KEYWORDS]


def test_keyword_recall_is_one_on_the_real_motion_and_low_at_rest(corpus: Path) -> None:
    records = files.list_clips(corpus, [2], ["train", "test"])
    motions = [load_motion(r.motion) for r in records]
    words = [files.read_words(r.textgrid) for r in records]
    assert keyword_gesture_recall(motions, words) == 1.0
    still = [MotionClip(np.repeat(m.poses[:1], m.num_frames, axis=0), m.trans) for m in motions]
    assert keyword_gesture_recall(still, words) < 0.5
