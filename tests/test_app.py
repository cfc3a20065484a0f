"""The web demo's handler, called directly: real front-end, real renderer, a tiny pipeline.

The pipeline is randomly initialised at tiny sizes (a test fixture, never served as a model);
everything around it is the real thing. Clips are ~3 s and videos tiny so this stays fast.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
import soundfile

from semges.motion import load_motion
from semges.pipeline import SemGesPipeline
from semges.progress import Stage
from semges.render.bodies import SMPLX_MODEL_ENV
from semges.sampling import MAX_SEED
from webapp.handlers import make_generate_handler, parse_seed, parse_size
from webapp.progress import STAGE_SLICES, StageProgress
from webapp.service import (
    MAX_FRESH_SEED,
    GenerateRequest,
    GestureService,
    UserFacingError,
    fresh_seed,
    is_silent,
)
from webapp.settings import EXAMPLES_FOLDER, AppSettings, SettingsError
from webapp.startup import StartupError, load_service
from webapp.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = EXAMPLES_FOLDER / "scott_dream_job.wav"  # "Well, in my opinion, I think ..."
CLIP_SECONDS = 3.3
TEST_SIZE = "160x120"
MAX_SECONDS = 8  # the test service refuses longer clips, so a "too long" clip stays small
SAMPLE_RATE = 16_000


# -- inputs -------------------------------------------------------------------------------


def write_speech_clip(path: Path, seconds: float = CLIP_SECONDS) -> Path:
    """The first ``seconds`` of a shipped example: real speech."""
    samples, rate = soundfile.read(EXAMPLE, dtype="float32")
    soundfile.write(path, samples[: int(seconds * rate)], rate)
    return path


def write_bad_inputs(folder: Path) -> dict[str, tuple[Path | None, str]]:
    """name -> (file or None, words the user must be told)."""
    folder.mkdir(parents=True, exist_ok=True)
    text = folder / "notes.txt"
    text.write_text("these are my notes, not a recording\n" * 20)
    silence = folder / "silence.wav"
    soundfile.write(silence, np.zeros(3 * SAMPLE_RATE, np.float32), SAMPLE_RATE)
    hum = folder / "hum.wav"  # audible, but nobody speaks
    t = np.arange(3 * SAMPLE_RATE) / SAMPLE_RATE
    soundfile.write(hum, (0.2 * np.sin(2 * np.pi * 110 * t)).astype(np.float32), SAMPLE_RATE)
    too_long = folder / "too_long.wav"
    samples, rate = soundfile.read(EXAMPLE, dtype="float32")
    soundfile.write(too_long, samples[: int((MAX_SECONDS + 1) * rate)], rate)
    return {
        "no audio": (None, "record or upload some speech"),
        "not audio": (text, "not an audio file"),
        "too long": (too_long, "longer than"),
        "silence": (silence, "no speech was found"),
        "no speech": (hum, "no speech was found"),
    }


# -- fixtures -----------------------------------------------------------------------------


def tiny_service_pipeline(frontend):
    """A tiny random pipeline whose feature sizes match the real front-end."""
    from tiny_pipeline import tiny_pipeline

    tiny = tiny_pipeline(audio_dim=frontend.audio_dim, text_dim=frontend.text_dim)
    # share the session's loaded front-end
    return SemGesPipeline(tiny.generator, tiny.vqvaes, tiny.inference, frontend=frontend)


def app_settings(output_root: Path, **overrides: object) -> AppSettings:
    return replace(
        AppSettings(
            output_root=output_root,
            max_audio_seconds=MAX_SECONDS,
            keep_minutes=5,
            max_upload_mb=1,
            max_transcript_words=50,
        ),
        **overrides,
    )


@pytest.fixture(scope="module")
def service(speech_frontend, tmp_path_factory) -> GestureService:
    from semges.render.gl_platform import configure_headless_gl

    configure_headless_gl()
    from webapp.rendering import Renderers

    settings = app_settings(tmp_path_factory.mktemp("app-output"))
    return GestureService(tiny_service_pipeline(speech_frontend), Renderers.load(), settings)


@pytest.fixture(scope="module")
def speech_clip(tmp_path_factory) -> Path:
    return write_speech_clip(tmp_path_factory.mktemp("speech") / "my speech.wav")


class RecordingProgress:
    """Stands in for gr.Progress: records (fraction, description) calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, str | None]] = []

    def __call__(self, fraction: float, desc: str | None = None, **_: object) -> None:
        self.calls.append((fraction, desc))


