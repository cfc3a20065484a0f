import numpy as np
import pytest
import torch
from code_head_training import fit_upper_body_codes
from tiny_pipeline import random_features, tiny_pipeline, tiny_vqvae

from semges import layout
from semges.models import GeneratorConfig, MotionVQVAE, SemGesGenerator
from semges.pipeline import SemGesPipeline
from semges.serialization import CheckpointError


def test_vqvae_shapes_and_eval_invariant():
    vqvae = tiny_vqvae(layout.HANDS.name).eval()
    motion = torch.randn(3, 20, layout.HANDS.rot6d_dim)
    with torch.no_grad():
        output = vqvae(motion)
        assert output.reconstruction.shape == motion.shape
        assert output.latents.shape == (3, 20, 8)
        assert output.quantizer.indices.shape == (3, 20)
        # Decoding the indices gives the quantized reconstruction.
        torch.testing.assert_close(
            vqvae.decode_indices(output.quantizer.indices), output.reconstruction
        )
        # Nearest-code snapping agrees with the quantizer's own choice.
        torch.testing.assert_close(vqvae.quantizer.snap(output.latents), output.quantizer.indices)
    assert 1.0 <= output.quantizer.perplexity <= vqvae.config.codebook_size


def test_vqvae_training_step_updates_codebook_and_has_gradients():
    vqvae = tiny_vqvae(layout.UPPER_BODY.name).train()
    before = vqvae.quantizer.codebook.clone()
    output = vqvae(torch.randn(2, 12, layout.UPPER_BODY.rot6d_dim))
    loss = output.reconstruction.square().mean() + output.quantizer.commit_loss
    loss.backward()
    assert vqvae.encoder[0].weight.grad is not None
    assert not torch.equal(before, vqvae.quantizer.codebook)  # EMA update


def test_generator_output_shapes():
    pipeline = tiny_pipeline()
    generator = pipeline.generator
    output = generator(
        torch.randn(2, 16, 12),
        torch.randn(2, 16, 10),
        torch.rand(2, 16) > 0.5,
        torch.tensor([2, 30]),
    )
    assert set(output.latents) == set(output.code_logits) == {"upper_body", "hands", "lower"}
    assert output.latents["hands"].shape == (2, 16, 8)
    assert output.code_logits["lower"].shape == (2, 16, 32)
    assert output.text_latents["upper_body"].shape == (2, 16, 8)
    with pytest.raises(ValueError, match="speaker ids"):
        generator(
            torch.randn(1, 16, 12),
            torch.randn(1, 16, 10),
            torch.ones(1, 16, dtype=torch.bool),
            torch.tensor([31]),
        )


def test_pad_frames_ignore_their_text_values():
    generator = tiny_pipeline().generator
    text = torch.randn(1, 16, 10)
    mask = torch.zeros(1, 16, dtype=torch.bool)
    torch.testing.assert_close(
        generator.embed_text(text, mask), generator.embed_text(text * 5, mask)
    )


def test_save_load_gives_identical_output(tmp_path):
    pipeline = tiny_pipeline(seed=3)
    features = random_features(50, seed=1)
    expected = pipeline.generate_motion(features, seed=4, temperature=0.7)
    pipeline.save_pretrained(tmp_path / "ckpt")
    loaded = SemGesPipeline.from_pretrained(tmp_path / "ckpt")
    assert loaded.generator.config == pipeline.generator.config
    assert loaded.inference == pipeline.inference
    np.testing.assert_array_equal(
        loaded.generate_motion(features, seed=4, temperature=0.7).poses, expected.poses
    )


def test_loading_is_strict(tmp_path):
    vqvae = tiny_vqvae(layout.HANDS.name)
    vqvae.save_pretrained(tmp_path / "vq")
    config = (
        (tmp_path / "vq" / "config.json")
        .read_text()
        .replace('"hidden_dim": 16', '"hidden_dim": 24')
    )
    (tmp_path / "vq" / "config.json").write_text(config)
    with pytest.raises((CheckpointError, RuntimeError)):
        MotionVQVAE.from_pretrained(tmp_path / "vq")
    with pytest.raises(CheckpointError, match="missing"):
        SemGesGenerator.from_pretrained(tmp_path / "nowhere")
    with pytest.raises(CheckpointError, match="not a semges checkpoint"):
        SemGesPipeline.from_pretrained(tmp_path)


