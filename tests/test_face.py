"""The face: the jaw + expression regressor at a tiny size (contracts, locality, save/load,
determinism), its place in the pipeline (written into the motion, saved and loaded as a
component, absent from older folders), the face training stage's real main(), and the face
statistics on hand-computed values."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from semges import face_statistics as fs
from semges import layout
from semges.models.face import FaceConfig, FaceModel
from semges.motion import MotionClip, load_motion, save_motion
from semges.pipeline import FACE_FOLDER, PIPELINE_FILE, InferenceConfig, SemGesPipeline
from semges.rotations import flat_axis_angle_to_rot6d
from semges.speech import SpeechFeatures, Word
from semges.speech.audio_features import NUM_PROSODY_CHANNELS, prosody_features
from tests.tiny_pipeline import TINY_AUDIO_DIM, TINY_TEXT_DIM, random_features, tiny_pipeline
from training import face as face_trainer
from training.clip_features import default_extractor, num_frames_for

REPO = Path(__file__).resolve().parent.parent
FACE_TINY = str(REPO / "configs" / "face_tiny.yaml")
DATA = Path(__file__).parent / "data"
TINY_FACE = FaceConfig(
    audio_dim=TINY_AUDIO_DIM,
    text_dim=TINY_TEXT_DIM,
    hidden_dim=16,
    text_hidden_dim=4,
    kernel_size=3,
    dilations=(1, 2),
)


def tiny_face(seed: int = 0) -> FaceModel:
    """A randomly initialised face model whose output moves (rest face: the real clip's)."""
    torch.manual_seed(seed)
    model = FaceModel(TINY_FACE)
    real = load_motion(DATA / "2_scott_0_1_1.npz")
    face = torch.cat([real.part_rot6d(layout.FACE_JAW), torch.from_numpy(real.expressions)], -1)
    model.set_normalization(
        torch.zeros(TINY_AUDIO_DIM), torch.ones(TINY_AUDIO_DIM), face.mean(0), face.std(0), 1e-3
    )
    model.set_rest_face(face[0])
    return model.eval()


def predict(model: FaceModel, features: SpeechFeatures, envelope: np.ndarray | None = None):
    return model.predict(features.audio, features.text, features.word_mask, envelope)


# -- the model ----------------------------------------------------------------------------


@pytest.mark.parametrize("num_frames", [1, 2, 7, 300])
def test_any_length_gives_one_face_per_frame(num_frames: int) -> None:
    face = predict(tiny_face(), random_features(num_frames))
    assert face.jaw.shape == (num_frames, layout.AXIS_ANGLE_DIM)
    assert face.expressions.shape == (num_frames, layout.NUM_EXPRESSIONS)
    assert face.jaw.dtype == face.expressions.dtype == np.float32
    assert np.isfinite(face.jaw).all() and np.isfinite(face.expressions).all()


def test_long_clips_run_in_chunks_that_give_the_one_pass_face(monkeypatch) -> None:
    """Chunks read half a receptive field of context each side: the face of a clip computed
    in chunks of 7 frames equals the face computed in one pass."""
    import semges.models.face as face_module

    model, features = tiny_face(), random_features(50)
    whole = predict(model, features)
    monkeypatch.setattr(face_module, "FACE_CHUNK_FRAMES", 7)
    chunked = predict(model, features)
    np.testing.assert_allclose(chunked.expressions, whole.expressions, atol=1e-6)
    np.testing.assert_allclose(chunked.jaw, whole.jaw, atol=1e-6)


def test_a_frame_sees_only_its_receptive_field() -> None:
    """Changing the speech far after frame 0 leaves frame 0's face unchanged; within the
    receptive field it changes it."""
    model, features = tiny_face(), random_features(80)
    reach = model.config.receptive_field // 2  # frames on each side
    base = predict(model, features).expressions
    far = random_features(80, seed=1)
    far.audio[: reach + 1] = features.audio[: reach + 1]
    far.text[: reach + 1] = features.text[: reach + 1]
    far.word_mask[: reach + 1] = features.word_mask[: reach + 1]
    np.testing.assert_allclose(predict(model, far).expressions[0], base[0], atol=1e-5)
    near = random_features(80)
    near.audio[reach] += 3.0
    assert not np.allclose(predict(model, near).expressions[0], base[0], atol=1e-4)


def test_deterministic_and_round_trips_bit_for_bit(tmp_path: Path) -> None:
    model, features = tiny_face(), random_features(50)
    first = predict(model, features)
    np.testing.assert_array_equal(predict(model, features).expressions, first.expressions)
    loaded = FaceModel.from_pretrained(model.save_pretrained(tmp_path / "face"))
    assert loaded.config == model.config
    again = predict(loaded, features)
    np.testing.assert_array_equal(again.jaw, first.jaw)
    np.testing.assert_array_equal(again.expressions, first.expressions)


def test_envelope_zero_is_the_rest_face_and_one_the_prediction() -> None:
    model, features = tiny_face(), random_features(20)
    free = predict(model, features)
    envelope = np.ones(20, np.float32)
    envelope[10:] = 0.0
    eased = predict(model, features, envelope)
    np.testing.assert_allclose(eased.expressions[:10], free.expressions[:10], atol=1e-6)
    np.testing.assert_allclose(
        eased.expressions[10:],
        np.broadcast_to(
            model.rest_face[layout.FACE_JAW.rot6d_dim :].numpy(), (10, layout.NUM_EXPRESSIONS)
        ),
        atol=1e-6,
    )
    rest_jaw = flat_axis_angle_to_rot6d(torch.from_numpy(eased.jaw[10:]))
    np.testing.assert_allclose(
        rest_jaw.numpy(),
        np.broadcast_to(model.rest_face[: layout.FACE_JAW.rot6d_dim].numpy(), (10, 6)),
        atol=1e-5,
    )


def test_gain_scales_the_deviation_from_the_mean_face() -> None:
    model, features = tiny_face(), random_features(30)
    mean = model.face_mean[layout.FACE_JAW.rot6d_dim :].numpy()
    plain = predict(model, features).expressions
    doubled = model.predict(features.audio, features.text, features.word_mask, gain=2.0)
    np.testing.assert_allclose(doubled.expressions - mean, 2.0 * (plain - mean), atol=1e-5)


def test_predict_refuses_training_mode() -> None:
    model = tiny_face().train()
    with pytest.raises(RuntimeError, match="eval"):
        predict(model, random_features(5))


def test_config_refuses_even_kernels() -> None:
    with pytest.raises(ValueError, match="odd"):
        FaceConfig(kernel_size=4)


# -- in the pipeline ----------------------------------------------------------------------


def face_pipeline() -> SemGesPipeline:
    body = tiny_pipeline()
    return SemGesPipeline(body.generator, body.vqvaes, body.inference, face=tiny_face())


def test_pipeline_writes_jaw_and_expressions_into_the_motion(tmp_path: Path) -> None:
    features = random_features(90)
    features.word_mask[:] = True
    motion = face_pipeline().generate_motion(features, temperature=0.0)
    jaw = motion.poses[:, list(layout.FACE_JAW.pose_columns)]
    assert np.abs(jaw).max() > 0 and np.abs(motion.expressions).max() > 0
    path = save_motion(motion, tmp_path / "talk.npz")
    with np.load(path) as data:
        np.testing.assert_array_equal(data["expressions"], motion.expressions)
        np.testing.assert_array_equal(data["poses"][:, list(layout.FACE_JAW.pose_columns)], jaw)


def test_face_is_the_same_at_any_temperature_and_seed() -> None:
    pipeline, features = face_pipeline(), random_features(60)
    greedy = pipeline.generate_motion(features, temperature=0.0)
    sampled = pipeline.generate_motion(features, seed=3, temperature=1.0)
    np.testing.assert_array_equal(greedy.expressions, sampled.expressions)


def test_mouth_rests_in_silence() -> None:
    pipeline, features = face_pipeline(), random_features(200)
    features.word_mask[:] = False
    motion = pipeline.generate_motion(features, temperature=0.0)
    rest = pipeline.face.rest_face[layout.FACE_JAW.rot6d_dim :].numpy()
    np.testing.assert_allclose(
        motion.expressions, np.broadcast_to(rest, motion.expressions.shape), atol=1e-6
    )


def test_face_component_round_trips_and_older_folders_load_without_it(tmp_path: Path) -> None:
    pipeline, features = face_pipeline(), random_features(40)
    folder = pipeline.save_pretrained(tmp_path / "with_face")
    manifest = json.loads((folder / PIPELINE_FILE).read_text())
    assert manifest["components"][FACE_FOLDER] == ["semges.models.face", "FaceModel"]
    loaded = SemGesPipeline.from_pretrained(folder)
    np.testing.assert_array_equal(
        loaded.generate_motion(features, temperature=0.0).expressions,
        pipeline.generate_motion(features, temperature=0.0).expressions,
    )
    old = tiny_pipeline().save_pretrained(tmp_path / "without_face")
    assert FACE_FOLDER not in json.loads((old / PIPELINE_FILE).read_text())["components"]
    motion = SemGesPipeline.from_pretrained(old).generate_motion(features, temperature=0.0)
    assert not motion.expressions.any()
    assert not motion.poses[:, list(layout.FACE_JAW.pose_columns)].any()


def test_install_face_keeps_the_other_files(tmp_path: Path) -> None:
    folder = tiny_pipeline().save_pretrained(tmp_path / "pipeline")
    (folder / "MODEL_CARD.md").write_text("card")
    body_weights = (folder / "generator" / "model.safetensors").read_bytes()
    face_folder = tiny_face().save_pretrained(tmp_path / "trained_face")
    face_trainer.install_face(face_folder, folder)
    assert (folder / "MODEL_CARD.md").read_text() == "card"
    assert (folder / "generator" / "model.safetensors").read_bytes() == body_weights
    for name in ("config.json", "model.safetensors"):  # the trained face, bit for bit
        assert (folder / FACE_FOLDER / name).read_bytes() == (face_folder / name).read_bytes()
    assert SemGesPipeline.from_pretrained(folder).face is not None
    inference = json.loads((folder / PIPELINE_FILE).read_text())["inference"]
    assert inference["face_gain"] == InferenceConfig().face_gain  # spelled out


def test_pipeline_refuses_a_face_of_another_front_end() -> None:
    from semges.serialization import CheckpointError

    body = tiny_pipeline()
    other = FaceModel(
        FaceConfig(
            audio_dim=TINY_AUDIO_DIM + 1, text_dim=TINY_TEXT_DIM, hidden_dim=8, dilations=(1,)
        )
    )
    with pytest.raises(CheckpointError, match="front-ends"):
        SemGesPipeline(body.generator, body.vqvaes, face=other)


# -- training -----------------------------------------------------------------------------


class ProsodyFeatures:
    """A cheap front-end for the smoke test: prosody as audio, no word embeddings."""

    frontend_config = None  # no real front-end makes these features

    def fingerprint(self) -> str:
        return default_extractor().fingerprint()  # what main() looks up in the cache

    def __call__(self, samples: np.ndarray, sample_rate: int, words: list[Word]) -> SpeechFeatures:
        num_frames = num_frames_for(samples.shape[0], sample_rate)
        mask = np.zeros(num_frames, bool)
        for word in words:
            mask[round(word.start * layout.FPS) : round(word.end * layout.FPS)] = True
        return SpeechFeatures(
            prosody_features(samples, num_frames),
            np.zeros((num_frames, 2), np.float32),
            mask,
            words,
        )


def write_face_corpus(root: Path) -> Path:
    """Two clips in the BEAT2 layout cut from the real clip (motion, face, speech, words),
    their features cached under the default front-end's fingerprint."""
    import soundfile as sf

    from training import beat2_files as files
    from training.beat2_data import DEFAULT_CACHE
    from training.clip_features import cached_features

    real = load_motion(DATA / "2_scott_0_1_1.npz")
    rate = 16000
    rng = np.random.default_rng(0)
    for sub in (files.MOTION_DIR, files.WAVE_DIR, files.TEXTGRID_DIR):
        (root / sub).mkdir(parents=True, exist_ok=True)
    rows = []
    for index in range(2):
        clip_id = f"2_scott_0_{index + 1}_{index + 1}"
        frames = slice(index * 90, index * 90 + 90)
        piece = MotionClip(
            real.poses[frames], real.trans[frames], real.betas, real.expressions[frames]
        )
        save_motion(piece, root / files.MOTION_DIR / f"{clip_id}.npz")
        sf.write(
            root / files.WAVE_DIR / f"{clip_id}.wav",
            (0.1 * rng.normal(size=3 * rate)).astype(np.float32),
            rate,
        )
        (root / files.TEXTGRID_DIR / f"{clip_id}.TextGrid").write_text(TEXTGRID)
        rows.append(f"{clip_id},train")
    (root / files.SPLIT_FILE).write_text("id,type\n" + "\n".join(rows) + "\n")
    for record in files.list_clips(root, [2], ["train"]):
        cached_features(record, ProsodyFeatures(), root / DEFAULT_CACHE)
    return root


TEXTGRID = """File type = "ooTextFile"
Object class = "TextGrid"

xmin = 0
xmax = 3
tiers? <exists>
size = 1
item []:
    item [1]:
        class = "IntervalTier"
        name = "words"
        xmin = 0
        xmax = 3
        intervals: size = 3
        intervals [1]:
            xmin = 0
            xmax = 1
            text = ""
        intervals [2]:
            xmin = 1
            xmax = 2
            text = "hello"
        intervals [3]:
            xmin = 2
            xmax = 3
            text = ""
"""


def test_face_main_trains_saves_and_resumes_exactly(tmp_path: Path) -> None:
    root = write_face_corpus(tmp_path / "corpus")
    common = ["--config", FACE_TINY, f"data.root={root}"]
    folder = face_trainer.main([*common, f"run.out_dir={tmp_path / 'run'}"])
    assert (tmp_path / "run" / "config.yaml").read_text().startswith("data:")
    model = FaceModel.from_pretrained(folder)
    assert model.config.audio_dim == NUM_PROSODY_CHANNELS and model.config.text_dim == 2
    clips = [load_motion(path) for path in sorted((root / "smplxflame_30").iterdir())]
    faces = torch.cat(
        [
            torch.cat([clip.part_rot6d(layout.FACE_JAW), torch.from_numpy(clip.expressions)], -1)
            for clip in clips
        ]
    )
    opening = np.concatenate([fs.mouth_opening_degrees(clip.poses) for clip in clips])
    closed = faces[np.argsort(opening)[: round(0.1 * len(opening))]].mean(0)  # rest_closed_fraction
    torch.testing.assert_close(model.rest_face, closed, rtol=0, atol=1e-5)
    face_trainer.main([*common, f"run.out_dir={tmp_path / 'stopped'}", "run.stop_at=2"])
    resumed = face_trainer.main([*common, f"run.out_dir={tmp_path / 'stopped'}"])
    for name, value in FaceModel.from_pretrained(resumed).state_dict().items():
        torch.testing.assert_close(value, model.state_dict()[name], rtol=0, atol=0)
    shutil.rmtree(tmp_path / "corpus")


# -- statistics ---------------------------------------------------------------------------


def test_mouth_opening_is_the_jaw_opening_angle_in_degrees() -> None:
    poses = np.zeros((2, layout.POSE_DIM), np.float32)
    poses[1, layout.FACE_JAW.pose_columns[layout.JAW_OPENING_AXIS]] = np.pi / 180 * 3
    np.testing.assert_allclose(fs.mouth_opening_degrees(poses), [0.0, 3.0], atol=1e-5)


def test_speech_loudness_is_the_rms_around_each_frame() -> None:
    rate, fps = 3000, 30  # 100 samples a frame; the window spans 200 samples
    samples = np.concatenate([np.full(600, 0.5), np.zeros(600)])
    loudness = fs.speech_loudness(samples, rate, 12, fps)
    np.testing.assert_allclose(loudness[1:5], 0.5)  # wholly inside the loud part
    assert loudness[0] == pytest.approx(0.5 * np.sqrt(0.5))  # half the window is padding
    assert loudness[6] == pytest.approx(0.5 * np.sqrt(0.5))  # half loud, half silent
    np.testing.assert_allclose(loudness[8:], 0.0)


def test_correlation_and_expression_statistics_by_hand() -> None:
    assert fs.correlation(np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 7.0])) == pytest.approx(
        0.9933992677987828
    )
    assert np.isnan(fs.correlation(np.ones(3), np.arange(3.0)))
    expressions = np.array([[0.0, 1.0], [2.0, 1.0]])  # stds 1 and 0
    assert fs.expression_std(expressions) == pytest.approx(0.5)
    assert fs.expression_error(expressions, np.zeros((2, 2))) == pytest.approx(1.0)
    np.testing.assert_allclose(fs.expression_speed(expressions, fps=10), [10.0])