def run_handler(handler, *args, **kwargs) -> list[tuple]:
    """Every outputs the streaming handler yields, in order (errors raise as they come)."""
    return list(handler(*args, **kwargs))


def check_video(path: Path, min_seconds: float) -> None:
    """The mp4 has an H.264 video stream and an AAC audio stream, and lasts the clip."""
    import imageio_ffmpeg

    probe = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)],
        capture_output=True,
        text=True,
    )
    assert "Video: h264" in probe.stderr, probe.stderr
    assert "Audio: aac" in probe.stderr, probe.stderr
    frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(path))
    assert seconds >= min_seconds - 0.1 and frames >= int(min_seconds * 30) - 1


# -- the handler --------------------------------------------------------------------------


def test_handler_gives_video_transcript_words_and_motion(service, speech_clip):
    progress = RecordingProgress()
    handler = make_generate_handler(service)
    first, last = run_handler(
        handler,
        str(speech_clip),
        "",
        "scott",
        3,
        0.0,
        "mannequin",
        "upper",
        TEST_SIZE,
        progress=progress,
    )
    video, transcript, rows, npz, bvh, glb, vrma, seed = last
    assert first[0] is None and first[1:] == last[1:]  # the motion first, the video after
    assert seed == "3"  # the seed asked for, given back (as digits, like the page shows it)
    check_video(Path(video), CLIP_SECONDS)
    assert "opinion" in transcript.lower()
    assert [row[0] for row in rows] == transcript.split()
    starts = [row[1] for row in rows]
    assert starts == sorted(starts) and 0 <= starts[0] and rows[-1][2] <= CLIP_SECONDS + 0.05
    motion = load_motion(npz)
    assert motion.num_frames == round(CLIP_SECONDS * 30)
    assert np.abs(motion.poses).max() > 0  # the generated parts moved away from rest
    assert Path(bvh).read_text().startswith("HIERARCHY")
    assert Path(glb).read_bytes()[:4] == b"glTF"
    assert (
        Path(vrma).read_bytes()[:4] == b"glTF" and b"VRMC_vrm_animation" in Path(vrma).read_bytes()
    )
    # every output sits in one request folder, named after the upload
    assert len({Path(p).parent for p in (video, npz, bvh, glb, vrma)}) == 1
    assert Path(video).name.startswith("my_speech_scott_seed3")
    # per-stage progress, never going backwards, ending full
    fractions = [fraction for fraction, _ in progress.calls]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    stages = {desc for _, desc in progress.calls}
    assert {
        "Loading audio",
        "Transcribing speech",
        "Generating gestures",
        "Rendering video",
    } <= stages


def test_a_typed_transcript_is_aligned_and_shown_back(service, speech_clip):
    result = service.generate(
        GenerateRequest(
            speech_clip,
            transcript="well in my opinion I",
            size=parse_size(TEST_SIZE),
        )
    )
    assert [w.word for w in result.words] == ["well", "in", "my", "opinion", "I"]
    assert result.transcript == "well in my opinion I"


def test_each_request_has_its_own_folder_and_old_ones_are_removed(service, speech_clip):
    request = GenerateRequest(speech_clip, size=parse_size(TEST_SIZE), view="full", seed=7)
    first = service.generate(request)
    first_poses = load_motion(first.motion).poses
    old = first.video.parent
    stale = service.settings.keep_minutes * 60 + 10
    os.utime(old, (os.path.getmtime(old) - stale,) * 2)
    second = service.generate(request)
    assert second.video.parent != old
    assert not old.exists()  # cleaned up when the next request started
    # same input, same seed: the same motion
    assert first.seed == second.seed == 7
    assert np.array_equal(load_motion(second.motion).poses, first_poses)


def test_bad_input_gets_a_friendly_message(service, tmp_path):
    handler = make_generate_handler(service)
    folders_before = set(service.settings.output_root.iterdir())
    for name, (path, words) in write_bad_inputs(tmp_path).items():
        with pytest.raises(gr.Error) as caught:
            run_handler(
                handler,
                None if path is None else str(path),
                "",
                "scott",
                0,
                0.0,
                "mannequin",
                "upper",
                TEST_SIZE,
                progress=RecordingProgress(),
            )
        assert words in caught.value.message.lower(), (name, caught.value.message)
        assert "Traceback" not in caught.value.message
    assert set(service.settings.output_root.iterdir()) == folders_before  # nothing left behind