def test_mismatched_code_dims_are_rejected():
    pipeline = tiny_pipeline()
    vqvaes = dict(pipeline.vqvaes, hands=tiny_vqvae("hands", code_dim=6))
    with pytest.raises(CheckpointError, match="codes have 6 dims"):
        SemGesPipeline(pipeline.generator, vqvaes)


def test_config_rejects_unknown_parts():
    with pytest.raises(ValueError, match="unknown parts"):
        GeneratorConfig(parts=("tail",))


# A tiny seeded model's output, pinned: catches silent changes to the architecture, the
# initialisation order, the windowing or the rotation conventions.
GOLDEN_FRAME_5_LEFT_WRIST = [-0.2182215, 0.0808676, 0.0987563]
GOLDEN_FRAME_5_SPINE1 = [-0.1133536, 0.2249499, -0.0967728]


def test_golden_slice():
    motion = tiny_pipeline(seed=0).generate_motion(random_features(40, seed=0), seed=0)
    left_wrist = layout.JOINT_NAMES.index("left_wrist") * 3
    np.testing.assert_allclose(
        motion.poses[5, left_wrist : left_wrist + 3], GOLDEN_FRAME_5_LEFT_WRIST, atol=1e-4
    )
    np.testing.assert_allclose(motion.poses[5, 9:12], GOLDEN_FRAME_5_SPINE1, atol=1e-4)


def test_a_front_end_of_other_feature_sizes_is_refused(speech_frontend):
    with pytest.raises(CheckpointError, match="trained with another front-end"):
        SemGesPipeline(tiny_pipeline().generator, tiny_pipeline().vqvaes, frontend=speech_frontend)
    matching = tiny_pipeline(audio_dim=speech_frontend.audio_dim, text_dim=speech_frontend.text_dim)
    assert (
        SemGesPipeline(matching.generator, matching.vqvaes, frontend=speech_frontend).frontend
        is speech_frontend
    )


def test_warm_up_leaves_the_model_unchanged():
    pipeline, features = tiny_pipeline(), random_features(20)
    before = pipeline.generate_motion(features, seed=1, temperature=0.5).poses
    pipeline.warm_up()
    np.testing.assert_array_equal(
        pipeline.generate_motion(features, seed=1, temperature=0.5).poses, before
    )


def test_trained_speakers_are_saved_with_the_pipeline(tmp_path):
    pipeline = tiny_pipeline()
    SemGesPipeline(
        pipeline.generator, pipeline.vqvaes, pipeline.inference, trained_speakers=(5, 2)
    ).save_pretrained(tmp_path / "ckpt")
    assert SemGesPipeline.from_pretrained(tmp_path / "ckpt").trained_speakers == (2, 5)
    pipeline.save_pretrained(tmp_path / "unrecorded")
    assert SemGesPipeline.from_pretrained(tmp_path / "unrecorded").trained_speakers == ()


def test_handedness_flag_changes_the_motion_and_defaults_to_the_speakers_own() -> None:
    generator = tiny_pipeline(seed=1).generator
    with torch.no_grad():
        generator.branches["hands"].handedness_embedding.weight.normal_()
    args = (
        torch.randn(2, 16, 12),
        torch.randn(2, 16, 10),
        torch.rand(2, 16) > 0.5,
        torch.tensor([2, 2]),
    )
    own = generator(*args).code_logits["hands"]
    default = generator(*args, torch.zeros(2, dtype=torch.bool)).code_logits["hands"]
    mirrored = generator(*args, torch.ones(2, dtype=torch.bool)).code_logits["hands"]
    torch.testing.assert_close(own, default)
    assert (own - mirrored).abs().mean() > 1e-3


def test_quiet_audio_stays_quieter_than_loud_audio_after_fusion() -> None:
    """The per-window instance norm made silence as busy as speech; a per-frame layer norm
    keeps the level: features that vary 10x less over time stay calmer after fusion."""
    branch = tiny_pipeline(seed=2).generator.branches["upper_body"]
    torch.manual_seed(0)
    base, wiggle = torch.randn(1, 1, 12), torch.randn(1, 64, 12)

    def fused_temporal_std(scale: float) -> float:
        x = branch.audio_projection(base + scale * wiggle)
        fused = branch.fusion_conv(x.transpose(1, 2)).transpose(1, 2)
        return float(branch.fusion_norm(fused).std(dim=1).mean())

    with torch.no_grad():
        assert fused_temporal_std(0.1) < 0.3 * fused_temporal_std(1.0)


