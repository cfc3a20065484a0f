"""Batches: ``python -m semges generate`` over folders, BEAT2 splits and shards.

The end-to-end cases run the real command in a subprocess on short cuts of real speech with a
tiny checkpoint: a corrupt file fails alone (named, exit status 1), and a run killed part-way
resumes where it stopped.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from import_probe import modules_loaded_by

from semges import cli
from semges.batch import (
    BatchError,
    Clip,
    Shard,
    beat2_clips,
    find_clips,
    take_shard,
)
from semges.beat2_layout import SPLIT_FILE, WAVE_DIR, DatasetError
from semges.motion import load_motion

CLIP_SECONDS = 1.5
KILL_WAIT_S = 240  # generous: the machine may be shared; the test ends as soon as a clip is done


def _generate(*args: object, **popen) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "semges", "generate", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
        **popen,
    )


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, speech_frontend) -> Path:
    from tiny_pipeline import tiny_pipeline

    folder = tmp_path_factory.mktemp("checkpoint")
    tiny_pipeline(
        audio_dim=speech_frontend.audio_dim, text_dim=speech_frontend.text_dim
    ).save_pretrained(folder)
    return folder


def _speech_folder(folder: Path, speech_excerpt: Path, count: int) -> list[str]:
    """``count`` cuts of real speech, clip0.wav ...; returns their names."""
    samples, rate = sf.read(speech_excerpt)
    step = int(CLIP_SECONDS * rate)
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for index in range(count):
        start = (index * step) % (len(samples) - step)
        sf.write(folder / f"clip{index}.wav", samples[start : start + step], rate)
        names.append(f"clip{index}")
    return names


def _clips(*names: str) -> list[Clip]:
    return [Clip(name, Path(f"{name}.wav")) for name in names]


def test_shards_cover_every_clip_once():
    names = [f"{speaker}_x_0_{index}" for speaker in range(1, 5) for index in range(5)]
    clips = _clips(*names)
    shards = [take_shard(reversed(clips), Shard.parse(f"{k}/3")) for k in (1, 2, 3)]
    covered = [clip.name for shard in shards for clip in shard]
    assert sorted(covered) == sorted(names)  # each once
    assert sorted(len(shard) for shard in shards) == [6, 7, 7]
    assert take_shard(clips, Shard(2, 3)) == shards[1]  # the input order does not matter
    assert take_shard(clips, None) == sorted(clips)


@pytest.mark.parametrize("text", ["0/3", "4/3", "2", "a/b", "1/0"])
def test_bad_shards_are_refused(text, capsys):
    with pytest.raises(BatchError):
        Shard.parse(text)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["generate", "speech/", "-o", "out", "--shard", text])
    assert exit_info.value.code == 2 and "K/N" in capsys.readouterr().err


def test_a_folder_gives_its_audio_files_sorted(tmp_path):
    for name in ("b.wav", "a.FLAC", "notes.txt", "c.mp3"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "nested").mkdir()
    clips = find_clips([tmp_path, Path("elsewhere/z.wav")], [".wav", ".flac", ".mp3"])
    assert [clip.name for clip in clips] == ["a", "b", "c", "z"]
    with pytest.raises(BatchError, match="two inputs are named 'b'"):
        find_clips([tmp_path, Path("other/b.wav")], [".wav"])
    with pytest.raises(BatchError, match="no input files"):
        find_clips([tmp_path / "nested"], [".wav"])


def test_a_beat2_split_gives_its_speech_and_speakers(tmp_path):
    (tmp_path / SPLIT_FILE).write_text(
        "id,type\n2_scott_0_1_1,train\n4_lawrence_0_2_2,test\n1_wayne_0_3_3,test\n"
    )
    clips = beat2_clips(tmp_path, "test")
    assert clips == [
        Clip("1_wayne_0_3_3", tmp_path / WAVE_DIR / "1_wayne_0_3_3.wav", 1),
        Clip("4_lawrence_0_2_2", tmp_path / WAVE_DIR / "4_lawrence_0_2_2.wav", 4),
    ]
    with pytest.raises(DatasetError, match="no val clips"):
        beat2_clips(tmp_path, "val")
    with pytest.raises(DatasetError, match="not a BEAT2 folder"):
        beat2_clips(tmp_path / "missing", "test")


def test_usage_errors(capsys):
    for argv in (
        ["generate", "-o", "out"],
        ["generate", "a.wav", "b.wav", "--text", "hi", "-o", "out"],
        ["generate", "a.wav", "--data", "beat2", "-o", "out"],
    ):
        with pytest.raises(SystemExit) as exit_info:
            cli.main(argv)
        assert exit_info.value.code == 2 and "usage:" in capsys.readouterr().err


@pytest.mark.slow
def test_a_corrupt_file_fails_alone(tmp_path, speech_excerpt, checkpoint):
    speech = tmp_path / "speech"
    names = _speech_folder(speech, speech_excerpt, 3)
    (speech / "broken.wav").write_bytes(b"RIFF" + os.urandom(2000))
    out = tmp_path / "out"
    result = _generate(speech, "-o", out, "--checkpoint", checkpoint, "--workers", 2, "-q")
    assert result.returncode == 1, result.stderr
    assert "failed: broken: " in result.stderr and "Traceback" not in result.stderr
    assert "3 written, 0 already done, 1 failed" in result.stdout
    frames = round(CLIP_SECONDS * 30)
    for name in names:
        assert load_motion(out / f"{name}.npz").num_frames == frames
        assert (out / f"{name}.words.json").is_file()
    assert not (out / "broken.npz").exists()


@pytest.mark.slow
def test_a_killed_run_resumes(tmp_path, speech_excerpt, checkpoint):
    speech = tmp_path / "speech"
    names = _speech_folder(speech, speech_excerpt, 4)
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "semges",
        "generate",
        str(speech),
        "-o",
        str(out),
        "--checkpoint",
        str(checkpoint),
        "--workers",
        "1",
        "-q",
    ]
    run = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + KILL_WAIT_S
    try:
        while not _written_motions(out) and run.poll() is None:
            assert time.monotonic() < deadline, "no clip finished in time"
            time.sleep(0.05)
    finally:
        os.killpg(run.pid, signal.SIGKILL)  # the whole job, as a scheduler would
        run.wait()
    finished = {path.name: path.stat().st_mtime_ns for path in _written_motions(out)}
    assert finished and len(finished) < len(names)

    result = _generate(speech, "-o", out, "--checkpoint", checkpoint, "--workers", 1, "-q")
    assert result.returncode == 0, result.stderr
    assert f"{len(finished)} already done" in result.stdout
    for name in names:  # all complete, the finished ones untouched
        assert load_motion(out / f"{name}.npz").num_frames == round(CLIP_SECONDS * 30)
        assert (out / f"{name}.words.json").is_file()
    assert {name: (out / name).stat().st_mtime_ns for name in finished} == finished


def _written_motions(out: Path) -> list[Path]:
    """The motion files renamed into place (not a hidden ``.NAME.*.partial.npz`` being written)."""
    return [path for path in out.glob("*.npz") if not path.name.startswith(".")]


def test_importing_the_command_lines_loads_no_torch():
    command_lines = "import semges.cli, semges.batch, semges.batch_generate, semges.render.__main__"
    assert (
        modules_loaded_by(
            command_lines, ("torch", "semges.render.video_renderer", "OpenGL", "gradio")
        )
        == []
    )
    assert (
        modules_loaded_by("import semges.cli, semges.batch_generate", ("semges.render", "training"))
        == []
    )  # semges stands alone


def test_shard_runs_only_its_share(
    tmp_path, speech_excerpt, checkpoint, monkeypatch, speech_frontend
):
    """In this process, with one worker and the session's front-end."""
    from semges import batch_generate

    monkeypatch.setattr(batch_generate, "SpeechFrontend", lambda config: speech_frontend)
    speech = tmp_path / "speech"
    names = _speech_folder(speech, speech_excerpt, 3)
    out = tmp_path / "out"
    for k in (1, 2, 3):
        assert (
            cli.main(
                [
                    "generate",
                    str(speech),
                    "-o",
                    str(out),
                    "--checkpoint",
                    str(checkpoint),
                    "--workers",
                    "1",
                    "--shard",
                    f"{k}/3",
                    "-q",
                ]
            )
            == 0
        )
        assert len(list(out.glob("*.npz"))) == k
    assert sorted(p.stem for p in out.glob("*.npz")) == names
    assert np.isfinite(load_motion(out / "clip0.npz").poses).all()


def test_a_beat2_test_split_in_one_command(
    tmp_path, speech_excerpt, checkpoint, monkeypatch, speech_frontend
):
    from semges import batch_generate

    monkeypatch.setattr(batch_generate, "SpeechFrontend", lambda config: speech_frontend)
    root = tmp_path / "beat2"
    names = _speech_folder(root / WAVE_DIR, speech_excerpt, 3)
    ids = ["2_scott_0_1_1", "4_lawrence_0_2_2", "1_wayne_0_3_3"]
    for name, clip_id in zip(names, ids):
        (root / WAVE_DIR / f"{name}.wav").rename(root / WAVE_DIR / f"{clip_id}.wav")
    (root / SPLIT_FILE).write_text(f"id,type\n{ids[0]},train\n{ids[1]},test\n{ids[2]},test\n")
    out = tmp_path / "out"
    assert (
        cli.main(
            [
                "generate",
                "--data",
                str(root),
                "--split",
                "test",
                "-o",
                str(out),
                "--checkpoint",
                str(checkpoint),
                "--workers",
                "1",
                "-q",
            ]
        )
        == 0
    )
    assert sorted(p.name for p in out.glob("*.npz")) == [f"{ids[2]}.npz", f"{ids[1]}.npz"]
