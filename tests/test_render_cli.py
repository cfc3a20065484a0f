"""``python -m semges.render``: help, video / still / BVH outputs, and one-line errors on bad input.

Most cases call ``main(argv)`` in this process (the CLI's own code path, without paying for a
fresh interpreter each time); two run the real ``python -m semges.render`` in a subprocess.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from semges.motion import MotionClip, load_motion, save_motion
from semges.render.__main__ import main

DATA = Path(__file__).parent / "data"
SPEECH = DATA / "2_scott_0_1_1_excerpt.wav"
SMALL = "160x96"


@pytest.fixture(scope="module")
def motion_file(tmp_path_factory) -> Path:
    clip = load_motion(DATA / "2_scott_0_1_1.npz")
    short = MotionClip(clip.poses[:12], clip.trans[:12], clip.betas, clip.expressions[:12])
    return save_motion(short, tmp_path_factory.mktemp("motion") / "short.npz")


def run_main(*args: object) -> int:
    try:
        return main([str(arg) for arg in args])
    except SystemExit as exit_:  # argparse usage errors
        return int(exit_.code)


def test_help_documents_every_option():
    result = subprocess.run(
        [sys.executable, "-m", "semges.render", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0
    for option in (
        "--audio",
        "--size",
        "--view",
        "--smplx-model",
        "--bvh",
        "--still",
        "--output",
        "https://smpl-x.is.tue.mpg.de",
        "SMPLX_NEUTRAL_2020.npz",
    ):
        assert option in result.stdout


def test_a_real_run_fails_with_one_line_and_no_traceback(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "semges.render",
            str(tmp_path / "missing.npz"),
            "-o",
            str(tmp_path / "x.mp4"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: motion file not found: {tmp_path / 'missing.npz'}"
    ]


def test_video_still_and_bvh(motion_file, tmp_path):
    video = tmp_path / "out" / "talk.mp4"
    assert (
        run_main(
            motion_file, "--audio", SPEECH, "-o", video, "--size", SMALL, "--view", "full", "-q"
        )
        == 0
    )
    assert video.stat().st_size > 1000
    still = tmp_path / "still.png"
    assert run_main(motion_file, "--still", 3, "-o", still, "--size", SMALL) == 0
    assert Image.open(still).size == (160, 96)
    bvh = tmp_path / "talk.bvh"
    assert run_main(motion_file, "--bvh", "-o", bvh) == 0
    assert bvh.read_text().startswith("HIERARCHY")


@pytest.mark.parametrize(
    "make_args, message",
    [
        (lambda m, t: [t / "missing.npz", "-o", t / "x.mp4"], "motion file not found"),
        (lambda m, t: [t / "junk.npz", "-o", t / "x.mp4"], "not a readable .npz"),
        (lambda m, t: [m, "-o", t / "x.mp4", "--audio", t / "nothing.wav"], "audio file not found"),
        (
            lambda m, t: [m, "-o", t / "x.mp4", "--smplx-model", t / "nothing.npz"],
            "smpl-x.is.tue.mpg.de",
        ),
        (lambda m, t: [m, "-o", t / "x.mp4", "--audio", t / "junk.npz", "--size", SMALL], "ffmpeg"),
        (lambda m, t: [m, "--still", 99, "-o", t / "x.png"], "outside the motion"),
    ],
)
def test_runtime_errors_print_one_line(motion_file, tmp_path, capsys, make_args, message):
    (tmp_path / "junk.npz").write_bytes(b"not a zip archive")
    assert run_main(*make_args(motion_file, tmp_path)) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err
    assert not list(tmp_path.glob("x.*")) and not list(tmp_path.glob(".*partial*"))


@pytest.mark.parametrize(
    "extra",
    [
        ["--size", "721x480"],
        ["--size", "big"],
        ["--view", "side"],
        ["--bvh", "--audio", "a.wav"],
        ["--bvh"],  # the output is .mp4, not .bvh
        ["--bvh-scale", "0"],
    ],
)
def test_usage_errors_exit_2(motion_file, tmp_path, capsys, extra):
    assert run_main(motion_file, "-o", tmp_path / "x.mp4", *extra) == 2
    err = capsys.readouterr().err
    assert "usage:" in err and "Traceback" not in err


def test_motion_at_another_frame_rate_is_refused(tmp_path, capsys):
    path = tmp_path / "fast.npz"
    np.savez(
        path,
        poses=np.zeros((4, 165), np.float32),
        trans=np.zeros((4, 3), np.float32),
        mocap_frame_rate=np.array(60),
    )
    assert run_main(path, "-o", tmp_path / "x.mp4") == 1
    assert "60 fps" in capsys.readouterr().err


def test_a_batch_renders_each_clip_names_failures_and_resumes(motion_file, tmp_path, capsys):
    motions = tmp_path / "motions"
    motions.mkdir()
    for name in ("a", "b"):
        (motions / f"{name}.npz").write_bytes(motion_file.read_bytes())
    (motions / "junk.npz").write_bytes(b"not a zip archive")
    speech = tmp_path / "speech"
    speech.mkdir()
    (speech / "a.wav").write_bytes(SPEECH.read_bytes())  # b has no speech: it fails alone
    out = tmp_path / "out"
    assert run_main(motions, "--audio", speech, "-o", out, "--size", SMALL, "-q") == 1
    captured = capsys.readouterr()
    assert "1 written, 0 already done, 2 failed" in captured.out
    assert "failed: b: no speech for b" in captured.err and "failed: junk: " in captured.err
    assert [p.name for p in out.iterdir()] == ["a.mp4"]

    assert run_main(motions / "a.npz", motions / "b.npz", "--bvh", "-o", out, "-q") == 0
    assert run_main(motions / "a.npz", motions / "b.npz", "--bvh", "-o", out, "-q") == 0
    assert "0 written, 2 already done, 0 failed" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["a.bvh", "a.mp4", "b.bvh"]


def test_batch_shards_split_the_clips(motion_file, tmp_path):
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.npz").write_bytes(motion_file.read_bytes())
    out = tmp_path / "out"
    for k in (1, 2):
        assert run_main(tmp_path, "--shard", f"{k}/2", "--bvh", "-o", out, "-q") == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.bvh", "b.bvh", "c.bvh"]