def first_update(handler, *args, **kwargs) -> tuple:
    """The handler's first outputs (the motion, before any video is rendered)."""
    steps = handler(*args, progress=RecordingProgress(), **kwargs)
    try:
        return next(steps)
    finally:
        steps.close()


def test_every_request_gets_a_fresh_seed_unless_one_is_given(service, speech_clip):
    """No seed (the page's empty box, the API's default): a new seed each time, given back
    with the result and in the file names; that seed given back makes the same motion."""
    handler = make_generate_handler(service)
    fresh = [first_update(handler, str(speech_clip), size=TEST_SIZE) for _ in range(2)]
    seeds = [outputs[-1] for outputs in fresh]
    assert seeds[0] != seeds[1]
    for outputs, seed in zip(fresh, seeds):
        assert seed.isdecimal() and 0 <= int(seed) <= MAX_FRESH_SEED
        assert Path(outputs[3]).name.endswith(f"_seed{seed}.npz")
    poses = [load_motion(outputs[3]).poses for outputs in fresh]
    assert not np.allclose(poses[0], poses[1])  # at variation 1 the seeds give variations
    again = first_update(handler, str(speech_clip), seed=seeds[0], size=TEST_SIZE)
    assert again[-1] == seeds[0]
    assert np.array_equal(load_motion(again[3]).poses, poses[0])


def test_fresh_seeds_are_short_and_seeds_are_read_as_typed():
    seeds = {fresh_seed() for _ in range(1000)}
    assert len(seeds) >= 998 and all(0 <= seed <= MAX_FRESH_SEED for seed in seeds)
    assert len(str(MAX_FRESH_SEED)) == 10  # a person retypes it
    assert parse_seed(None) is None and parse_seed("") is None and parse_seed("  ") is None
    assert parse_seed(" 1382746855 ") == 1382746855 and parse_seed(7) == 7 and parse_seed(7.0) == 7
    assert parse_seed(str(MAX_SEED)) == MAX_SEED  # text keeps every digit of a 64-bit seed
    for bad in ("-1", "2.5", "abc", -1, 2.5, str(MAX_SEED + 1)):
        with pytest.raises(UserFacingError, match="seed must be zero or a positive whole number"):
            parse_seed(bad)


@pytest.mark.parametrize(
    "field, value, words",
    [
        ("speaker", "nobody", "unknown beat2 speaker"),
        ("seed", -1, "seed"),
        ("seed", 2.5, "whole number"),
        ("temperature", 5.0, "variation"),
        ("view", "side", "view"),
        ("body", "smplx", "smpl-x model file"),
    ],
)
def test_bad_options_are_refused_before_any_work(service, speech_clip, field, value, words):
    request = replace(GenerateRequest(speech_clip, size=(160, 120)), **{field: value})
    with pytest.raises(UserFacingError, match="(?i)" + words):
        service.generate(request)


