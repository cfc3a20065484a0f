"""The export registry (semges.export), the partial-file rule every writer follows
(semges.atomic_files) and the batch plumbing both command lines share (semges.batch_command)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from semges import export as registry
from semges.atomic_files import (
    PARTIAL_GLOB,
    PARTIAL_MARK,
    atomic_folder,
    atomic_output,
    is_partial,
    partial_path,
)
from semges.batch import Clip
from semges.batch_command import EXIT_FAILED, EXIT_INTERRUPTED, run_batch_command
from semges.export import (
    EXPORT_KINDS,
    ExportError,
    ExportKind,
    ExportOptions,
    ExportUnavailable,
    check_available,
    export,
)
from semges.motion import load_motion
from semges.speech import Word

MOTION = Path(__file__).resolve().parent / "data" / "2_scott_0_1_1.npz"


def short_motion(frames: int = 12):
    motion = load_motion(MOTION)
    return type(motion)(motion.poses[:frames], motion.trans[:frames], motion.betas)


def test_the_registry_holds_every_kind_with_its_suffix():
    assert list(EXPORT_KINDS) == ["npz", "words", "bvh", "glb", "vrma", "mp4", "png"]
    assert {k.name: k.suffix for k in EXPORT_KINDS.values()}["words"] == ".words.json"
    assert [k.name for k in EXPORT_KINDS.values() if k.extra is None] == ["npz", "words"]
    assert [k.name for k in EXPORT_KINDS.values() if k.drawn] == ["mp4", "png"]


def test_core_kinds_write_and_read_back(tmp_path):
    motion = short_motion()
    export(motion, "npz", tmp_path / "a.npz")
    np.testing.assert_array_equal(load_motion(tmp_path / "a.npz").poses, motion.poses)
    words = [Word("hello", 0.1, 0.4), Word("there", 0.5, 0.9)]
    export(motion, "words", tmp_path / "a.words.json", ExportOptions(words=words))
    assert [w["word"] for w in json.loads((tmp_path / "a.words.json").read_text())] == [
        "hello",
        "there",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz", "a.words.json"]


def test_render_kinds_write_through_the_same_call(tmp_path):
    motion = short_motion()
    assert export(motion, "bvh", tmp_path / "a.bvh").read_text().startswith("HIERARCHY")
    assert export(motion, "glb", tmp_path / "a.glb").read_bytes()[:4] == b"glTF"


def test_bad_requests_are_one_line_errors_and_write_nothing(tmp_path):
    motion = short_motion()
    with pytest.raises(ExportError, match="unknown export 'vrm'; known: npz, words, bvh"):
        export(motion, "vrm", tmp_path / "a.vrm")
    with pytest.raises(ExportError, match="needs the words"):
        export(motion, "words", tmp_path / "a.words.json")
    with pytest.raises(ExportError, match="frame 12 is outside the motion's 12 frames"):
        export(motion, "png", tmp_path / "a.png", ExportOptions(frame=12))
    assert list(tmp_path.iterdir()) == []


def test_a_kind_whose_extra_is_missing_names_the_extra(monkeypatch):
    kind = ExportKind(
        "vrm", ".vrm", "a VRM avatar", "no_such_vrm_package.writer:write", extra="render"
    )
    monkeypatch.setitem(EXPORT_KINDS, "vrm", kind)
    with pytest.raises(ExportUnavailable) as raised:
        check_available(["vrm"])
    message = str(raised.value)
    assert "pip install 'semges[render]'" in message and "no_such_vrm_package" in message
    assert "\n" not in message
    check_available(["npz", "words", "bvh", "glb", "vrma", "mp4", "png"])  # installed here


def test_a_bug_in_the_layer_is_not_reported_as_a_missing_extra(monkeypatch):
    kind = ExportKind(
        "vrm", ".vrm", "a VRM avatar", "semges.render.no_such_module:write", extra="render"
    )
    monkeypatch.setitem(EXPORT_KINDS, "vrm", kind)
    with pytest.raises(ModuleNotFoundError):
        check_available(["vrm"])


def test_a_failing_writer_leaves_neither_file_nor_partial(tmp_path, monkeypatch):
    def broken(motion, path, options):
        with atomic_output(path) as partial:
            partial.write_text("half")
            raise RuntimeError("disk full")

    monkeypatch.setattr(registry, "write_npz", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        export(short_motion(), "npz", tmp_path / "a.npz")
    assert list(tmp_path.iterdir()) == []


def test_one_partial_rule_for_files_and_folders(tmp_path):
    for target in (tmp_path / "talk.mp4", tmp_path / "face", tmp_path / "talk.words.json"):
        partial = partial_path(target)
        assert is_partial(partial) and partial.parent == tmp_path
        assert partial.name.endswith(PARTIAL_MARK + target.suffix)
        assert partial != partial_path(target)  # unique per writer
        assert partial.match(PARTIAL_GLOB)
    assert not is_partial(tmp_path / "talk.partial.mp4") and not is_partial(tmp_path / "a.mp4")
    with pytest.raises(RuntimeError):
        with atomic_folder(tmp_path / "face") as staging:
            (staging / "model.safetensors").write_bytes(b"half")
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_the_video_encoder_and_the_web_clean_up_follow_the_rule(tmp_path):
    from semges.render.video_encoder import VideoWriter
    from webapp.workspace import REQUEST_PREFIX, Workspace

    writer = VideoWriter(tmp_path / "talk.mp4", (32, 32), 1, 30)
    assert is_partial(writer._partial) and writer._partial.parent == tmp_path
    folder = tmp_path / f"{REQUEST_PREFIX}x"
    folder.mkdir()
    leftovers = [partial_path(folder / "talk.mp4"), partial_path(folder / "motion.npz")]
    for path in leftovers:
        path.write_bytes(b"half")
    staging = partial_path(folder / "pipeline")
    staging.mkdir()
    (staging / "config.json").write_text("{}")
    kept = [folder / "talk.mp4", folder / "talk.partial.notes.txt"]
    for path in kept:
        path.write_text("done")
    Workspace(tmp_path, keep_seconds=3600)  # cleans at start-up
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in kept)


@dataclass
class ScriptedJob:
    """A ClipJob whose clips succeed, fail or are interrupted as their names say."""

    out: Path

    def outputs(self, clip: Clip) -> list[Path]:
        return [self.out / f"{clip.name}.txt"]

    def setup(self) -> None:
        pass

    def run(self, clip: Clip) -> str:
        if clip.name.startswith("stop"):
            raise KeyboardInterrupt
        if clip.name.startswith("bad"):
            raise ValueError("unreadable")
        with atomic_output(self.outputs(clip)[0]) as partial:
            partial.write_text(clip.name)
        return "ok"


@pytest.mark.parametrize(
    ("names", "status", "summary"),
    [
        (("a", "b"), 0, "2 clips -> OUT: 2 written, 0 already done, 0 failed"),
        (("a", "bad"), EXIT_FAILED, "2 clips -> OUT: 1 written, 0 already done, 1 failed"),
        (
            ("a", "stop", "z"),
            EXIT_INTERRUPTED,
            "3 clips -> OUT: 1 written, 0 already done, 0 failed, 2 not run",
        ),
    ],
)
def test_the_shared_batch_plumbing(tmp_path, capsys, names, status, summary):
    clips = [Clip(name, tmp_path / f"{name}.wav") for name in names]
    out = tmp_path / "out"
    assert run_batch_command(ScriptedJob(out), clips, out, None, 1, quiet=True) == status
    captured = capsys.readouterr()
    assert captured.out.strip() == summary.replace("OUT", str(out))
    if status == EXIT_INTERRUPTED:
        assert "run the same command again" in captured.err
    if status == EXIT_FAILED:
        assert "failed: bad: unreadable" in captured.err


def test_the_render_command_line_exits_130_on_ctrl_c_like_generate(tmp_path, monkeypatch, capsys):
    from semges.render import __main__ as render_cli
    from semges.render.render_job import RenderJob

    def interrupted(self, clip):
        raise KeyboardInterrupt

    monkeypatch.setattr(RenderJob, "run", interrupted)
    status = render_cli.main(
        [str(MOTION), "--bvh", "-o", str(tmp_path / "out"), "-q", "--shard", "1/1"]
    )
    assert status == EXIT_INTERRUPTED == 130
    assert "run the same command again" in capsys.readouterr().err
