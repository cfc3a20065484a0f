"""BEAT2 file readers and training windows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from semges import layout
from training import beat2_files as files
from training.beat2_data import ClipData, MotionWindows, collate, time_slice


def test_semantic_file_with_header_and_scores(tmp_path: Path) -> None:
    path = tmp_path / "sem.txt"
    path.write_text(
        "type\tstart\tend\tduration\tscore\tkeywords\n"
        "deictic\t0.10\t0.20\t0.10\t0.5\tyou\n\n"
        "iconic\t0.15\t0.30\t0.15\t0.9\tbig\n"
    )
    spans = files.read_semantic_spans(path)
    assert [s.keywords for s in spans] == ["you", "big"]
    scores = files.semantic_scores(spans, 12)
    centres = (np.arange(12) + 0.5) / layout.FPS
    expected = np.where(
        (centres >= 0.15) & (centres < 0.30),
        0.9,
        np.where((centres >= 0.10) & (centres < 0.20), 0.5, 0.0),
    )
    np.testing.assert_allclose(scores, expected)


def test_list_clips_filters_speaker_split_and_missing_files(tmp_path: Path) -> None:
    (tmp_path / files.SPLIT_FILE).write_text(
        "id,type\n2_scott_0_1_1,train\n2_scott_0_2_2,train\n"
        "1_wayne_0_1_1,train\n2_scott_0_3_3,test\n"
    )
    for clip in ("2_scott_0_1_1", "1_wayne_0_1_1", "2_scott_0_3_3"):
        for sub, suffix in (
            (files.MOTION_DIR, ".npz"),
            (files.WAVE_DIR, ".wav"),
            (files.TEXTGRID_DIR, ".TextGrid"),
        ):
            (tmp_path / sub).mkdir(exist_ok=True)
            (tmp_path / sub / f"{clip}{suffix}").touch()
    records = files.list_clips(tmp_path, [2], ["train"])
    assert [r.clip_id for r in records] == ["2_scott_0_1_1"]  # 0_2_2 has no files
    assert records[0].speaker == 2 and records[0].sem is None
    with pytest.raises(files.DatasetError):
        files.list_clips(tmp_path, [5], ["train"])


def _clip(num_frames: int, mirrored: bool = False) -> ClipData:
    return ClipData(
        clip_id="2_x_0_1_1",
        speaker=2,
        mirrored=mirrored,
        parts={
            name: torch.zeros(num_frames, part.rot6d_dim)
            for name, part in layout.GENERATED_PARTS.items()
        },
        audio=torch.arange(num_frames, dtype=torch.float32)[:, None],
        text=torch.zeros(num_frames, 3),
        word_mask=torch.zeros(num_frames, dtype=torch.bool),
        semantic=torch.zeros(num_frames),
    )


def test_windows_cover_clips_with_the_stride() -> None:
    dataset = MotionWindows([_clip(100), _clip(20)], window=32, stride=16)
    assert len(dataset) == 5  # starts 0, 16, 32, 48, 64 in the first clip; second is too short
    batch = collate([dataset[1], dataset[4]])
    assert batch["audio"][:, 0, 0].tolist() == [16.0, 64.0]
    assert batch["motion/hands"].shape == (2, 32, layout.HANDS.rot6d_dim)
    assert batch["speaker"].tolist() == [2, 2]


def test_windows_say_whether_their_motion_is_mirrored() -> None:
    dataset = MotionWindows([_clip(64), _clip(64, mirrored=True)], window=32, stride=32)
    batch = collate([dataset[i] for i in range(len(dataset))])
    assert batch["mirrored"].tolist() == [False, False, True, True]


def test_time_split_keeps_the_first_fraction() -> None:
    assert time_slice(100, (0.0, 0.75)) == slice(0, 75)
    assert time_slice(1906, (0.75, 1.0)) == slice(1430, 1906)
    with pytest.raises(ValueError):
        time_slice(100, (0.5, 0.5))
