"""Train the shipped default checkpoint (``assets/checkpoint``) from the BEAT2 sample clip.

    python -m training.default_checkpoint [--source DIR] [--work runs/default_checkpoint]
    python -m training.default_checkpoint --beat2 PATH/beat_english_v2.0.0 [--work DIR] [--out DIR]

Steps: lay the sample files of ``data/beat2`` (``2_scott_0_1_1`` with motion for training;
``0_2_2``, ``0_3_3``, ``0_5_5`` speech only, held out) out in the BEAT2 layout under
``<work>``, train stage 1 (``configs/default_vqvae.yaml``) and stage 2
(``configs/default_generator.yaml``), copy the pipeline to ``--out``, train the face
(``configs/face.yaml``: jaw + expressions, a separate regressor) and add it there, and evaluate
the pipeline on the held-out speech against the real clip (``<out>/metrics.json``; FGD with the
shipped ``assets/fgd_autoencoder``). Interrupted runs resume where they stopped; a finished
stage is loaded from its last checkpoint, not trained again.

``--beat2`` trains the same recipe on a full BEAT2 language folder instead (its train split,
the configs' speakers; speech features cached in its ``.feature_cache`` as every trainer does),
evaluates on its test split, and writes to ``runs/beat2_checkpoint`` (pipeline in
``runs/beat2_checkpoint/pipeline``) unless ``--work``/``--out`` say otherwise, leaving the
shipped checkpoint and its model card alone. Either dataset is checked before anything is
trained: a missing or incomplete one is named in one line, with a non-zero exit.

``--train-fraction 0.75`` trains every stage on the first 75 % of the clip only: the time split
on which ``benchmarks/motion_quality.py`` compares generated and real motion frame by frame.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import time
from pathlib import Path

from semges.shipped_checkpoint import SHIPPED_CHECKPOINT
from training import beat2_files as files
from training.clip_features import default_extractor
from training.config import FaceTrainConfig, GeneratorTrainConfig, VQVAETrainConfig, load_config
from training.sample_data import BEAT2_SAMPLE_DIR

logger = logging.getLogger(__name__)

TRAIN_CLIPS = ("2_scott_0_1_1",)
HELD_OUT_CLIPS = ("2_scott_0_2_2", "2_scott_0_3_3", "2_scott_0_5_5")
EVAL_SPLITS = ["test"]
CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
SAMPLE_WORK = "runs/default_checkpoint"
BEAT2_WORK = "runs/beat2_checkpoint"  # a full BEAT2 run never resumes from the sample's


def prepare_sample(source: Path, root: Path) -> Path:
    """Symlink the flat sample files into a BEAT2-layout folder with a split file.

    The training clips need all their files and the held-out clips their speech (their
    TextGrids are used when present); a missing one is a :class:`files.DatasetError`, raised
    before anything is written."""
    needed = [f"{clip}{suffix}" for clip in TRAIN_CLIPS for suffix in files.CLIP_FILES.values()]
    files.require_files(
        source,
        "the flat BEAT2 sample files (<clip id>.npz/.wav/.TextGrid)",
        needed + [f"{clip}.wav" for clip in HELD_OUT_CLIPS],
    )
    for sub, suffix in files.CLIP_FILES.items():
        (root / sub).mkdir(parents=True, exist_ok=True)
        for clip in TRAIN_CLIPS + HELD_OUT_CLIPS:
            target, link = source / f"{clip}{suffix}", files.clip_file(root, sub, clip)
            if target.is_file():  # re-pointed every time: an older run's link may be stale
                link.unlink(missing_ok=True)
                link.symlink_to(target.resolve())
    rows = [f"{c},train" for c in TRAIN_CLIPS] + [f"{c},test" for c in HELD_OUT_CLIPS]
    (root / files.SPLIT_FILE).write_text("id,type\n" + "\n".join(rows) + "\n")
    return root


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    dataset = parser.add_mutually_exclusive_group()
    dataset.add_argument(
        "--source",
        type=Path,
        default=BEAT2_SAMPLE_DIR,
        help="flat BEAT2 sample files (default: data/beat2)",
    )
    dataset.add_argument(
        "--beat2",
        type=Path,
        default=None,
        metavar="DIR",
        help="a full BEAT2 language folder (beat_english_v2.0.0/) to train on "
        "instead of the sample",
    )
    parser.add_argument(
        "--work",
        type=Path,
        default=None,
        help=f"run folder (default {SAMPLE_WORK}; with --beat2 {BEAT2_WORK})",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"pipeline folder (default {SHIPPED_CHECKPOINT}; with --beat2 <work>/pipeline)",
    )
    parser.add_argument(
        "--train-fraction",
        type=float,
        default=1.0,
        help="train on this first fraction of every training clip (time split)",
    )
    parser.add_argument(
        "overrides",
        nargs="*",
        help="stage:key=value, e.g. vqvae:run.steps=10 (stages: vqvae, generator, face)",
    )
    args = parser.parse_args(argv)
    work = args.work or Path(BEAT2_WORK if args.beat2 else SAMPLE_WORK)
    out = args.out or (work / "pipeline" if args.beat2 else SHIPPED_CHECKPOINT)
    data = args.beat2 or work / "beat2_sample"
    stage_overrides = {
        stage: [
            f"data.root={data}",
            f"data.time_range=[0.0,{args.train_fraction}]",
            f"run.out_dir={work / stage}",
        ]
        for stage in ("vqvae", "generator", "face")
    }
    for item in args.overrides:
        stage, _, override = item.partition(":")
        if stage not in stage_overrides:
            parser.error(
                f"overrides look like vqvae:key=value, generator:key=value or "
                f"face:key=value, got {item!r}"
            )
        stage_overrides[stage].append(override)
    vq_config = load_config(
        VQVAETrainConfig, CONFIG_DIR / "default_vqvae.yaml", stage_overrides["vqvae"]
    )
    gen_config = load_config(
        GeneratorTrainConfig,
        CONFIG_DIR / "default_generator.yaml",
        [f"vqvae_dir={work / 'vqvae'}", *stage_overrides["generator"]],
    )
    face_config = load_config(FaceTrainConfig, CONFIG_DIR / "face.yaml", stage_overrides["face"])
    try:  # the data first: a missing dataset is one line, not a traceback after an import
        if args.beat2 is None:
            prepare_sample(args.source, data)
        for config in (vq_config, gen_config, face_config):
            files.require_clips(data, config.data.speakers, config.data.splits)
        files.require_clips(data, gen_config.data.speakers, EVAL_SPLITS, [files.WAVE_DIR])
    except files.DatasetError as error:
        raise SystemExit(f"error: {error}") from None
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from semges.pipeline import SemGesPipeline  # torch: only once the arguments are good
    from training import evaluate, face, generator, vqvae
    from training.beat2_data import cache_dir_for
    from training.fgd_model import load_fgd_autoencoder

    fgd_autoencoder = load_fgd_autoencoder()  # a missing one stops here, not after training
    timings = {}
    start = time.perf_counter()
    vqvae.train(vq_config)
    timings["vqvae_s"] = time.perf_counter() - start
    start = time.perf_counter()
    extractor = default_extractor()
    pipeline_dir = generator.train(gen_config, extractor)
    timings["generator_s"] = time.perf_counter() - start
    out.mkdir(parents=True, exist_ok=True)
    for item in pipeline_dir.iterdir():
        destination = out / item.name
        if destination.is_dir():
            shutil.rmtree(destination)
        (shutil.copytree if item.is_dir() else shutil.copy2)(item, destination)
    start = time.perf_counter()
    face.install_face(face.train(face_config, extractor), out)
    timings["face_s"] = time.perf_counter() - start
    result = evaluate.evaluate(
        SemGesPipeline.from_pretrained(out, frontend=extractor.frontend),
        data,
        EVAL_SPLITS,
        gen_config.data.speakers,
        extractor,
        cache_dir_for(gen_config.data),
        fgd_autoencoder,
    )
    result["training_time"] = timings
    (out / "metrics.json").write_text(evaluate.metrics_json(result))
    logger.info("default checkpoint in %s\n%s", out, evaluate.format_table(result))
    return result


if __name__ == "__main__":
    main()
