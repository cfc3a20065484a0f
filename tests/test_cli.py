"""``python -m semges``: transcribe and generate on real speech; clear errors, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from semges import cli
from semges.motion import load_motion
from semges.sampling import check_temperature
from semges.speakers import speaker_id
from semges.speech.audio import load_audio, num_motion_frames


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "semges", *args], capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def shared_frontend(monkeypatch, speech_frontend):
    """In-process runs reuse the session's front-end instead of loading Whisper again."""
    monkeypatch.setattr(cli, "_frontend", lambda args, saved=None: speech_frontend)
    return speech_frontend


@pytest.mark.slow
def test_transcribe_end_to_end(tmp_path, speech_excerpt, speech_excerpt_words):
    output = tmp_path / "words.json"
    result = _run("transcribe", str(speech_excerpt), "-o", str(output))
    assert result.returncode == 0, result.stderr
    words = json.loads(output.read_text())
    assert len(words) >= 0.85 * len(speech_excerpt_words)
    assert all(set(w) == {"word", "start", "end"} for w in words)
    assert all(0 <= w["start"] <= w["end"] <= 6.45 for w in words)
    assert "words ->" in result.stdout


def test_transcribe_with_text(tmp_path, speech_excerpt, shared_frontend):
    output = tmp_path / "words.json"
    text = "the first thing I like to do on weekends is relaxing"
    assert cli.main(["transcribe", str(speech_excerpt), "--text", text, "-o", str(output)]) == 0
    assert [w["word"] for w in json.loads(output.read_text())] == text.split()
    transcript = tmp_path / "transcript.txt"
    transcript.write_text(text + "\n")
    assert (
        cli.main(
            ["transcribe", str(speech_excerpt), "--text-file", str(transcript), "-o", str(output)]
        )
        == 0
    )
    assert [w["word"] for w in json.loads(output.read_text())] == text.split()


def test_generate_with_a_tiny_pipeline(tmp_path, speech_excerpt, shared_frontend):
    from tiny_pipeline import tiny_pipeline

    checkpoint = tmp_path / "checkpoint"
    tiny_pipeline(
        audio_dim=shared_frontend.audio_dim, text_dim=shared_frontend.text_dim
    ).save_pretrained(checkpoint)
    output = tmp_path / "out" / "motion.npz"
    status = cli.main(
        [
            "generate",
            str(speech_excerpt),
            "--checkpoint",
            str(checkpoint),
            "--speaker",
            "2",
            "--seed",
            "1",
            "--temperature",
            "0.5",
            "-o",
            str(output),
        ]
    )
    assert status == 0
    motion = load_motion(output)
    assert motion.num_frames == num_motion_frames(load_audio(speech_excerpt)) == 194
    words = json.loads((tmp_path / "out" / "motion.words.json").read_text())
    assert words and set(words[0]) == {"word", "start", "end"}


def test_generate_refuses_bad_settings_by_the_pipelines_rules(tmp_path, speech_excerpt, capsys):
    command = ["generate", str(speech_excerpt), "-o", str(tmp_path / "m.npz")]
    with pytest.raises(SystemExit) as usage:
        cli.main([*command, "--speaker", "99"])
    assert usage.value.code == 2
    with pytest.raises(ValueError) as rule:
        speaker_id(99)
    assert str(rule.value) in capsys.readouterr().err
    assert cli.main([*command, "--temperature", "3"]) == 1
    with pytest.raises(ValueError) as rule:
        check_temperature(3.0)
    assert str(rule.value) in capsys.readouterr().err
    assert not (tmp_path / "m.npz").exists()


def test_generate_without_checkpoint_says_how_to_get_one(tmp_path, speech_excerpt, capsys):
    status = cli.main(
        [
            "generate",
            str(speech_excerpt),
            "--checkpoint",
            str(tmp_path / "none"),
            "-o",
            str(tmp_path / "m.npz"),
        ]
    )
    error = capsys.readouterr().err
    assert status == 1 and "no semges checkpoint" in error and "training" in error


@pytest.mark.parametrize("command", ["transcribe", "generate"])
def test_bad_audio_is_one_clear_line(tmp_path, capsys, command):
    not_audio = tmp_path / "notes.txt"
    not_audio.write_text("hello\n" * 50)
    for path in (not_audio, tmp_path / "missing.wav"):
        status = cli.main([command, str(path), "-o", str(tmp_path / "out")])
        error = capsys.readouterr().err
        assert status == 1 and error.startswith("error: ") and error.count("\n") == 1


def test_too_long_for_max_duration(tmp_path, speech_excerpt, capsys):
    status = cli.main(
        ["transcribe", str(speech_excerpt), "--max-duration", "2", "-o", str(tmp_path / "w.json")]
    )
    assert status == 1 and "longer than the 2 s allowed" in capsys.readouterr().err


def test_subprocess_errors_have_no_traceback(tmp_path):
    result = _run("transcribe", str(tmp_path / "missing.wav"), "-o", str(tmp_path / "w.json"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "not found" in result.stderr


def test_help_documents_every_option(capsys):
    for command, options in {
        "transcribe": [
            "--text",
            "--text-file",
            "--output",
            "--whisper-model",
            "--max-duration",
            "--threads",
            "--verbose",
        ],
        "generate": ["--text", "--speaker", "--seed", "--temperature", "--checkpoint", "--output"],
    }.items():
        with pytest.raises(SystemExit) as exit_info:
            cli.main([command, "--help"])
        assert exit_info.value.code == 0
        text = capsys.readouterr().out
        assert all(option in text for option in options)


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["transcribe", "speech.wav"])  # no -o
    assert exit_info.value.code == 2


def test_words_file_sits_beside_the_motion():
    assert cli.words_path_for(Path("out/motion.npz")) == Path("out/motion.words.json")


def test_generate_also_writes_bvh_beside_the_motion(tmp_path, speech_excerpt, shared_frontend):
    from tiny_pipeline import tiny_pipeline

    checkpoint = tmp_path / "checkpoint"
    tiny_pipeline(
        audio_dim=shared_frontend.audio_dim, text_dim=shared_frontend.text_dim
    ).save_pretrained(checkpoint)
    output = tmp_path / "motion.npz"
    assert (
        cli.main(
            [
                "generate",
                str(speech_excerpt),
                "--checkpoint",
                str(checkpoint),
                "--bvh",
                "-o",
                str(output),
            ]
        )
        == 0
    )
    assert (tmp_path / "motion.bvh").read_text().startswith("HIERARCHY")
