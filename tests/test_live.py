"""The live generator (semges.live): real classes at tiny sizes, real Whisper features."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from semges import layout
from semges.activity_envelope import lookahead_envelope
from semges.live import LiveConfig, LiveGenerator, NoLiveModels
from semges.live.config import FACE_FOLDER, GENERATOR_FOLDER, live_folder, write_live_manifest
from semges.live.features import (
    RunningPercentile,
    StreamingAudioFeatures,
    StreamingFeatureConfig,
    streamed_audio_features,
)
from semges.models import SemGesGenerator
from semges.models.face import FaceModel
from semges.motion import MotionClip
from semges.pipeline import SemGesPipeline
from semges.planted_translation import PlantedTranslation, planted_translation
from semges.speech.audio import SAMPLE_RATE
from tests.test_face import TINY_FACE
from tests.tiny_pipeline import tiny_pipeline
from tests.vmc_receiver import VmcReceiver

WHISPER_STATES = 384  # tiny.en
MINILM_STATES = 384  # all-MiniLM-L6-v2
LIVE_AUDIO_DIM = WHISPER_STATES + 4  # states and the four prosody channels
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def live_checkpoint(tmp_path_factory) -> Path:
    """A saved tiny pipeline with tiny live models (untrained: contracts, not quality)."""
    return save_tiny_live_checkpoint(tmp_path_factory.mktemp("live") / "pipeline", window=32)


def save_tiny_live_checkpoint(folder: Path, window: int) -> Path:
    """A tiny pipeline whose generators see ``window`` frames, with tiny live models."""
    pipeline = tiny_pipeline(audio_dim=LIVE_AUDIO_DIM, text_dim=MINILM_STATES, window=window)
    pipeline.save_pretrained(folder)
    torch.manual_seed(1)
    generator = SemGesGenerator(pipeline.generator.config)
    face = FaceModel(replace(TINY_FACE, audio_dim=LIVE_AUDIO_DIM, text_dim=MINILM_STATES))
    models = live_folder(folder)
    models.mkdir()
    generator.save_pretrained(models / GENERATOR_FOLDER)
    face.eval().save_pretrained(models / FACE_FOLDER)
    write_live_manifest(models, LiveConfig(), {"test": "untrained tiny models"})
    return folder


@pytest.fixture(scope="module")
def speech(speech_excerpt) -> np.ndarray:
    samples, rate = sf.read(speech_excerpt, dtype="float32")
    assert rate == SAMPLE_RATE
    return samples


def live_generator(folder: Path, frontend, **settings) -> LiveGenerator:
    """The live generator; without words unless asked (tests/test_live_words.py has them),
    and then each step waits for its words (exactly repeatable)."""
    settings.setdefault("words", False)
    settings.setdefault("wait_for_words", True)
    pipeline = SemGesPipeline.from_pretrained(folder, frontend=frontend)
    return LiveGenerator.from_pretrained(folder, pipeline=pipeline, **settings)


def push_in_pieces(live: LiveGenerator, samples: np.ndarray, sizes_s: tuple, seed: int):
    rng = np.random.default_rng(seed)
    clips, position = [], 0
    while position < samples.shape[0]:
        size = max(1, round(rng.uniform(*sizes_s) * SAMPLE_RATE))
        clips.append(live.push(samples[position : position + size]))
        position += size
    clips.append(live.flush())
    return clips


def stacked(clips) -> dict[str, np.ndarray]:
    return {
        name: np.concatenate([getattr(c, name) for c in clips])
        for name in ("poses", "trans", "expressions")
    }


def test_any_pieces_give_the_same_frames_and_the_exact_count(
    live_checkpoint, speech_frontend, speech
):
    expected = layout.num_motion_frames(speech.shape[0], SAMPLE_RATE)
    results = []
    for sizes, seed in [((10.0, 10.0), 0), ((0.01, 0.5), 1)]:
        live = live_generator(live_checkpoint, speech_frontend, seed=5)
        clips = push_in_pieces(live, speech, sizes, seed)
        assert live.frames_emitted == expected
        results.append(stacked(clips))
    for other in results[1:]:
        for name, values in results[0].items():
            assert other[name].shape[0] == expected
            np.testing.assert_allclose(other[name], values, atol=1e-5)
    # frames became final while the speech was still arriving, not only at the end
    live = live_generator(live_checkpoint, speech_frontend, seed=5)
    during = sum(c.num_frames for c in push_in_pieces(live, speech, (0.2, 0.2), 0)[:-1])
    lag = live.lookahead_s * layout.FPS
    assert during >= expected - lag - live.config.features.hop_frames - 2


def test_push_steps_gives_each_steps_frames_as_push_gives_them_all(
    live_checkpoint, speech_frontend, speech
):
    excerpt = speech[: 2 * SAMPLE_RATE]
    whole = live_generator(live_checkpoint, speech_frontend, seed=5).push(excerpt)
    live = live_generator(live_checkpoint, speech_frontend, seed=5)
    steps = list(live.push_steps(excerpt))
    config = live.config
    first_step_frames = config.first_step_end - config.lookahead_frames
    assert [c.num_frames for c in steps[:2]] == [first_step_frames, config.features.hop_frames]
    np.testing.assert_array_equal(MotionClip.concatenate(steps).poses, whole.poses)


def test_next_step_samples_is_the_audio_each_step_needs(live_checkpoint, speech_frontend, speech):
    live = live_generator(live_checkpoint, speech_frontend, seed=5)
    received = 0
    for _ in range(3):
        needed = live.next_step_samples
        assert live.push(speech[received : needed - 1]).num_frames == 0
        step = live.push(speech[needed - 1 : needed])
        assert step.num_frames > 0
        assert live.next_step_samples > needed
        received = needed
    assert step.num_frames == live.config.features.hop_frames
    live.close()


def test_a_new_decode_takes_over_the_plan_smoothly(live_checkpoint, speech_frontend):
    """A step whose decode differs from the plan (a code was chosen) moves the frame about to
    become final a little, the next ones more, and the frames past the hand-over all the way."""
    live = live_generator(live_checkpoint, speech_frontend)
    config = live.config
    hop, latency = config.features.hop_frames, config.latency_frames
    planned = live._hand_over(torch.zeros(latency, 2), 0)  # the first step: its decode as is
    assert planned.abs().max() == 0.0
    taken = live._hand_over(torch.ones(latency, 2), hop)[:, 0].numpy()
    assert taken[0] < 0.1 and (np.diff(taken) >= 0).all()
    np.testing.assert_allclose(taken[config.hand_over_frames - 1 :], 1.0)


def test_a_code_is_chosen_before_its_frames_are_final():
    with pytest.raises(ValueError, match="decision_frames"):
        LiveConfig(lookahead_frames=9, decision_frames=6)
    assert LiveConfig(lookahead_frames=9, decision_frames=3).first_step_end == 18


def test_seeds_vary_the_motion_and_silence_rests(live_checkpoint, speech_frontend, speech):
    silence = np.zeros(3 * SAMPLE_RATE, np.float32)
    clip = np.concatenate([speech, silence])
    motions = []
    for seed in (0, 1):
        live = live_generator(live_checkpoint, speech_frontend, seed=seed)
        motions.append(stacked([live.push(clip), live.flush()])["poses"])
    assert np.abs(motions[0] - motions[1]).max() > 1e-3
    # the last second of the silence: every generated part at its rest pose
    live = live_generator(live_checkpoint, speech_frontend, seed=0)
    rest = MotionAtRest(live)
    tail = motions[0][-layout.FPS :]
    at_rest = np.broadcast_to(rest.poses[:, rest.columns], tail[:, rest.columns].shape)
    np.testing.assert_allclose(tail[:, rest.columns], at_rest, atol=1e-4)


class MotionAtRest:
    """The generated parts' rest pose (each VQ-VAE's mean pose) as one frame."""

    def __init__(self, live: LiveGenerator) -> None:
        from semges.motion import MotionClip

        motion = MotionClip.rest(1)
        self.columns: list[int] = []
        for part in live.pipeline.parts:
            group = layout.GENERATED_PARTS[part]
            rest = live.pipeline.vqvaes[part].mean.float()[None]
            motion = motion.with_part_rot6d(group, rest)
            self.columns += list(group.pose_columns)
        self.poses = motion.poses


def test_bad_pushes_are_refused_and_flush_ends_the_stream(live_checkpoint, speech_frontend):
    live = live_generator(live_checkpoint, speech_frontend)
    with pytest.raises(ValueError, match="float mono"):
        live.push(np.zeros(100, np.int16))
    with pytest.raises(ValueError, match="float mono"):
        live.push(np.zeros((100, 2), np.float32))
    with pytest.raises(ValueError, match="NaN"):
        live.push(np.full(100, np.nan, np.float32))
    assert live.push(np.zeros(0, np.float32)).num_frames == 0
    assert live.flush().num_frames == 0  # nothing was pushed: no frame
    assert live.flush().num_frames == 0
    with pytest.raises(RuntimeError, match="flushed"):
        live.push(np.zeros(10, np.float32))


def test_state_stays_bounded(live_checkpoint, speech_frontend, speech):
    live = live_generator(live_checkpoint, speech_frontend)
    sizes = []
    for _ in range(4):
        live.push(speech)
        sizes.append(
            (
                live.features._buffer.shape[0],
                live._rows.shape[0],
                len(live._segments),
            )
        )
        assert live._text.shape[0] == live._word_mask.shape[0] == live._rows.shape[0]
    buffer_limit = round(live.config.features.context_s * SAMPLE_RATE) + 2 * speech.shape[0]
    assert all(b <= buffer_limit for b, _, _ in sizes)
    assert all(r == live.config.history_frames for _, r, _ in sizes[1:])
    assert max(s for _, _, s in sizes) <= live.config.history_frames // 10 + 2


def test_a_pipeline_without_live_models_says_how_to_train_them(tmp_path):
    folder = tmp_path / "pipeline"
    tiny_pipeline().save_pretrained(folder)
    with pytest.raises(NoLiveModels, match="python -m training.live"):
        LiveGenerator.from_pretrained(folder)


def test_streamed_features_are_the_rows_of_any_chunking(speech_frontend, speech):
    config = StreamingFeatureConfig()
    whole = streamed_audio_features(speech_frontend.whisper, speech[: 2 * SAMPLE_RATE], config)
    features = StreamingAudioFeatures(speech_frontend.whisper, config)
    rows, end = [], config.hop_frames
    for piece in np.array_split(speech[: 2 * SAMPLE_RATE], 7):
        features.push(piece)
        while end <= features.available_frames():
            rows.append(features.step(end))
            end += config.hop_frames
    features.finish()
    while end < whole.shape[0] + config.hop_frames:
        rows.append(features.step(end))
        end += config.hop_frames
    np.testing.assert_allclose(np.concatenate(rows)[: whole.shape[0]], whole, atol=1e-6)
    assert whole.shape == (layout.num_motion_frames(2 * SAMPLE_RATE, SAMPLE_RATE), 388)
    energy, voicing = whole[:, -4], whole[:, -1]
    assert 0.0 <= energy.min() and energy.max() <= 1.0 and voicing.max() > 0.5


def test_running_percentile_matches_numpy():
    values = np.random.default_rng(0).normal(-30, 10, 5000)
    running = RunningPercentile(-100.0, 20.0, 0.25)
    for piece in np.array_split(values, 13):
        running.add(piece)
    assert abs(running.percentile(99) - np.percentile(values, 99)) < 0.5
    assert np.isnan(RunningPercentile(0, 1, 0.1).percentile(50))


def test_planted_translation_in_pieces_is_the_whole():
    poses = (np.random.default_rng(0).normal(size=(90, layout.POSE_DIM)) * 0.1).astype(np.float32)
    whole = planted_translation(poses, layout.FPS, 8.0)
    carried = PlantedTranslation(layout.FPS, 8.0)
    pieces = [carried.extend(poses[a:b]) for a, b in [(0, 1), (1, 1), (1, 40), (40, 90)]]
    np.testing.assert_allclose(np.concatenate(pieces), whole, atol=1e-6)


def test_lookahead_envelope_rises_before_speech_and_settles_after():
    active = np.zeros(200, bool)
    active[100:120] = True
    envelope = lookahead_envelope(active, np.arange(200), 20, 15, 12)
    assert envelope[:85].max() == 0.0  # more than the lookahead before speech: at rest
    assert np.all(np.diff(envelope[85:101]) >= 0) and envelope[100] == 1.0
    assert envelope[100:140].min() == 1.0  # speech, then the hold
    assert envelope[160:].max() == 0.0  # settled
    assert np.abs(np.diff(envelope)).max() < 0.2  # no jump


def test_live_command_writes_the_motion_and_the_report(live_checkpoint, speech_excerpt, tmp_path):
    """... and sends every frame to a VMC receiver (``--vmc``), in order, one bundle each."""
    output, report = tmp_path / "live.npz", tmp_path / "report.json"
    receiver = VmcReceiver()
    command = [
        sys.executable,
        "-m",
        "semges",
        "live",
        str(speech_excerpt),
        "--piece-s",
        "0.1:0.5",
        "-o",
        str(output),
        "--report",
        str(report),
        "--checkpoint",
        str(live_checkpoint),
        "--vmc",
        f"127.0.0.1:{receiver.port}",
    ]
    with receiver:
        done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=300)
        assert done.returncode == 0, done.stderr
        measured = json.loads(report.read_text())
        frames = receiver.wait_for(measured["frames"])
    assert measured["frames"] == measured["expected_frames"] > 0
    assert len(receiver.frames) == measured["frames"] and all(receiver.bundled)
    clock = [
        arguments[0] for frame in frames for address, arguments in frame if address == "/VMC/Ext/T"
    ]
    np.testing.assert_allclose(clock, np.arange(measured["frames"]) / layout.FPS, atol=1e-6)
    for key in ("lookahead_s", "latency_p50_s", "latency_p95_s", "compute_s_per_audio_s"):
        assert measured[key] >= 0
    # the excerpt's words were recognised on the way, and counted into the compute
    assert measured["words"]["words"] >= 8 and measured["recognition_s_per_audio_s"] > 0
    assert measured["compute_s_per_audio_s"] == pytest.approx(
        measured["step_compute_s_per_audio_s"] + measured["recognition_s_per_audio_s"], abs=2e-3
    )
    assert "words recognised" in done.stdout
    with np.load(output) as motion:
        assert motion["poses"].shape == (measured["frames"], layout.POSE_DIM)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--piece-s", "0.5:0.1"], "--piece-s"),
        (["--duration", "3"], "--duration is for --mic"),
    ],
)
def test_live_command_refuses_bad_settings(
    live_checkpoint, speech_excerpt, tmp_path, arguments, message
):
    command = [sys.executable, "-m", "semges", "live", str(speech_excerpt), "-o"]
    command += [str(tmp_path / "m.npz"), "--checkpoint", str(live_checkpoint), *arguments]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 1 and message in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "m.npz").exists()
