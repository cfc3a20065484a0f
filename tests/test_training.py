"""Training smoke runs on a tiny synthetic corpus: the real main() of both stages, exact
resume, two-process DDP on CPU (gloo), and the pipeline folder a run ends with."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from semges import layout
from semges.pipeline import SemGesPipeline
from training import generator as generator_trainer
from training import vqvae as vqvae_trainer
from training.beat2_data import load_clips
from training.clip_features import default_extractor
from training.config import DataConfig
from training.synthetic import write_corpus

REPO = Path(__file__).resolve().parent.parent
VQ_TINY = str(REPO / "configs" / "vqvae_tiny.yaml")
GEN_TINY = str(REPO / "configs" / "generator_tiny.yaml")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three synthetic clips with their speech features already cached."""
    root = write_corpus(tmp_path_factory.mktemp("corpus"), clips=3, seed=0)
    load_clips(
        DataConfig(root=str(root), splits=["train", "test"], mirror=False), default_extractor()
    )
    return root


@pytest.fixture(scope="module")
def vq_run(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("vq")
    vqvae_trainer.main(["--config", VQ_TINY, f"data.root={corpus}", f"run.out_dir={out}"])
    return out


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


def test_vqvae_main_writes_config_logs_and_models(vq_run: Path) -> None:
    assert (vq_run / "config.yaml").is_file()
    assert list((vq_run / "logs").iterdir())
    for part in ("upper_body", "hands"):
        assert (vq_run / f"vqvae_{part}" / "model.safetensors").is_file()


def test_generator_main_writes_a_loadable_pipeline(
    corpus: Path, vq_run: Path, tmp_path: Path
) -> None:
    pipeline_dir = generator_trainer.main(
        [
            "--config",
            GEN_TINY,
            f"data.root={corpus}",
            f"run.out_dir={tmp_path}",
            f"vqvae_dir={vq_run}",
        ]
    )
    assert (tmp_path / "config.yaml").read_text().startswith("data:")
    pipeline = SemGesPipeline.from_pretrained(pipeline_dir)
    assert pipeline.generator.config.audio_dim == pipeline.generator.audio_mean.shape[0]
    assert pipeline.generator.config.window == 32
    assert pipeline.trained_speakers == (2,)  # the synthetic corpus is speaker 2's
    prior = pipeline.generator.code_log_prior.exp()  # code frequencies of the training motion
    torch.testing.assert_close(prior.sum(dim=-1), torch.ones(len(pipeline.parts)))
    assert (prior.max(dim=-1).values > prior.min(dim=-1).values).all()


def test_resume_gives_the_same_weights_as_an_uninterrupted_run(
    corpus: Path, vq_run: Path, tmp_path: Path
) -> None:
    common = [
        "--config",
        GEN_TINY,
        f"data.root={corpus}",
        f"vqvae_dir={vq_run}",
        "run.checkpoint_every=100",
    ]
    generator_trainer.main([*common, f"run.out_dir={tmp_path / 'straight'}"])
    generator_trainer.main([*common, f"run.out_dir={tmp_path / 'resumed'}", "run.stop_at=2"])
    assert not (tmp_path / "resumed" / "pipeline").exists()
    generator_trainer.main([*common, f"run.out_dir={tmp_path / 'resumed'}"])
    straight = _weights(tmp_path / "straight" / "generator")
    resumed = _weights(tmp_path / "resumed" / "generator")
    assert straight.keys() == resumed.keys()
    for name in straight:
        torch.testing.assert_close(resumed[name], straight[name], rtol=0, atol=0, msg=name)


@pytest.mark.slow
def test_two_process_ddp_on_cpu(corpus: Path, tmp_path: Path) -> None:
    """Two ranks started as torchrun starts them (env:// rendezvous), each with Python's fault
    handler on: a rank still running at the deadline is made to print every thread's stack
    before it is killed, so a hang fails with where it hung."""
    port = _free_port()
    command = [
        sys.executable,
        "-X",
        "faulthandler",
        "-m",
        "training.vqvae",
        "--config",
        VQ_TINY,
        f"data.root={corpus}",
        f"run.out_dir={tmp_path}",
        "run.collective_timeout_s=120",
    ]
    ranks = []
    for rank in range(2):
        env = {
            **os.environ,
            "OMP_NUM_THREADS": "1",
            "RANK": str(rank),
            "LOCAL_RANK": str(rank),
            "WORLD_SIZE": "2",
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
        }
        log = (tmp_path / f"rank{rank}.log").open("w")
        ranks.append(
            (
                subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT),
                log,
            )
        )
    deadline = time.monotonic() + 300  # about 20 s alone, minutes on a loaded machine
    for process, _ in ranks:
        try:
            process.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGABRT)  # the fault handler prints the stacks
            process.wait(timeout=30)
    for _, log in ranks:
        log.close()
    logs = "\n".join(
        f"--- rank {r} ---\n" + (tmp_path / f"rank{r}.log").read_text()[-4000:] for r in range(2)
    )
    assert all(process.returncode == 0 for process, _ in ranks), logs
    for part in layout.GENERATED_PARTS:
        assert (tmp_path / f"vqvae_{part}" / "model.safetensors").is_file()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
