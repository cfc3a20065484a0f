"""The FGD feature autoencoder: trained once, deterministic, versioned, shipped, and the one
evaluation measures with."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest
import torch
from tiny_pipeline import TINY_AUDIO_DIM, TINY_TEXT_DIM, tiny_pipeline

from semges import layout
from semges.motion import load_motion
from semges.speech import SpeechFeatures, Word
from training import evaluate as evaluation
from training.clip_features import num_frames_for
from training.fgd_autoencoder import FGDTrainConfig, main, train_fgd_autoencoder
from training.fgd_model import (
    DEFAULT_FGD_DIR,
    FGD_FEATURE_VERSION,
    FGDAutoencoderConfig,
    FGDAutoencoderError,
    fgd_features,
    fgd_fingerprint,
    load_fgd_autoencoder,
    part_rot6d,
)

DATA = Path(__file__).resolve().parent / "data"
TINY = FGDAutoencoderConfig(hidden_dim=8, feature_dim=4, window=8)
TINY_RECIPE = FGDTrainConfig(steps=5, batch_size=4)
SHIPPED_MAX_BYTES = 4 * 2**20


@pytest.fixture(scope="module")
def real_rot6d() -> torch.Tensor:
    """(120, 312) the real clip's first four seconds, generated parts only."""
    return part_rot6d(load_motion(DATA / "2_scott_0_1_1.npz"))[:120]


def test_training_is_deterministic_for_a_seed(real_rot6d: torch.Tensor) -> None:
    first, _ = train_fgd_autoencoder([real_rot6d], TINY, TINY_RECIPE)
    second, _ = train_fgd_autoencoder([real_rot6d], TINY, TINY_RECIPE)
    other, _ = train_fgd_autoencoder([real_rot6d], TINY, replace(TINY_RECIPE, seed=1))
    for name, tensor in first.state_dict().items():
        assert torch.equal(tensor, second.state_dict()[name]), name
    assert fgd_fingerprint(first) == fgd_fingerprint(second) != fgd_fingerprint(other)


def test_save_load_round_trip(real_rot6d: torch.Tensor, tmp_path: Path) -> None:
    model, _ = train_fgd_autoencoder([real_rot6d], TINY, TINY_RECIPE)
    model.save_pretrained(tmp_path / "fgd")
    loaded = load_fgd_autoencoder(tmp_path / "fgd")
    assert loaded.config == TINY
    assert fgd_fingerprint(loaded) == fgd_fingerprint(model)
    assert torch.equal(fgd_features(loaded, [real_rot6d]), fgd_features(model, [real_rot6d]))
    assert fgd_features(loaded, [real_rot6d]).shape == (
        120 // (TINY.window // 2) - 1,
        TINY.feature_dim,
    )


def test_another_version_or_no_folder_is_refused(real_rot6d: torch.Tensor, tmp_path: Path) -> None:
    model, _ = train_fgd_autoencoder([real_rot6d], TINY, TINY_RECIPE)
    model.save_pretrained(tmp_path / "old")
    config_path = tmp_path / "old" / "config.json"
    config_path.write_text(
        json.dumps({**json.loads(config_path.read_text()), "version": FGD_FEATURE_VERSION - 1})
    )
    with pytest.raises(
        FGDAutoencoderError,
        match=f"version {FGD_FEATURE_VERSION - 1}.*version {FGD_FEATURE_VERSION}",
    ):
        load_fgd_autoencoder(tmp_path / "old")
    with pytest.raises(FGDAutoencoderError, match="python -m training.fgd_autoencoder"):
        load_fgd_autoencoder(tmp_path / "missing")


def test_the_command_writes_weights_and_recipe(tmp_path: Path) -> None:
    source = tmp_path / "sample"
    source.mkdir()
    (source / "2_scott_0_1_1.npz").symlink_to(DATA / "2_scott_0_1_1.npz")
    with pytest.raises(SystemExit):
        main(
            [
                "--out",
                str(tmp_path / "x"),
                "--source",
                str(source),
                "--clips",
                "no_such_clip",
                "--bogus",
            ]
        )
    with pytest.raises(
        SystemExit,
        match=f"{re.escape(str(source))}: expected .* lacks "
        r"no_such_clip\.npz\. BEAT2 can be downloaded from https://",
    ):
        main(["--out", str(tmp_path / "x"), "--source", str(source), "--clips", "no_such_clip"])


def test_the_shipped_autoencoder_loads_and_matches_its_record() -> None:
    model = load_fgd_autoencoder()
    record = json.loads((DEFAULT_FGD_DIR / "training.json").read_text())
    assert model.config == FGDAutoencoderConfig()
    assert record["version"] == FGD_FEATURE_VERSION
    assert record["fingerprint"] == fgd_fingerprint(model)
    assert record["clips"] == ["2_scott_0_1_1"]
    assert record["recipe"] == asdict(FGDTrainConfig())
    assert (DEFAULT_FGD_DIR / "model.safetensors").stat().st_size < SHIPPED_MAX_BYTES


class LoudnessFeatures:
    """A cheap front-end at the tiny pipeline's sizes: per-frame loudness repeated."""

    frontend_config = None

    def fingerprint(self) -> str:
        return "loudness-test"

    def __call__(self, samples: np.ndarray, sample_rate: int, words: list[Word]) -> SpeechFeatures:
        num_frames = num_frames_for(samples.shape[0], sample_rate)
        frames = np.array_split(samples, num_frames)
        loudness = np.array([np.sqrt(np.mean(f**2)) if f.size else 0.0 for f in frames], np.float32)
        mask = np.zeros(num_frames, bool)
        for word in words:
            mask[round(word.start * layout.FPS) : round(word.end * layout.FPS)] = True
        return SpeechFeatures(
            np.repeat(loudness[:, None], TINY_AUDIO_DIM, axis=1),
            np.repeat(loudness[:, None], TINY_TEXT_DIM, axis=1),
            mask,
            words,
        )


def test_evaluate_measures_fgd_with_the_given_autoencoder(tmp_path: Path) -> None:
    from training.synthetic import write_corpus

    corpus = write_corpus(tmp_path / "corpus", clips=2, seed=0)
    shipped = load_fgd_autoencoder()
    before = {k: v.clone() for k, v in shipped.state_dict().items()}
    sys.modules.pop("training.fgd_autoencoder", None)  # evaluation must not need the trainer

    def run(autoencoder) -> dict:  # noqa: ANN001 (an FGDAutoencoder)
        return evaluation.evaluate(
            tiny_pipeline(),
            corpus,
            ["test"],
            None,
            LoudnessFeatures(),
            tmp_path / "cache",
            autoencoder,
        )

    first, second = run(shipped), run(shipped)
    assert "training.fgd_autoencoder" not in sys.modules
    assert np.isfinite(first["generated"]["fgd"])
    assert first["generated"]["fgd"] == second["generated"]["fgd"]
    assert first["fgd_autoencoder"] == {
        "version": FGD_FEATURE_VERSION,
        "fingerprint": fgd_fingerprint(shipped),
    }
    for name, tensor in shipped.state_dict().items():
        assert torch.equal(tensor, before[name]), name
    other, _ = train_fgd_autoencoder(
        [part_rot6d(load_motion(DATA / "2_scott_0_1_1.npz"))[:120]], recipe=TINY_RECIPE
    )
    assert run(other)["generated"]["fgd"] != first["generated"]["fgd"]
