"""Train the shipped default checkpoint (``assets/checkpoint``) from the BEAT2 sample clip.

    python -m training.default_checkpoint [--source DIR] [--work runs/default_checkpoint]

Steps: lay the sample files (``2_scott_0_1_1`` with motion for training; ``0_2_2``,
``0_3_3``, ``0_5_5`` speech only, held out) out in the BEAT2 layout under ``<work>``, train
stage 1 (``configs/default_vqvae.yaml``) and stage 2 (``configs/default_generator.yaml``),
copy the pipeline to ``--out``, train the face (``configs/face.yaml``: jaw + expressions, a
separate regressor) and add it there, and evaluate the pipeline on the held-out speech against
the real clip (``<out>/metrics.json``; FGD with the shipped ``assets/fgd_autoencoder``). Interrupted runs resume where they stopped; a finished
stage is loaded from its last checkpoint, not trained again.

``--train-fraction 0.75`` trains every stage on the first 75 % of the clip only: the time split
on which ``benchmarks/motion_quality.py`` compares generated and real motion frame by frame.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import time
from pathlib import Path

from training import beat2_files as files
from training.clip_features import default_extractor
from training.sample_data import BEAT2_SAMPLE_DIR
from training.config import FaceTrainConfig, GeneratorTrainConfig, VQVAETrainConfig, load_config

logger = logging.getLogger(__name__)

TRAIN_CLIPS = ("2_scott_0_1_1",)
HELD_OUT_CLIPS = ("2_scott_0_2_2", "2_scott_0_3_3", "2_scott_0_5_5")
SUFFIXES = {files.MOTION_DIR: ".npz", files.WAVE_DIR: ".wav", files.TEXTGRID_DIR: ".TextGrid"}
CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"


def prepare_sample(source: Path, root: Path) -> Path:
    """Symlink the flat sample files into a BEAT2-layout folder with a split file."""
    for sub, suffix in SUFFIXES.items():
        (root / sub).mkdir(parents=True, exist_ok=True)
        for clip in TRAIN_CLIPS + HELD_OUT_CLIPS:
            target, link = source / f"{clip}{suffix}", root / sub / f"{clip}{suffix}"
            if target.is_file() and not link.exists():
                link.symlink_to(target.resolve())
    rows = [f"{c},train" for c in TRAIN_CLIPS] + [f"{c},test" for c in HELD_OUT_CLIPS]
    (root / files.SPLIT_FILE).write_text("id,type\n" + "\n".join(rows) + "\n")
    return root


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", default=str(BEAT2_SAMPLE_DIR), help="flat BEAT2 sample files")
    parser.add_argument("--work", default="runs/default_checkpoint")
    parser.add_argument("--out", default="assets/checkpoint")
    parser.add_argument("--train-fraction", type=float, default=1.0,
                        help="train on this first fraction of every training clip (time split)")
    parser.add_argument("overrides", nargs="*", help="stage:key=value, e.g. vqvae:run.steps=10 "
                        "(stages: vqvae, generator, face)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from semges.pipeline import SemGesPipeline  # torch: only once the arguments are good
    from training import evaluate, face, generator, vqvae
    from training.fgd_model import load_fgd_autoencoder

    fgd_autoencoder = load_fgd_autoencoder()  # a missing one stops here, not after training
    work = Path(args.work)
    data = prepare_sample(Path(args.source), work / "beat2_sample")
    time_range = f"data.time_range=[0.0,{args.train_fraction}]"
    stage_overrides = {"vqvae": [time_range], "generator": [time_range], "face": [time_range]}
    for item in args.overrides:
        stage, _, override = item.partition(":")
        if stage not in stage_overrides:
            parser.error(f"overrides look like vqvae:key=value, generator:key=value or "
                         f"face:key=value, got {item!r}")
        stage_overrides[stage].append(override)
    timings = {}
    start = time.perf_counter()
    vq_config = load_config(VQVAETrainConfig, CONFIG_DIR / "default_vqvae.yaml",
                            [f"data.root={data}", f"run.out_dir={work / 'vqvae'}",
                             *stage_overrides["vqvae"]])
    vqvae.train(vq_config)
    timings["vqvae_s"] = time.perf_counter() - start
    start = time.perf_counter()
    extractor = default_extractor()
    gen_config = load_config(GeneratorTrainConfig, CONFIG_DIR / "default_generator.yaml",
                             [f"data.root={data}", f"run.out_dir={work / 'generator'}",
                              f"vqvae_dir={work / 'vqvae'}", *stage_overrides["generator"]])
    pipeline_dir = generator.train(gen_config, extractor)
    timings["generator_s"] = time.perf_counter() - start
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for item in pipeline_dir.iterdir():
        destination = out / item.name
        if destination.is_dir():
            shutil.rmtree(destination)
        (shutil.copytree if item.is_dir() else shutil.copy2)(item, destination)
    start = time.perf_counter()
    face_config = load_config(FaceTrainConfig, CONFIG_DIR / "face.yaml",
                              [f"data.root={data}", f"run.out_dir={work / 'face'}",
                               *stage_overrides["face"]])
    face.install_face(face.train(face_config, extractor), out)
    timings["face_s"] = time.perf_counter() - start
    result = evaluate.evaluate(SemGesPipeline.from_pretrained(out, frontend=extractor.frontend),
                               data, ["test"], [2], extractor, data / ".feature_cache",
                               fgd_autoencoder)
    result["training_time"] = timings
    (out / "metrics.json").write_text(evaluate.metrics_json(result))
    logger.info("default checkpoint in %s\n%s", out, evaluate.format_table(result))
    return result


if __name__ == "__main__":
    main()
