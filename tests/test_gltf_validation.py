"""The Khronos glTF validator (npm ``gltf-validator``, installed by ``make setup-dev`` into
tests/gltf_validator/) finds no error and no warning in the .glb (the mannequin with its mouth),
the .vrma, and the test character's .vrm."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
from vrm_character import write_character

from semges import layout
from semges.export import export
from semges.motion import MotionClip, load_motion

VALIDATOR = Path(__file__).parent / "gltf_validator"
SCRIPT = VALIDATOR / "validate.js"
NUM_FRAMES = 20
TIMEOUT_S = 120


def validate(paths: list[Path]) -> list[dict]:
    """The validator's report per file (errors, warnings, infos, messages)."""
    node = shutil.which("node")
    assert node, "node is missing: make setup-dev installs it (packages-test.txt)"
    assert (VALIDATOR / "node_modules" / "gltf-validator").is_dir(), (
        "the glTF validator is missing: make setup-dev (npm ci in tests/gltf_validator)"
    )
    result = subprocess.run(
        [node, str(SCRIPT), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=True,
    )
    return json.loads(result.stdout)


def test_exports_and_the_test_character_validate(tmp_path):
    beat2 = load_motion(Path(__file__).parent / "data" / "2_scott_0_1_1.npz")
    clip = MotionClip(beat2.poses[:NUM_FRAMES], beat2.trans[:NUM_FRAMES], beat2.betas)
    assert np.degrees(clip.poses[:, layout.FACE_JAW.pose_columns[0]]).max() > 0  # mouth moves
    files = [
        export(clip, "glb", tmp_path / "motion.glb"),
        export(clip, "vrma", tmp_path / "motion.vrma"),
        write_character(tmp_path / "mannequin.vrm"),
    ]
    reports = validate(files)
    assert [r["file"] for r in reports] == [str(f) for f in files]
    for report in reports:
        problems = [m for m in report["messages"] if m["severity"] <= 1]  # 0 error, 1 warning
        assert report["errors"] == 0 and report["warnings"] == 0, (report["file"], problems)
    # the only note on the VRM files is the extension the validator does not know
    vrm_infos = {m["code"] for r in reports[1:] for m in r["messages"] if m["severity"] == 2}
    assert vrm_infos <= {"UNSUPPORTED_EXTENSION", "NODE_EMPTY"}