def test_prior_correction_discounts_frequent_codes() -> None:
    generator = tiny_pipeline().generator
    counts = torch.ones(generator.config.codebook_size)
    counts[3] = 1000.0  # a code the training motion used all the time
    generator.set_code_prior("hands", counts)
    with torch.no_grad():
        output = generator(
            torch.randn(1, 16, 12),
            torch.randn(1, 16, 10),
            torch.ones(1, 16, dtype=torch.bool),
            torch.tensor([2]),
        )
    raw = generator.prior_corrected_logits(output.code_logits, 0.0)
    corrected = generator.prior_corrected_logits(output.code_logits, 1.0)
    torch.testing.assert_close(raw["hands"], output.code_logits["hands"])
    torch.testing.assert_close(corrected["upper_body"], output.code_logits["upper_body"])
    boost = corrected["hands"] - raw["hands"]  # = -log prior: rare codes gain the most
    assert torch.equal(boost.argmin(dim=-1), torch.full((1, 16), 3))
    assert float(boost.max() - boost.min()) == pytest.approx(
        float(torch.log(torch.tensor(1001 / 2)))
    )


def test_a_tiny_generator_learns_that_silence_means_rest() -> None:
    """Silent frames (flat, quiet audio) are labelled with the rest code 0, speech frames
    with codes that keep changing. After a short training run, a wholly silent window must
    stay on the rest code and a window of speech must gesture: a per-window norm stretches
    the silent window's faint noise to the size of speech, so it cannot tell them apart."""
    torch.manual_seed(0)
    config = GeneratorConfig(
        audio_dim=12,
        text_dim=10,
        d_model=16,
        num_heads=2,
        num_layers=1,
        ffn_dim=32,
        latent_dim=8,
        codebook_size=9,
        window=32,
        dropout=0.0,
    )
    generator = SemGesGenerator(config)
    base = torch.randn(12)
    frames = torch.arange(32)

    def batch(size: int) -> tuple[torch.Tensor, torch.Tensor]:
        silent = torch.zeros(size, 32, dtype=torch.bool)
        for row in range(2, size):
            start, length = torch.randint(0, 32, (2,)).tolist()
            silent[row, start : start + length] = True
        silent[0] = True  # always one wholly silent window (and row 1 is all speech)
        loudness = torch.where(silent, 0.01, 1.0)[..., None]
        audio = base + loudness * torch.randn(size, 32, 12)
        codes = torch.where(silent, 0, 1 + (frames // 4 + torch.randint(0, 8, (size, 1))) % 8)
        return audio, codes

    text, mask, speaker = (
        torch.zeros(16, 32, 10),
        torch.zeros(16, 32, dtype=torch.bool),
        torch.full((16,), 2),
    )

    def next_batch():
        audio, codes = batch(16)
        return audio, text, mask, speaker, codes

    fit_upper_body_codes(generator, next_batch, steps=250)
    with torch.no_grad():
        audio, codes = batch(16)
        predicted = generator(audio, text, mask, speaker).code_logits["upper_body"].argmax(-1)
    assert (predicted[0] == 0).all()  # the silent window rests
    assert (predicted[1] != 0).all()  # the window of speech gestures
    speaking = codes != 0
    assert (predicted[speaking] != 0).float().mean() > 0.75
    assert predicted[speaking].unique().numel() >= 6  # with many different codes


def test_a_checkpoint_of_another_format_version_is_refused_by_name(tmp_path):
    tiny_pipeline().save_pretrained(tmp_path / "ckpt")
    manifest = tmp_path / "ckpt" / "pipeline.json"
    manifest.write_text(manifest.read_text().replace('"format_version": 4', '"format_version": 1'))
    with pytest.raises(
        CheckpointError, match="format version 1; this semges reads versions 3 and 4"
    ):
        SemGesPipeline.from_pretrained(tmp_path / "ckpt")
