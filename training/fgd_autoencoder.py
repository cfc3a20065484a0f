"""Train the FGD feature autoencoder once, deterministically, and save it (feature version in
``training.fgd_model.FGD_FEATURE_VERSION``).

    python -m training.fgd_autoencoder --out assets/fgd_autoencoder           # the shipped one
    python -m training.fgd_autoencoder --beat2-root DIR --out DIR [--splits train] [--speakers 2]

By default it trains on the real BEAT2 sample clip ``2_scott_0_1_1`` (flat files in
``--source``, by default ``data/beat2``); ``--beat2-root`` trains on every clip with motion of
the chosen splits and speakers of a BEAT2 language folder instead. The folder gets
``config.json`` + ``model.safetensors`` (what evaluation loads) and ``training.json`` (the
recipe and the clips). Training is seeded and single-threaded, so the same command on the same
data and torch version reproduces the weights. Missing data is named in one line (no
traceback) before training. An autoencoder trained on other data measures a different FGD: bump
``FGD_FEATURE_VERSION`` before shipping one.

Torch is imported only once the arguments are parsed, so ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from training import beat2_files as files
from training.sample_data import BEAT2_SAMPLE_DIR

if TYPE_CHECKING:
    import torch

    from training.fgd_model import FGDAutoencoder, FGDAutoencoderConfig

logger = logging.getLogger(__name__)

SAMPLE_CLIPS = ("2_scott_0_1_1",)  # the sample's only clip with motion
TRAINING_FILE = "training.json"
TRAINING_THREADS = 1  # thread count changes float summation order: one thread reproduces
LOG_EVERY = 100  # steps between loss log lines


@dataclass(frozen=True)
class FGDTrainConfig:
    """How the FGD autoencoder is trained; saved in ``training.json`` beside the weights."""

    steps: int = 1000
    batch_size: int = 64
    lr: float = 1e-3
    seed: int = 0  # model initialisation and batch order
    window_stride: int = 8  # frames between training windows
    min_std: float = 1e-2  # floor of the per-channel normalisation std
    grad_clip: float = 1.0  # max gradient norm


def train_fgd_autoencoder(
    sequences: list[torch.Tensor],
    config: FGDAutoencoderConfig | None = None,
    recipe: FGDTrainConfig = FGDTrainConfig(),
) -> tuple[FGDAutoencoder, float]:
    """Fit the autoencoder on real (T_i, input_dim) sequences of at least ``window`` frames.

    Deterministic for a recipe (seeded initialisation and batches). Returns the model in eval
    mode and the mean reconstruction loss (normalised units) of the last ``LOG_EVERY`` steps.
    """
    import torch
    import torch.nn.functional as F

    from training.fgd_model import FGDAutoencoder, FGDAutoencoderConfig

    config = config or FGDAutoencoderConfig()
    generator = torch.Generator().manual_seed(recipe.seed)
    with torch.random.fork_rng():
        torch.manual_seed(recipe.seed)
        model = FGDAutoencoder(config)
    starts = torch.cat(
        [
            torch.stack(
                torch.meshgrid(
                    torch.tensor([i]),
                    torch.arange(0, len(s) - config.window + 1, recipe.window_stride),
                    indexing="ij",
                ),
                dim=-1,
            ).flatten(0, 1)
            for i, s in enumerate(sequences)
        ]
    )  # (N, 2)
    if not len(starts):
        raise ValueError(f"no sequence has the {config.window} frames of one window")
    frames = torch.cat(sequences)  # (sum T_i, input_dim)
    model.mean.copy_(frames.mean(dim=0))
    model.std.copy_(frames.std(dim=0).clamp(min=recipe.min_std))

    def window_batch(indices: torch.Tensor) -> torch.Tensor:  # (B,) -> (B, window, input_dim)
        return torch.stack(
            [sequences[i][s : s + config.window] for i, s in starts[indices].tolist()]
        )

    optimizer = torch.optim.Adam(model.parameters(), lr=recipe.lr)
    recent: list[float] = []
    for step in range(1, recipe.steps + 1):
        batch = window_batch(torch.randint(len(starts), (recipe.batch_size,), generator=generator))
        loss = F.mse_loss(model(batch), (batch - model.mean) / model.std)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), recipe.grad_clip)
        optimizer.step()
        recent = [*recent[-(LOG_EVERY - 1) :], float(loss.detach())]
        if step % LOG_EVERY == 0:
            logger.info("step %d: reconstruction loss %.4f", step, sum(recent) / len(recent))
    return model.eval(), sum(recent) / max(len(recent), 1)


def sample_clips(source: Path, clips: tuple[str, ...]) -> dict[str, Path]:
    """{clip id: motion file} of flat sample files ``<source>/<clip>.npz``; a
    :class:`files.DatasetError` names the missing ones."""
    names = {clip: f"{clip}.npz" for clip in clips}
    files.require_files(source, "flat BEAT2 sample motion files (<clip id>.npz)", names.values())
    return {clip: source / name for clip, name in names.items()}


def beat2_clips(root: Path, splits: list[str], speakers: list[int] | None) -> dict[str, Path]:
    """{clip id: motion file} of every complete clip of ``splits`` (and ``speakers``)."""
    files.require_clips(root, speakers, splits)  # list_clips keeps clips with all three files
    return {r.clip_id: r.motion for r in files.list_clips(root, speakers, splits)}


def build(
    motion_files: dict[str, Path], out: Path, recipe: FGDTrainConfig = FGDTrainConfig()
) -> Path:
    """Train on the motion files and save ``config.json``, ``model.safetensors`` and
    ``training.json`` to ``out``; returns ``out``."""
    from semges.motion import load_motion
    from training.fgd_model import fgd_fingerprint, part_rot6d

    sequences = [part_rot6d(load_motion(path)) for path in motion_files.values()]
    logger.info(
        "training the FGD autoencoder on %d clips (%d frames)",
        len(sequences),
        sum(len(s) for s in sequences),
    )
    model, final_loss = train_fgd_autoencoder(sequences, recipe=recipe)
    model.save_pretrained(out)
    record = {
        "version": model.config.version,
        "recipe": asdict(recipe),
        "clips": sorted(motion_files),
        "frames": sum(len(s) for s in sequences),
        "final_loss": final_loss,
        "fingerprint": fgd_fingerprint(model),
    }
    (out / TRAINING_FILE).write_text(json.dumps(record, indent=2) + "\n")
    logger.info("FGD autoencoder in %s (fingerprint %s)", out, record["fingerprint"])
    return out


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to write")
    parser.add_argument(
        "--source", type=Path, default=BEAT2_SAMPLE_DIR, help="flat BEAT2 sample files (<clip>.npz)"
    )
    parser.add_argument(
        "--clips", nargs="+", default=list(SAMPLE_CLIPS), help="sample clips to train on"
    )
    parser.add_argument(
        "--beat2-root",
        type=Path,
        default=None,
        help="a BEAT2 language folder: train on its clips instead of the sample",
    )
    parser.add_argument("--splits", nargs="+", default=["train"], help="with --beat2-root")
    parser.add_argument("--speakers", type=int, nargs="*", default=None, help="with --beat2-root")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        motion_files = (
            beat2_clips(args.beat2_root, args.splits, args.speakers)
            if args.beat2_root is not None
            else sample_clips(args.source, tuple(args.clips))
        )
    except files.DatasetError as error:
        raise SystemExit(f"error: {error}") from None
    import torch

    torch.set_num_threads(TRAINING_THREADS)
    return build(motion_files, args.out)


if __name__ == "__main__":
    main()
