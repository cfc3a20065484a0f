import numpy as np
import pytest
import torch
from tiny_pipeline import TINY_WINDOW, random_features, smooth_features, tiny_pipeline

from semges import layout
from semges.motion import MotionClip
from semges.pipeline import SemGesPipeline
from semges.sampling import MAX_SEED, MAX_TEMPERATURE, check_seed, check_temperature
from semges.windows import crossfade_weights, gaussian_smooth, plan_windows, run_windowed

W = TINY_WINDOW


@pytest.mark.parametrize("num_frames", [1, W - 1, W, 10 * W + 7])
def test_any_length_gives_exactly_that_many_frames(num_frames):
    motion = tiny_pipeline().generate_motion(random_features(num_frames), seed=0)
    assert motion.poses.shape == (num_frames, 165)
    assert motion.trans.shape == (num_frames, 3)
    assert motion.expressions.shape == (num_frames, 100)
    assert np.isfinite(motion.poses).all()


def test_plan_covers_every_frame_and_ends_flush():
    for num_frames in (1, W - 1, W, W + 1, 10 * W + 7):
        plan = plan_windows(num_frames, W, overlap=4)
        covered = np.zeros(plan.padded_frames, bool)
        for start in plan.starts:
            covered[start : start + W] = True
        assert covered.all()
        assert plan.starts[-1] + W == plan.padded_frames
        assert all(
            previous + W - start >= 4 for previous, start in zip(plan.starts, plan.starts[1:])
        )
    with pytest.raises(ValueError):
        plan_windows(10, W, overlap=W)


def test_stitching_agreeing_windows_reproduces_the_signal():
    signal = torch.randn(10 * W + 7, 3)
    plan = plan_windows(signal.shape[0], W, overlap=5)
    batch_sizes = []

    def predict(starts):
        batch_sizes.append(len(starts))
        return torch.stack([signal[s : s + W] for s in starts])

    torch.testing.assert_close(run_windowed(predict, plan, 3, batch_windows=4), signal)
    assert max(batch_sizes) <= 4  # memory is bounded by the batch of windows, not the clip


def test_crossfade_weights_sum_to_one_on_two_window_overlaps():
    plan = plan_windows(W + 3 * (W - 6), W, overlap=6)
    assert len(plan.starts) == 4
    weights = crossfade_weights(plan)
    total = torch.zeros(plan.padded_frames)
    for start, w in zip(plan.starts, weights):
        total[start : start + W] += w
    torch.testing.assert_close(total, torch.ones_like(total))


def test_same_seed_same_motion_different_seed_differs_with_temperature():
    pipeline = tiny_pipeline()
    features = random_features(3 * W)
    first = pipeline.generate_motion(features, seed=1, temperature=1.0).poses
    np.testing.assert_array_equal(
        first, pipeline.generate_motion(features, seed=1, temperature=1.0).poses
    )
    assert not np.allclose(first, pipeline.generate_motion(features, seed=2, temperature=1.0).poses)
    # Temperature 0 ignores the seed.
    np.testing.assert_array_equal(
        pipeline.generate_motion(features, seed=1, temperature=0.0).poses,
        pipeline.generate_motion(features, seed=2, temperature=0.0).poses,
    )


def test_no_seam_at_window_joins_on_smooth_input():
    pipeline = tiny_pipeline()
    num_frames = 10 * W + 7
    motion = pipeline.generate_motion(smooth_features(num_frames), seed=0, temperature=0.0)
    change = np.abs(np.diff(motion.poses, axis=0)).max(axis=1)  # (T - 1,) largest per-frame change
    plan = plan_windows(num_frames, W, pipeline.inference.overlap)
    joins = np.zeros(num_frames - 1, bool)
    for previous, start in zip(plan.starts, plan.starts[1:]):
        joins[start : previous + W - 1] = True  # frame steps inside the overlap
        joins[previous + W - 1] = True  # the step where the previous window ends
    inside = change[~joins].max()
    assert change[joins].max() <= inside


def test_rejects_bad_arguments():
    pipeline = tiny_pipeline()
    features = random_features(10)
    with pytest.raises(ValueError, match="speaker"):
        pipeline.generate_motion(features, speaker=0)
    with pytest.raises(ValueError, match="unknown BEAT2 speaker 'nobody'; known: wayne, scott"):
        pipeline.generate_motion(features, speaker="nobody")
    with pytest.raises(ValueError, match="temperature"):
        pipeline.generate_motion(features, temperature=-1)
    with pytest.raises(ValueError, match="dims"):
        pipeline.generate_motion(random_features(10, audio_dim=5))


