"""The checkpoint recipe stands alone: a copy of the repository with nothing beside it trains
the default checkpoint from its own BEAT2 sample (``data/beat2``), and a missing or incomplete
dataset is named in one line, before anything is trained, without a traceback."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from training import beat2_files as files
from training.default_checkpoint import HELD_OUT_CLIPS, TRAIN_CLIPS, main
from training.sample_data import BEAT2_SAMPLE_DIR

REPO = Path(__file__).resolve().parent.parent
STAGES = ("vqvae", "generator", "face")
TINY_RUN = [
    f"{stage}:run.{key}={value}"
    for stage in STAGES
    for key, value in (("steps", 2), ("batch_size", 4), ("progress", "false"))
]
RECIPE_TIMEOUT_S = 900  # the machine may be shared; the run itself takes about two minutes
TEXT_SUFFIXES = {".py", ".md", ".yaml", ".toml", ".txt", ".cfg", ".sh", ""}
OUTSIDE_PATH = re.compile(r"\.\./shared|shared/data|/ \"shared\"")


def repository_files() -> list[str]:
    """What a clone of the working tree holds once committed: tracked and not-ignored files
    (paths relative to the repository), without those deleted in the working tree."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return sorted({name for name in listed.split("\0") if name and (REPO / name).is_file()})


def lone_copy(destination: Path) -> Path:
    for name in repository_files():
        (destination / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, destination / name, follow_symlinks=False)
    return destination


