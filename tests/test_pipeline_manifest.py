"""pipeline.json: written by the pipeline alone, each component listed with its class."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from tiny_pipeline import TINY_AUDIO_DIM, TINY_TEXT_DIM, random_features, tiny_pipeline

from semges.models.face import FaceConfig, FaceModel
from semges.pipeline import FACE_FOLDER, PIPELINE_FILE, SemGesPipeline
from semges.serialization import CheckpointError


def tiny_face() -> FaceModel:
    torch.manual_seed(0)
    return FaceModel(
        FaceConfig(audio_dim=TINY_AUDIO_DIM, text_dim=TINY_TEXT_DIM, hidden_dim=8, dilations=(1,))
    )


def _manifest(folder: Path) -> dict:
    return json.loads((folder / PIPELINE_FILE).read_text())


def _rewrite(folder: Path, **changes: object) -> None:
    (folder / PIPELINE_FILE).write_text(json.dumps({**_manifest(folder), **changes}))


def test_each_component_is_listed_with_its_class_and_built_from_it(tmp_path):
    pipeline = tiny_pipeline().with_face(tiny_face())
    folder = pipeline.save_pretrained(tmp_path / "pipeline")
    manifest = _manifest(folder)
    assert manifest["format_version"] == 4
    assert manifest["components"] == {
        "generator": ["semges.models.generator", "SemGesGenerator"],
        **{f"vqvae_{part}": ["semges.models.vqvae", "MotionVQVAE"] for part in pipeline.parts},
        "face": ["semges.models.face", "FaceModel"],
    }
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == sorted(manifest["components"])
    loaded = SemGesPipeline.from_pretrained(folder)
    assert {n: type(m) for n, m in loaded.components().items()} == {
        n: type(m) for n, m in pipeline.components().items()
    }
    features = random_features(40)
    np.testing.assert_array_equal(
        loaded.generate_motion(features, seed=2).poses,
        pipeline.generate_motion(features, seed=2).poses,
    )


def test_a_version_3_folder_loads_the_same_models(tmp_path):
    pipeline = tiny_pipeline().with_face(tiny_face())
    folder = pipeline.save_pretrained(tmp_path / "pipeline")
    _rewrite(
        folder,
        format_version=3,
        components={
            "generator": "generator",
            **{f"vqvae/{p}": f"vqvae_{p}" for p in pipeline.parts},
            "face": "face",
        },
    )
    loaded = SemGesPipeline.from_pretrained(folder)
    features = random_features(40)
    expected = pipeline.generate_motion(features, seed=1)
    motion = loaded.generate_motion(features, seed=1)
    np.testing.assert_array_equal(motion.poses, expected.poses)
    np.testing.assert_array_equal(motion.expressions, expected.expressions)


@pytest.mark.parametrize(
    "entry, words",
    [
        (["os", "system"], "only semges classes"),
        (["semges.layout", "JointGroup"], "not a saved model class"),
        (["semges.models.vqvae", "NoSuchModel"], "no class NoSuchModel"),
        ("generator", r"\[module, class\]"),
        (["semges.models.vqvae", "MotionVQVAE"], "VQVAEConfig has no fields"),
    ],
)
def test_a_bad_component_class_is_refused_by_name(tmp_path, entry, words):
    folder = tiny_pipeline().save_pretrained(tmp_path / "pipeline")
    _rewrite(folder, components={**_manifest(folder)["components"], "generator": entry})
    with pytest.raises(CheckpointError, match=words):
        SemGesPipeline.from_pretrained(folder)


def test_a_component_of_the_wrong_kind_is_refused(tmp_path):
    folder = tiny_pipeline().save_pretrained(tmp_path / "pipeline")
    shutil.rmtree(folder / "generator")
    shutil.copytree(folder / "vqvae_hands", folder / "generator")
    _rewrite(
        folder,
        components={
            **_manifest(folder)["components"],
            "generator": ["semges.models.vqvae", "MotionVQVAE"],
        },
    )
    with pytest.raises(
        CheckpointError, match="'generator' is a MotionVQVAE, not a SemGesGenerator"
    ):
        SemGesPipeline.from_pretrained(folder)


def test_components_the_pipeline_does_not_use_are_refused(tmp_path):
    folder = tiny_pipeline().save_pretrained(tmp_path / "pipeline")
    components = _manifest(folder)["components"]
    _rewrite(folder, components={**components, "spare": components["generator"]})
    (folder / "spare").symlink_to(folder / "generator")
    with pytest.raises(CheckpointError, match="does not use: spare"):
        SemGesPipeline.from_pretrained(folder)


def test_a_component_is_added_without_editing_pipeline_json(tmp_path):
    folder = tiny_pipeline().save_pretrained(tmp_path / "pipeline")
    (folder / "MODEL_CARD.md").write_text("card")
    generator_bytes = (folder / "generator" / "model.safetensors").read_bytes()
    with_face = SemGesPipeline.from_pretrained(folder).with_face(tiny_face())
    assert with_face.save_component(folder, FACE_FOLDER) == folder / FACE_FOLDER
    assert _manifest(folder)["components"][FACE_FOLDER] == ["semges.models.face", "FaceModel"]
    assert (folder / "MODEL_CARD.md").read_text() == "card"
    assert (folder / "generator" / "model.safetensors").read_bytes() == generator_bytes
    features = random_features(30)
    np.testing.assert_array_equal(
        SemGesPipeline.from_pretrained(folder).generate_motion(features).expressions,
        with_face.generate_motion(features).expressions,
    )
    with pytest.raises(ValueError, match="no component 'face'"):
        tiny_pipeline().save_component(folder, FACE_FOLDER)


def test_a_component_is_not_added_to_another_pipelines_folder(tmp_path):
    folder = tiny_pipeline().save_pretrained(tmp_path / "pipeline")
    components = _manifest(folder)["components"]  # a folder without one of the VQ-VAEs
    _rewrite(folder, components={n: e for n, e in components.items() if n != "vqvae_hands"})
    with pytest.raises(CheckpointError, match="save the whole pipeline"):
        tiny_pipeline().with_face(tiny_face()).save_component(folder, FACE_FOLDER)
    assert not (folder / FACE_FOLDER).exists()
