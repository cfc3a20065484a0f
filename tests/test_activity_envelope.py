"""The envelope that brings the body to rest in pauses and at the end of a clip."""

from __future__ import annotations

import numpy as np

from semges import layout
from semges.activity_envelope import activity_envelope, frames_to_nearest_word

FPS = layout.FPS


def test_distance_to_nearest_word() -> None:
    mask = np.array([0, 1, 0, 0, 0, 1, 0], bool)
    assert frames_to_nearest_word(mask).tolist() == [1, 0, 1, 2, 1, 0, 1]
    assert np.isinf(frames_to_nearest_word(np.zeros(3, bool))).all()


def test_envelope_keeps_speech_and_short_pauses_and_rests_in_long_silence() -> None:
    mask = np.zeros(FPS * 20, bool)
    mask[: FPS * 5] = True  # speech
    mask[FPS * 6 : FPS * 9] = True  # after a 1 s pause, more speech
    # 10 s of silence from 9 s to 19 s, then one more second of speech
    mask[FPS * 19 :] = True
    envelope = activity_envelope(mask, FPS, hold_after_words_s=0.75, settle_s=0.5)
    assert envelope[: FPS * 9].min() == 1.0  # the 1 s pause is left alone
    assert envelope[FPS * 11 : FPS * 17].max() == 0.0  # deep in the silence: at rest
    assert np.all(np.diff(envelope[FPS * 9 : FPS * 11]) <= 0)  # eases down
    assert envelope[-1] == 0.0 and envelope[-FPS] == 1.0  # settles over the last 0.5 s
    assert np.abs(np.diff(envelope)).max() < 0.1  # no jumps