def run_recipe(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "SEMGES_BEAT2_SAMPLE"}
    return subprocess.run(
        [sys.executable, "-m", "training.default_checkpoint", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=RECIPE_TIMEOUT_S,
    )


def dataset_message(argv: list[str]) -> str:
    """The message ``main`` exits with."""
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert isinstance(stop.value.code, str), "expected a message, not a bare exit status"
    return stop.value.code


@pytest.mark.slow
def test_a_lone_copy_trains_the_recipe_to_a_loadable_pipeline(tmp_path, speech_frontend) -> None:
    from semges.pipeline import SemGesPipeline

    clone = lone_copy(tmp_path / "alone" / "semges")
    assert [p.name for p in clone.parent.iterdir()] == ["semges"]  # nothing beside it
    done = run_recipe(clone, *TINY_RUN)  # the real recipe, default paths, two steps per stage
    assert done.returncode == 0, done.stderr[-4000:]
    sample_links = [
        p
        for p in (clone / "runs" / "default_checkpoint" / "beat2_sample").rglob("*")
        if p.is_symlink()
    ]
    assert sample_links and all(
        p.resolve().is_relative_to(clone / "data" / "beat2") for p in sample_links
    )  # the clone's own sample, nothing else
    out = clone / "assets" / "checkpoint"
    shipped = REPO / "assets" / "checkpoint" / "generator" / "model.safetensors"
    assert (out / "generator" / "model.safetensors").read_bytes() != shipped.read_bytes()
    pipeline = SemGesPipeline.from_pretrained(out, frontend=speech_frontend)
    assert pipeline.face is not None
    metrics = json.loads((out / "metrics.json").read_text())
    assert [row["clip"] for row in metrics["generated_clips"]] == list(HELD_OUT_CLIPS)
    assert set(metrics["training_time"]) == {f"{stage}_s" for stage in STAGES}


def test_a_missing_beat2_folder_is_one_line_from_the_command_and_make(tmp_path) -> None:
    missing = tmp_path / "BEAT2" / "beat_english_v2.0.0"
    done = run_recipe(REPO, "--beat2", str(missing), "--work", str(tmp_path / "work"))
    assert done.returncode != 0 and "Traceback" not in done.stderr and not done.stdout
    assert done.stderr.splitlines() == [
        f"error: {missing}: expected {files.LANGUAGE_FOLDER}, but the folder does not exist. "
        f"BEAT2 can be downloaded from {files.DOWNLOAD_URL}"
    ]
    assert not (tmp_path / "work").exists()  # checked before anything was written
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    made = subprocess.run(
        ["make", "-s", "-o", "setup-dev", "checkpoint", f"BEAT2={missing}", f"PY={sys.executable}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=RECIPE_TIMEOUT_S,
    )
    assert made.returncode != 0 and "Traceback" not in made.stderr
    assert done.stderr.splitlines()[0] in made.stderr.splitlines()  # then make's own error line


def beat2_folder(root: Path, clips: dict[str, str], present: dict[str, tuple[str, ...]]) -> Path:
    """A BEAT2-layout folder: ``clips`` {id: split} in the split file; ``present`` {id:
    sub-folders holding that clip's (empty) file}."""
    for sub in files.CLIP_FILES:
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / files.SPLIT_FILE).write_text(
        "id,type\n" + "".join(f"{clip},{split}\n" for clip, split in clips.items())
    )
    for clip, subs in present.items():
        for sub in subs:
            files.clip_file(root, sub, clip).touch()
    return root


def test_an_incomplete_beat2_folder_is_named_with_what_it_lacks(tmp_path) -> None:
    layout_only = tmp_path / "layout_only"
    layout_only.mkdir()
    (layout_only / files.WAVE_DIR).mkdir()
    message = dataset_message(["--beat2", str(layout_only), "--work", str(tmp_path / "w")])
    assert message == (
        f"error: {layout_only}: expected {files.LANGUAGE_FOLDER}, but it lacks "
        f"smplxflame_30/, textgrid/, {files.SPLIT_FILE}. BEAT2 can be downloaded "
        f"from {files.DOWNLOAD_URL}"
    )
    no_textgrids = beat2_folder(
        tmp_path / "no_textgrids",
        {"2_scott_0_1_1": "train", "2_scott_0_2_2": "test"},
        {"2_scott_0_1_1": ("smplxflame_30", "wave16k"), "2_scott_0_2_2": ("wave16k",)},
    )
    message = dataset_message(["--beat2", str(no_textgrids), "--work", str(tmp_path / "w")])
    assert message.startswith(
        f"error: {no_textgrids}: expected a clip of speaker 2 in split "
        "train with its smplxflame_30/<id>.npz, wave16k/<id>.wav, "
        "textgrid/<id>.TextGrid, but none of the 1 listed in"
    )
    no_test_speech = beat2_folder(
        tmp_path / "no_test_speech",
        {"2_scott_0_1_1": "train"},
        {"2_scott_0_1_1": tuple(files.CLIP_FILES)},
    )
    message = dataset_message(["--beat2", str(no_test_speech), "--work", str(tmp_path / "w")])
    assert (
        "expected a clip of speaker 2 in split test with its wave16k/<id>.wav, but "
        f"{files.SPLIT_FILE} lists none"
    ) in message
    assert files.DOWNLOAD_URL in message and "\n" not in message
    assert not (tmp_path / "w").exists()


def test_an_incomplete_sample_is_named_with_its_missing_files(tmp_path) -> None:
    source = tmp_path / "sample"
    source.mkdir()
    (source / f"{TRAIN_CLIPS[0]}.npz").symlink_to(BEAT2_SAMPLE_DIR / f"{TRAIN_CLIPS[0]}.npz")
    message = dataset_message(["--source", str(source), "--work", str(tmp_path / "w")])
    lacking = [
        f"{TRAIN_CLIPS[0]}.wav",
        f"{TRAIN_CLIPS[0]}.TextGrid",
        *(f"{clip}.wav" for clip in HELD_OUT_CLIPS),
    ]
    assert f"error: {source}: expected the flat BEAT2 sample files" in message
    assert f"but it lacks {', '.join(lacking)}. BEAT2 can be downloaded from" in message
    assert not (tmp_path / "w").exists()


def test_the_sample_ships_in_the_repository_with_every_file_named() -> None:
    assert BEAT2_SAMPLE_DIR == REPO / "data" / "beat2" or "SEMGES_BEAT2_SAMPLE" in os.environ
    folder = REPO / "data" / "beat2"
    readme = (folder / "README.md").read_text()
    named = set(re.findall(r"^\| `([^`]+)` \|", readme, flags=re.MULTILINE))
    assert named == {p.name for p in folder.iterdir()} - {"README.md"}
    assert "Apache-2.0" in readme and files.DOWNLOAD_URL in readme
    this_file = str(Path(__file__).relative_to(REPO))  # its pattern names what it looks for
    readers = [
        name
        for name in repository_files()
        if Path(name).suffix in TEXT_SUFFIXES
        and name != this_file
        and OUTSIDE_PATH.search((REPO / name).read_text(errors="replace"))
    ]
    assert not readers, f"files that read data from beside the repository: {readers}"


@pytest.mark.parametrize("command", ["vqvae", "generator", "face", "evaluate"])
def test_each_stage_and_the_evaluation_name_a_missing_dataset_in_one_line(
    tmp_path, command
) -> None:
    """The single-stage trainers and the evaluation check their data folder before anything
    heavy, as the recipe does: one line, exit status 1, no run folder."""
    missing = tmp_path / "beat_english_v2.0.0"
    out = tmp_path / "run"
    argv = {
        "vqvae": ["--config", "configs/vqvae_tiny.yaml"],
        "generator": ["--config", "configs/generator_tiny.yaml", "vqvae_dir=unused"],
        "face": ["--config", "configs/face_tiny.yaml"],
    }.get(command)
    argv = (
        ["--checkpoint", "assets/checkpoint", "--data", str(missing)]
        if argv is None
        else [*argv, f"data.root={missing}", f"run.out_dir={out}"]
    )
    done = subprocess.run(
        [sys.executable, "-m", f"training.{command}", *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"error: {missing}: expected {files.LANGUAGE_FOLDER}, but "
        f"the folder does not exist. BEAT2 can be downloaded from "
        f"{files.DOWNLOAD_URL}"
    )
    assert not out.exists()