def test_long_silence_and_the_last_frames_ease_to_the_rest_pose() -> None:
    pipeline = tiny_pipeline()
    features = random_features(20 * layout.FPS)
    features.word_mask[:] = True
    features.word_mask[5 * layout.FPS : 15 * layout.FPS] = False  # 10 s without words
    motion = pipeline.generate_motion(features, seed=0, temperature=1.0)
    rest = MotionClip.rest(1)
    for name, part in layout.GENERATED_PARTS.items():
        rest = rest.with_part_rot6d(part, pipeline.vqvaes[name].mean[None])
    calm = motion.poses[7 * layout.FPS : 13 * layout.FPS]
    np.testing.assert_allclose(calm, np.broadcast_to(rest.poses, calm.shape), atol=1e-5)
    np.testing.assert_allclose(motion.poses[-1], rest.poses[0], atol=1e-5)
    speaking = motion.poses[: 4 * layout.FPS]
    assert np.abs(np.diff(speaking, axis=0)).mean() > 1e-3  # it does move while speaking


def test_gaussian_smoothing_keeps_length_and_constants_and_damps_jitter() -> None:
    torch.manual_seed(0)
    jitter = torch.randn(90, 4)
    smoothed = gaussian_smooth(jitter, 2.0)
    assert smoothed.shape == jitter.shape
    assert smoothed.diff(dim=0).abs().mean() < 0.3 * jitter.diff(dim=0).abs().mean()
    constant = torch.full((30, 2), 0.7)
    torch.testing.assert_close(gaussian_smooth(constant, 2.0), constant)
    assert torch.equal(gaussian_smooth(jitter, 0.0), jitter)
    ramp = torch.arange(40, dtype=torch.float32)[:, None]
    torch.testing.assert_close(gaussian_smooth(ramp, 1.5)[10:30], ramp[10:30])  # lines stay


def test_speakers_are_checked_by_the_checkpoint() -> None:
    pipeline = tiny_pipeline()
    assert pipeline.check_speaker("Scott") == pipeline.check_speaker(2) == 2
    assert len(pipeline.speaker_names()) == 30  # no trained speakers recorded: all it embeds
    trained = SemGesPipeline(
        pipeline.generator, pipeline.vqvaes, pipeline.inference, trained_speakers=(2,)
    )
    assert trained.speaker_names() == ["scott"]
    assert trained.check_speaker("wayne") == 1  # runs, on an embedding training never updated
    with pytest.raises(ValueError, match="not trained on wayne; choose one of scott"):
        trained.check_speaker("wayne", trained_only=True)


@pytest.mark.parametrize("seed", [-1, 1.5, True, "3", float("nan"), MAX_SEED + 1])
def test_a_seed_is_a_whole_number_a_torch_generator_takes(seed) -> None:
    with pytest.raises(ValueError, match="seed"):
        tiny_pipeline().generate_motion(random_features(10), seed=seed)
    assert check_seed(3.0) == 3 and check_seed(MAX_SEED) == MAX_SEED


@pytest.mark.parametrize("temperature", [-0.1, MAX_TEMPERATURE + 0.1, float("inf"), float("nan")])
def test_a_temperature_is_within_the_demos_range(temperature) -> None:
    with pytest.raises(ValueError, match="temperature"):
        tiny_pipeline().generate_motion(random_features(10), temperature=temperature)
    assert check_temperature(MAX_TEMPERATURE) == MAX_TEMPERATURE


def test_a_speaker_can_be_named() -> None:
    pipeline = tiny_pipeline()
    features = random_features(20)
    by_id = pipeline.generate_motion(features, speaker=2, seed=3)
    by_name = pipeline.generate_motion(features, speaker="Scott", seed=3)
    np.testing.assert_array_equal(by_id.poses, by_name.poses)
    # another speaker's embedding changes the code scores (sampled codes of a random tiny
    # model are chosen by the noise, the most likely ones by the scores)
    assert not np.allclose(
        pipeline.generate_motion(features, speaker=2, temperature=0.0).poses,
        pipeline.generate_motion(features, speaker="wayne", temperature=0.0).poses,
    )
