"""Train the live models of a pipeline folder: its generator and face, on the live features.

    python -m training.live [--pipeline assets/checkpoint] [--work runs/live] [stage:key=value ...]

The live path (:mod:`semges.live`) computes its audio features as the speech arrives
(:mod:`semges.live.features`): Whisper states from a few seconds of trailing audio and prosody
with running references, which differ from the offline features (cosine 0.6 for the Whisper
states), and words that arrive 1-2 s after they are spoken (:mod:`semges.live.words`). A
generator trained offline reads them badly, so this trains a generator
(``configs/live_generator.yaml``: the default recipe, the words of each window's last
seconds unknown, as live recognition's lag leaves them) and a face model
(``configs/face.yaml``, without words) on exactly the rows a live stream computes, on the
pipeline's own VQ-VAEs, and writes them with the live settings to ``<pipeline>/live/`` (the
rest of the folder is left alone). Data: the BEAT2 sample of ``data/beat2`` (as ``make
checkpoint``), or ``--beat2 PATH`` for a full BEAT2 language folder.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import shutil
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from semges.live.config import (
    FACE_FOLDER,
    GENERATOR_FOLDER,
    LiveConfig,
    live_folder,
    write_live_manifest,
)
from semges.shipped_checkpoint import SHIPPED_CHECKPOINT
from semges.speech import SpeechFeatures, Word
from training import beat2_files as files
from training.config import FaceTrainConfig, GeneratorTrainConfig, load_config, replace
from training.sample_data import BEAT2_SAMPLE_DIR

if TYPE_CHECKING:
    from semges.speech.text_features import WordEncoder

logger = logging.getLogger(__name__)

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
LIVE_WORK = "runs/live"
STAGES = ("generator", "face")


class LiveClipFeatures:
    """A training clip's features as a live stream computes them: live audio rows and, when
    ``word_encoder`` is given, the clip's words embedded as live recognition commits them (a
    few at a time, each after the earlier words of its sentence: :mod:`semges.live.words`);
    without it no words (text zeros, no word frames: the live face runs without them)."""

    def __init__(
        self,
        config: LiveConfig,
        whisper_fingerprint: str,
        whisper: object,
        text_dim: int,
        word_encoder: WordEncoder | None = None,
    ) -> None:
        self.config = config
        self.text_dim = text_dim
        self._whisper_fingerprint = whisper_fingerprint
        self._whisper = whisper
        self._word_encoder = word_encoder if config.words is not None else None

    @property
    def frontend_config(self) -> None:
        return None

    def fingerprint(self) -> str:
        # the front-end's fingerprint covers the text model too
        words = self.config.to_dict()["words"] if self._word_encoder is not None else None
        settings = json.dumps([self.config.features.__dict__, self._whisper_fingerprint, words])
        return "live-" + hashlib.sha256(settings.encode()).hexdigest()[:12]

    def __call__(self, samples: np.ndarray, sample_rate: int, words: list[Word]) -> SpeechFeatures:
        from semges.live.features import streamed_audio_features
        from semges.speech.audio import SAMPLE_RATE, resample

        audio = resample(samples.astype(np.float32), sample_rate, SAMPLE_RATE)
        rows = streamed_audio_features(self._whisper, audio, self.config.features)
        num_frames = rows.shape[0]
        if self._word_encoder is None:
            text = np.zeros((num_frames, self.text_dim), np.float32)
            return SpeechFeatures(rows, text, np.zeros(num_frames, bool), words)
        from semges.live.words import CausalWordEmbedder, committed_batches
        from semges.speech.text_features import frame_word_features

        config = self.config
        batches = committed_batches(
            words, config.words, config.features.hop_frames, config.first_step_end
        )
        embedder = CausalWordEmbedder(self._word_encoder, config.words.context_words)
        ordered = [word for batch in batches for word in batch]
        embeddings = np.concatenate(
            [embedder.add(batch) for batch in batches] or [np.zeros((0, self.text_dim), np.float32)]
        )
        text, mask = frame_word_features(ordered, embeddings, num_frames)
        return SpeechFeatures(rows, text, mask, words)


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipeline", type=Path, default=SHIPPED_CHECKPOINT)
    parser.add_argument("--work", type=Path, default=Path(LIVE_WORK), help="run folder")
    parser.add_argument("--beat2", type=Path, help="a full BEAT2 language folder")
    parser.add_argument("overrides", nargs="*", help="stage:key=value, e.g. generator:run.steps=10")
    args = parser.parse_args(argv)
    data = args.beat2 or args.work / "beat2_sample"
    stage_overrides = {
        stage: [f"data.root={data}", f"run.out_dir={args.work / stage}"] for stage in STAGES
    }
    for item in args.overrides:
        stage, _, override = item.partition(":")
        if stage not in stage_overrides:
            parser.error(f"overrides look like generator:key=value or face:key=value, got {item!r}")
        stage_overrides[stage].append(override)
    gen_config = load_config(
        GeneratorTrainConfig,
        CONFIG_DIR / "live_generator.yaml",
        [f"vqvae_dir={args.pipeline}", *stage_overrides["generator"]],
    )
    face_config = load_config(FaceTrainConfig, CONFIG_DIR / "face.yaml", stage_overrides["face"])
    try:
        if args.beat2 is None:
            from training.default_checkpoint import prepare_sample

            prepare_sample(BEAT2_SAMPLE_DIR, data)
        for config in (gen_config, face_config):
            files.require_clips(data, config.data.speakers, config.data.splits)
    except files.DatasetError as error:
        raise SystemExit(f"error: {error}") from None
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    return train_live_models(args.pipeline, gen_config, face_config)


def train_live_models(
    pipeline_folder: Path, gen_config: GeneratorTrainConfig, face_config: FaceTrainConfig
) -> Path:
    """Train both live models and write them to ``<pipeline_folder>/live``; returns it."""
    from semges.atomic_files import atomic_folder
    from semges.pipeline import SemGesPipeline
    from training import face, generator

    pipeline = SemGesPipeline.from_pretrained(pipeline_folder)
    config = LiveConfig()
    features = partial(
        LiveClipFeatures,
        config,
        pipeline.frontend_config.feature_fingerprint(),
        pipeline.frontend.whisper,
        pipeline.generator.config.text_dim,
    )
    if config.words is not None:
        lag = config.words.lag_range_s(config.features.hop_frames)
        gen_config = replace(gen_config, word_lag_s_min=lag[0], word_lag_s_max=lag[1])
    timings = {}
    start = time.perf_counter()
    generator.train(gen_config, features(pipeline.frontend.word_encoder))
    timings["generator_s"] = round(time.perf_counter() - start, 1)
    start = time.perf_counter()
    face_model = face.train(face_config, features())
    timings["face_s"] = round(time.perf_counter() - start, 1)
    destination = live_folder(pipeline_folder)
    with atomic_folder(destination) as staging:
        shutil.copytree(Path(gen_config.run.out_dir) / GENERATOR_FOLDER, staging / GENERATOR_FOLDER)
        shutil.copytree(face_model, staging / FACE_FOLDER)
        write_live_manifest(
            staging,
            config,
            {
                "generator_config": "configs/live_generator.yaml",
                "face_config": "configs/face.yaml",
                "steps": {"generator": gen_config.run.steps, "face": face_config.run.steps},
                "training_time_s": timings,
            },
        )
    logger.info("live models in %s", destination)
    return destination


if __name__ == "__main__":
    main()
