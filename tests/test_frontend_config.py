"""The speech front-end is part of a saved pipeline: saved, rebuilt, and checked by name."""

from __future__ import annotations

import dataclasses
import json

import pytest
from tiny_pipeline import tiny_pipeline

from semges.pipeline import PIPELINE_FILE, SemGesPipeline, saved_frontend_config
from semges.serialization import CheckpointError
from semges.speech.frontend import FrontendConfig
from semges.speech.transcription import TimingRefinement

OTHER_TIMING = TimingRefinement(shift_s=0.2)


def saved_with(config: FrontendConfig, folder, frontend=None):
    """A tiny pipeline (sized for ``frontend`` when given) saved with ``config``."""
    sizes = (
        {} if frontend is None else {"audio_dim": frontend.audio_dim, "text_dim": frontend.text_dim}
    )
    tiny = tiny_pipeline(**sizes)
    pipeline = SemGesPipeline(tiny.generator, tiny.vqvaes, tiny.inference, frontend_config=config)
    return pipeline.save_pretrained(folder / "pipeline")


def test_the_front_end_config_round_trips_through_pipeline_json(tmp_path):
    config = FrontendConfig(text_model="/models/minilm", beam_size=5, timing=OTHER_TIMING)
    folder = saved_with(config, tmp_path)
    assert json.loads((folder / PIPELINE_FILE).read_text())["frontend"]["timing"]["shift_s"] == 0.2
    assert SemGesPipeline.from_pretrained(folder).frontend_config == config
    assert saved_frontend_config(folder) == config


def test_a_checkpoint_refuses_a_front_end_that_makes_other_features(tmp_path, speech_frontend):
    folder = saved_with(FrontendConfig(timing=OTHER_TIMING), tmp_path, speech_frontend)
    with pytest.raises(CheckpointError, match=r"another speech front-end: timing .*shift_s=0\.2"):
        SemGesPipeline.from_pretrained(folder, frontend=speech_frontend)

    other_whisper = saved_with(
        FrontendConfig(whisper_model="/models/whisper-small.en"),
        tmp_path / "whisper",
        speech_frontend,
    )
    with pytest.raises(CheckpointError, match="whisper_model '/models/whisper-small.en'"):
        SemGesPipeline.from_pretrained(other_whisper, frontend=speech_frontend)


def test_run_time_settings_may_differ(tmp_path, speech_frontend):
    saved = dataclasses.replace(
        speech_frontend.config, cpu_threads=1, beam_size=5, max_duration_s=30.0
    )
    folder = saved_with(saved, tmp_path, speech_frontend)
    pipeline = SemGesPipeline.from_pretrained(folder, frontend=speech_frontend)
    assert pipeline.frontend is speech_frontend


def test_a_pipeline_saved_before_front_ends_were_recorded_uses_the_default(tmp_path):
    folder = saved_with(FrontendConfig(), tmp_path)
    manifest = json.loads((folder / PIPELINE_FILE).read_text())
    del manifest["frontend"]
    (folder / PIPELINE_FILE).write_text(json.dumps(manifest))
    assert SemGesPipeline.from_pretrained(folder).frontend_config == FrontendConfig()

    manifest["frontend"] = {"whisper": "tiny"}
    (folder / PIPELINE_FILE).write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError, match="bad front-end config"):
        SemGesPipeline.from_pretrained(folder)


def test_the_feature_cache_key_follows_features_not_run_time_settings():
    default = FrontendConfig()
    assert (
        FrontendConfig(cpu_threads=3, beam_size=5).feature_fingerprint()
        == default.feature_fingerprint()
    )
    assert (
        FrontendConfig(timing=OTHER_TIMING).feature_fingerprint() != default.feature_fingerprint()
    )
    assert FrontendConfig(text_model="x").feature_differences(default) == ["text_model"]