def test_a_bug_is_logged_but_the_user_sees_no_trace(service, speech_clip, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("internal detail the user must not see")

    monkeypatch.setattr(service.renderers, "render", broken)
    handler = make_generate_handler(service)
    with caplog.at_level(logging.ERROR), pytest.raises(gr.Error) as caught:
        run_handler(
            handler,
            str(speech_clip),
            "",
            "scott",
            0,
            0.0,
            "mannequin",
            "upper",
            TEST_SIZE,
            progress=RecordingProgress(),
        )
    assert "went wrong on our side" in caught.value.message
    assert "internal detail" not in caught.value.message
    assert "internal detail" in caplog.text  # the operator gets the traceback


# -- pieces ---------------------------------------------------------------------------------


def test_stage_progress_maps_stages_onto_one_bar():
    calls: list[tuple[float, str]] = []
    progress = StageProgress(lambda fraction, words: calls.append((fraction, words)))
    for stage, fraction in [
        (Stage.LOADING, 0),
        (Stage.TRANSCRIBING, 0.5),
        (Stage.FEATURES, 1),
        (Stage.TRANSCRIBING, 0.0),
        (Stage.GENERATING, 1),
        (Stage.RENDERING, 0.5),
        (Stage.SAVING, 1),
        (Stage.ENCODING, 1),
    ]:
        progress(stage, fraction)
    fractions = [fraction for fraction, _ in calls]
    assert fractions == sorted(fractions)  # a late report never moves the bar back
    assert fractions[0] == 0 and fractions[-1] == 1
    assert calls[1][1] == "Transcribing speech"


def test_every_stage_has_its_own_slice_of_the_bar_in_order():
    assert list(STAGE_SLICES) == list(Stage)
    slices = list(STAGE_SLICES.values())
    assert slices[0][0] == 0.0 and slices[-1][1] == 1.0
    assert all(start < end for start, end in slices)
    assert all(end == next_start for (_, end), (next_start, _) in zip(slices, slices[1:]))


def test_silence_detection():
    rng = np.random.default_rng(0)
    assert is_silent(np.zeros(SAMPLE_RATE, np.float32))
    assert is_silent(rng.normal(0, 1e-4, SAMPLE_RATE).astype(np.float32))
    quiet_speech, _ = soundfile.read(EXAMPLE, dtype="float32", frames=SAMPLE_RATE * 2)
    assert not is_silent(0.05 * quiet_speech)


def test_workspace_removes_only_old_request_folders(tmp_path):
    workspace = Workspace(tmp_path, keep_seconds=60)
    old, new = workspace.new_request_dir(), workspace.new_request_dir()
    other = tmp_path / "not-a-request"
    other.mkdir()
    os.utime(old, (os.path.getmtime(old) - 120,) * 2)
    os.utime(other, (os.path.getmtime(other) - 120,) * 2)
    assert workspace.remove_old() == 1
    assert not old.exists() and new.exists() and other.exists()


def test_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SEMGES_CHECKPOINT", str(tmp_path / "ckpt"))
    monkeypatch.setenv("SEMGES_APP_QUEUE_SIZE", "3")
    monkeypatch.setenv("SEMGES_APP_SHARE", "yes")
    settings = AppSettings.from_env()
    assert settings.checkpoint == tmp_path / "ckpt" and settings.queue_size == 3 and settings.share
    monkeypatch.delenv("SEMGES_APP_SHARE")
    assert not AppSettings.from_env().share  # no public link unless asked
    monkeypatch.setenv("SEMGES_APP_CONCURRENCY", "many")
    with pytest.raises(SettingsError, match="SEMGES_APP_CONCURRENCY"):
        AppSettings.from_env()


def test_parse_size():
    assert parse_size("640x480") == (640, 480)
    with pytest.raises(UserFacingError):
        parse_size("big")


def test_the_page_is_queued_with_bounds_and_offers_the_shipped_examples(service):
    from webapp.startup import create_demo
    from webapp.ui import example_rows, gradio_queue

    demo = create_demo(service.settings, service)
    assert gradio_queue(demo).max_size >= service.settings.queue_size  # the page refuses first
    assert gradio_queue(demo).default_concurrency_limit == service.settings.concurrency
    rows = example_rows()
    assert len(rows) >= 2
    for row in rows:
        info = soundfile.info(row[0])
        assert 10 <= info.duration <= 16 and info.samplerate == SAMPLE_RATE
    attribution = (EXAMPLES_FOLDER / "README.md").read_text()
    assert "BEAT2" in attribution and "Apache-2.0" in attribution and "EMAGE" in attribution


def test_the_demo_refuses_to_start_without_a_checkpoint(tmp_path):
    with pytest.raises(StartupError, match="untrained weights"):
        load_service(AppSettings(checkpoint=tmp_path / "missing", output_root=tmp_path))


def test_app_py_exits_with_a_message_without_a_checkpoint(tmp_path):
    env = {
        **os.environ,
        "SEMGES_CHECKPOINT": str(tmp_path / "missing"),
        "SEMGES_APP_OUTPUT": str(tmp_path / "out"),
    }
    done = subprocess.run(
        [sys.executable, "app.py"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    assert "cannot start: no checkpoint at" in done.stderr
    assert "Traceback" not in done.stderr


def test_only_the_speakers_the_checkpoint_learned_are_offered(service, speech_clip, monkeypatch):
    assert len(service.speaker_names()) == 30  # the tiny test pipeline records none
    monkeypatch.setattr(service.pipeline, "trained_speakers", (2,))
    assert service.speaker_names() == ["scott"]
    with pytest.raises(UserFacingError, match="not trained on wayne"):
        service.generate(GenerateRequest(speech_clip, speaker="wayne", size=(160, 120)))


def test_seed_is_offered_only_when_gestures_are_sampled() -> None:
    from webapp.ui import seed_state

    assert seed_state(0.0)["interactive"] is False
    assert seed_state(1.0)["interactive"] is True


# -- limits, expired files, start-up clean-up, the page's words -----------------------------


def test_a_transcript_above_the_word_limit_is_refused_with_a_message(service, speech_clip):
    limit = service.settings.max_transcript_words
    handler = make_generate_handler(service)
    for text, size in [
        ("word " * (limit + 1), f"{limit + 1:,} words"),
        ("x" * (limit * 40), "characters"),
    ]:
        with pytest.raises(gr.Error) as caught:
            run_handler(handler, str(speech_clip), text, progress=RecordingProgress())
        assert "transcript is too long" in caught.value.message and size in caught.value.message
        assert f"at most {limit:,} words" in caught.value.message


def test_a_file_above_the_size_limit_is_refused_before_decoding(service, tmp_path):
    big = tmp_path / "big.wav"  # not even audio: the size check comes before any decoding
    big.write_bytes(b"\0" * (service.settings.max_upload_bytes + 1))
    with pytest.raises(UserFacingError) as caught:
        service.generate(GenerateRequest(big, size=(160, 120)))
    message = str(caught.value)
    assert "too large" in message and f"up to {service.settings.max_upload_mb} MB" in message


def test_an_expired_recording_gets_a_message(service, tmp_path):
    with pytest.raises(UserFacingError, match="no longer on the server"):
        service.generate(GenerateRequest(tmp_path / "gone.wav", size=(160, 120)))


def test_the_status_line_keeps_the_last_outcome_per_session(service, speech_clip):
    from webapp.handlers import DONE_MESSAGE, Outcomes, make_status_handler

    tab_a, tab_b = gr.Request(session_hash="a"), gr.Request(session_hash="b")  # browser tabs
    outcomes = Outcomes()
    handler, status = make_generate_handler(service, outcomes), make_status_handler(outcomes)
    with pytest.raises(gr.Error):
        run_handler(handler, None, progress=RecordingProgress(), request=tab_a)
    run_handler(
        handler,
        str(speech_clip),
        size=TEST_SIZE,
        variation=0.0,
        progress=RecordingProgress(),
        request=tab_b,
    )
    assert "record or upload some speech" in status(tab_a).lower()
    assert status(tab_b).startswith(DONE_MESSAGE)
    assert status(tab_a) == ""  # shown once


def test_half_written_files_are_removed_at_start_up(tmp_path):
    folder = tmp_path / "request-abc"
    folder.mkdir()
    finished = folder / "speech.mp4"
    finished.write_bytes(b"mp4")
    partials = [folder / ".speech.1a2b3c4d.partial.mp4", folder / ".speech.9f8e7d6c.partial.npz"]
    for path in partials:
        path.write_bytes(b"half")
    Workspace(tmp_path, keep_seconds=3600)
    assert finished.exists() and not any(path.exists() for path in partials)


def test_the_limits_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("SEMGES_APP_MAX_UPLOAD_MB", "7")
    monkeypatch.setenv("SEMGES_APP_MAX_WORDS", "300")
    settings = AppSettings.from_env()
    assert settings.max_upload_mb == 7 and settings.max_upload_bytes == 7 * 1024 * 1024
    assert settings.max_transcript_words == 300
    assert AppSettings().max_upload_mb == 50 and AppSettings().max_transcript_words == 1000


def test_the_page_speaks_plainly(service):
    from webapp.ui import INTRO, build_demo

    demo = build_demo(service)
    body = next(block for block in demo.blocks.values() if getattr(block, "label", "") == "Body")
    assert body.visible is False  # the mannequin only: nothing to choose, no operator advice
    config = str(demo.get_config_file())
    assert SMPLX_MODEL_ENV not in config
    assert "seconds on two cores" not in INTRO and "CPU" in INTRO


def test_generate_and_the_examples_come_before_the_folded_options(service):
    """The left column reads speech, transcript, Generate, examples, then closed accordions:
    what a visitor needs first shows on a laptop screen without scrolling."""
    from webapp.ui import build_demo

    config = build_demo(service).get_config_file()
    props = {component["id"]: component.get("props", {}) for component in config["components"]}

    def names(node: dict) -> list[str]:
        own = props.get(node["id"], {})
        name = own.get("elem_id") or own.get("label")
        return ([name] if isinstance(name, str) else []) + [
            found for child in node.get("children", []) for found in names(child)
        ]

    order = names(config["layout"])
    left = [
        order.index(name)
        for name in (
            "speech-input",
            "Transcript (optional)",
            "generate-button",
            "examples",
            "Gesture style",
            "Video",
        )
    ]
    assert left == sorted(left)
    accordions = [p for p in props.values() if p.get("label") in ("Gesture style", "Video")]
    assert len(accordions) == 2 and not any(p.get("open") for p in accordions)
