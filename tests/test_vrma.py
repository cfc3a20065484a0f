"""VRM Animation export: the .vrma read back with plain JSON and struct parsing (no pygltflib),
checked against the VRMC_vrm_animation 1.0 rules, and played on a VRM character built from the
mannequin (tests/vrm_character.py) by this file's own forward kinematics over the glTF nodes,
following three-vrm-animation's reading rules; the joints land where semges' SMPL-X forward
kinematics puts them."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation
from vrm_character import write_character

from semges import layout
from semges.kinematics import joint_positions
from semges.motion import MotionClip, load_motion, save_motion

DATA = Path(__file__).parent / "data"
NUM_FRAMES = 40
CHECKED_FRAMES = (0, 13, 27, NUM_FRAMES - 1)
TOLERANCE_M = 0.01  # the brief's bar: 1 cm
DIRECTION_TOLERANCE = 1e-3  # T-pose bone directions, as unit vectors
_CHUNK_JSON, _CHUNK_BIN = 0x4E4F534A, 0x004E4942
_DTYPES = {5121: np.uint8, 5123: np.uint16, 5125: np.uint32, 5126: np.float32}
_WIDTHS = {"SCALAR": 1, "VEC3": 3, "VEC4": 4, "MAT4": 16}
SIDES = ("left", "right")
FINGERS = ("Index", "Middle", "Ring", "Little")


def vrm_parents() -> dict[str, str | None]:
    """The VRM 1.0 humanoid hierarchy (its humanoid.md), written out here on its own."""
    parents: dict[str, str | None] = {
        "hips": None,
        "spine": "hips",
        "chest": "spine",
        "upperChest": "chest",
        "neck": "upperChest",
        "head": "neck",
        "jaw": "head",
    }
    for s in SIDES:
        parents |= {
            f"{s}UpperLeg": "hips",
            f"{s}LowerLeg": f"{s}UpperLeg",
            f"{s}Foot": f"{s}LowerLeg",
            f"{s}Toes": f"{s}Foot",
            f"{s}Shoulder": "upperChest",
            f"{s}UpperArm": f"{s}Shoulder",
            f"{s}LowerArm": f"{s}UpperArm",
            f"{s}Hand": f"{s}LowerArm",
            f"{s}ThumbMetacarpal": f"{s}Hand",
            f"{s}ThumbProximal": f"{s}ThumbMetacarpal",
            f"{s}ThumbDistal": f"{s}ThumbProximal",
        }
        for f in FINGERS:
            parents |= {
                f"{s}{f}Proximal": f"{s}Hand",
                f"{s}{f}Intermediate": f"{s}{f}Proximal",
                f"{s}{f}Distal": f"{s}{f}Intermediate",
            }
    return parents


class Glb:
    """A binary glTF file parsed by hand: its JSON chunk and accessors over its BIN chunk."""

    def __init__(self, path: Path) -> None:
        raw = path.read_bytes()
        magic, version, length = struct.unpack_from("<4sII", raw)
        assert (magic, version, length) == (b"glTF", 2, len(raw))
        chunks = {}
        offset = 12
        while offset < length:
            size, kind = struct.unpack_from("<II", raw, offset)
            chunks[kind] = raw[offset + 8 : offset + 8 + size]
            offset += 8 + size
        self.json = json.loads(chunks[_CHUNK_JSON])
        self.blob = chunks[_CHUNK_BIN]

    def accessor(self, index: int) -> np.ndarray:
        accessor = self.json["accessors"][index]
        view = self.json["bufferViews"][accessor["bufferView"]]
        width = _WIDTHS[accessor["type"]]
        data = np.frombuffer(
            self.blob,
            _DTYPES[accessor["componentType"]],
            accessor["count"] * width,
            view.get("byteOffset", 0) + accessor.get("byteOffset", 0),
        )
        return data.reshape(accessor["count"], width).astype(np.float64)

    def parents(self) -> dict[int, int]:
        return {c: i for i, node in enumerate(self.json["nodes"]) for c in node.get("children", [])}

    def rest_world(self) -> tuple[np.ndarray, np.ndarray]:
        """(N, 3, 3) world rotations and (N, 3) world positions of the nodes at rest."""
        return self.world(
            [np.asarray(n.get("translation", [0.0, 0.0, 0.0])) for n in self.json["nodes"]],
            [np.asarray(n.get("rotation", [0.0, 0.0, 0.0, 1.0])) for n in self.json["nodes"]],
        )

    def world(self, translations: list, rotations: list) -> tuple[np.ndarray, np.ndarray]:
        """Forward kinematics over the node tree with the given local TRS (no scales)."""
        count = len(self.json["nodes"])
        parents = self.parents()
        world_r, world_t = np.zeros((count, 3, 3)), np.zeros((count, 3))
        done: set[int] = set()

        def visit(i: int) -> None:
            if i in done:
                return
            local_r = Rotation.from_quat(rotations[i]).as_matrix()
            if i in parents:
                p = parents[i]
                visit(p)
                world_r[i] = world_r[p] @ local_r
                world_t[i] = world_t[p] + world_r[p] @ translations[i]
            else:
                world_r[i], world_t[i] = local_r, translations[i]
            done.add(i)

        for i in range(count):
            visit(i)
        return world_r, world_t


@pytest.fixture(scope="module")
def clip() -> MotionClip:
    """BEAT2 frames with extra rotation on every joint (fingers, jaw too) and a walk; neutral
    shape, as semges' forward kinematics has it."""
    beat2 = load_motion(DATA / "2_scott_0_1_1.npz")
    rng = np.random.default_rng(7)
    poses = beat2.poses[500 : 500 + NUM_FRAMES] + rng.normal(0, 0.3, (NUM_FRAMES, layout.POSE_DIM))
    trans = np.zeros((NUM_FRAMES, 3)) + np.linspace(0, 0.3, NUM_FRAMES)[:, None] * [1, 0.1, -1]
    return MotionClip(poses.astype(np.float32), trans.astype(np.float32))


@pytest.fixture(scope="module")
def files(clip, tmp_path_factory) -> tuple[Glb, Glb]:
    """The clip exported as .vrma through ``python -m semges.render``, and the character."""
    from semges.render.__main__ import main

    folder = tmp_path_factory.mktemp("vrma")
    save_motion(clip, folder / "motion.npz")
    assert main([str(folder / "motion.npz"), "-o", str(folder / "motion.vrma"), "-q"]) == 0
    return Glb(folder / "motion.vrma"), Glb(write_character(folder / "mannequin.vrm"))


def bone_nodes(glb: Glb, extension: str) -> dict[str, int]:
    return {
        name: bone["node"]
        for name, bone in glb.json["extensions"][extension]["humanoid"]["humanBones"].items()
    }


def test_the_file_follows_the_vrm_animation_spec(clip, files):
    vrma, _ = files
    assert "VRMC_vrm_animation" in vrma.json["extensionsUsed"]
    extension = vrma.json["extensions"]["VRMC_vrm_animation"]
    assert extension["specVersion"] == "1.0"
    bones = bone_nodes(vrma, "VRMC_vrm_animation")
    assert set(bones) == set(vrm_parents())  # every humanoid bone but the eyes
    parents = vrma.parents()
    names = {node: name for name, node in bones.items()}
    for name, node in bones.items():  # the node tree is the humanoid's
        assert names.get(parents.get(node)) == vrm_parents()[name], name
    (animation,) = vrma.json["animations"]
    frames = clip.num_frames
    rotated = set()
    for channel in animation["channels"]:
        sampler = animation["samplers"][channel["sampler"]]
        times = vrma.accessor(sampler["input"])[:, 0]
        # one keyframe per frame at frame / 30 s, and a closing key: duration = frames / 30
        np.testing.assert_allclose(times, np.arange(frames + 1) / layout.FPS, atol=1e-6)
        assert times[-1] == pytest.approx(frames / layout.FPS, abs=1e-6)
        values = vrma.accessor(sampler["output"])
        assert values.shape[0] == frames + 1
        np.testing.assert_array_equal(values[-1], values[-2])
        target = channel["target"]
        if target["path"] == "rotation":
            rotated.add(target["node"])
        elif target["node"] in names:  # only the hips move
            assert names[target["node"]] == "hips"
    assert rotated == set(bones.values())
    assert not any("scale" in n or "rotation" in n for n in vrma.json["nodes"])


def test_rest_pose_is_the_vrm_t_pose(files):
    """Arms, hands and fingers along x, thumbs halfway to +z, legs and spine vertical, feet
    ahead, soles at y = 0 (VRM 1.0 tpose.md)."""
    vrma, _ = files
    bones = bone_nodes(vrma, "VRMC_vrm_animation")
    _, position = vrma.rest_world()

    def direction(start: str, end: str) -> np.ndarray:
        vector = position[bones[end]] - position[bones[start]]
        return vector / np.linalg.norm(vector)

    def check(start: str, end: str, expected) -> None:
        got = direction(start, end)
        assert np.abs(got - np.asarray(expected)).max() < DIRECTION_TOLERANCE, (start, end, got)

    for chain in (("spine", "chest"), ("chest", "upperChest"), ("upperChest", "neck")):
        check(*chain, (0, 1, 0))
    check("neck", "head", (0, 1, 0))
    for side, x in (("left", 1.0), ("right", -1.0)):
        arm = ("Shoulder", "UpperArm", "LowerArm", "Hand")
        for a, b in zip(arm, arm[1:]):
            check(f"{side}{a}", f"{side}{b}", (x, 0, 0))
        for finger in FINGERS:
            check(f"{side}{finger}Proximal", f"{side}{finger}Intermediate", (x, 0, 0))
            check(f"{side}{finger}Intermediate", f"{side}{finger}Distal", (x, 0, 0))
        half = np.sqrt(0.5)
        check(f"{side}ThumbMetacarpal", f"{side}ThumbProximal", (x * half, 0, half))
        check(f"{side}UpperLeg", f"{side}LowerLeg", (0, -1, 0))
        check(f"{side}LowerLeg", f"{side}Foot", (0, -1, 0))
        assert abs(direction(f"{side}Foot", f"{side}Toes")[0]) < DIRECTION_TOLERANCE
        assert direction(f"{side}Foot", f"{side}Toes")[2] > 0.5  # toes ahead (+z)
        assert position[bones[f"{side}Hand"]][0] * x > 0.5  # left is +x
    lowest = min(position[bones[f"{s}Toes"]][1] for s in SIDES)
    assert 0.0 < lowest < 0.03  # the toes' joints just above the floor
    assert 0.85 < position[bones["hips"]][1] < 1.05


def play_on_character(vrma: Glb, character: Glb, frame: int) -> dict[str, np.ndarray]:
    """World positions of the character's humanoid bones at keyframe ``frame``, by
    three-vrm-animation's rules: a bone's normalized rotation is the file's rotation between
    its parent's and its own rest world rotations (``P q C^-1``); the hips' translation is
    scaled by the character's rest hips height over the file's. The character's bones have
    no rest rotation (VRM 1.0), so a normalized rotation is its local rotation."""
    bones = bone_nodes(vrma, "VRMC_vrm_animation")
    rest_rotation, rest_position = vrma.rest_world()
    names = {node: name for name, node in bones.items()}
    (animation,) = vrma.json["animations"]
    rotations: dict[str, np.ndarray] = {}
    hips = None
    for channel in animation["channels"]:
        name = names.get(channel["target"]["node"])
        if name is None:
            continue
        value = vrma.accessor(animation["samplers"][channel["sampler"]]["output"])[frame]
        if channel["target"]["path"] == "translation":
            hips = value
            continue
        parent = vrm_parents()[name]
        parent_world = np.eye(3) if parent is None else rest_rotation[bones[parent]]
        matrix = parent_world @ Rotation.from_quat(value).as_matrix() @ rest_rotation[bones[name]].T
        rotations[name] = Rotation.from_matrix(matrix).as_quat()

    targets = bone_nodes(character, "VRMC_vrm")
    _, character_rest = character.rest_world()
    scale = character_rest[targets["hips"]][1] / rest_position[bones["hips"]][1]
    translations = [np.asarray(n.get("translation", [0.0] * 3)) for n in character.json["nodes"]]
    quats = [np.array([0.0, 0.0, 0.0, 1.0]) for _ in character.json["nodes"]]
    for name, quat in rotations.items():
        quats[targets[name]] = quat
    translations[targets["hips"]] = hips * scale
    _, world = character.world(translations, quats)
    return {character.json["nodes"][node]["name"]: world[node] for node in targets.values()}


def test_a_vrm_character_plays_it_where_smplx_puts_the_joints(clip, files):
    """The mannequin character's joints at several frames against semges' SMPL-X forward
    kinematics (the relaxed hands included, translation added), both relative to the body's
    rest hips: within 1 cm (the round trip is exact up to float32 storage)."""
    vrma, character = files
    expected = joint_positions(clip.poses) + clip.trans[:, None]
    rest_pelvis = joint_positions(np.zeros((1, layout.POSE_DIM), np.float32))[0, 0]
    _, character_rest = character.rest_world()
    hips_rest = character_rest[bone_nodes(character, "VRMC_vrm")["hips"]]
    worst = 0.0
    for frame in CHECKED_FRAMES:
        played = play_on_character(vrma, character, frame)
        assert len(played) == layout.NUM_JOINTS - len(layout.EYES.joints)
        for joint_name, position in played.items():
            joint = layout.JOINT_NAMES.index(joint_name)
            error = np.linalg.norm((position - hips_rest) - (expected[frame, joint] - rest_pelvis))
            worst = max(worst, float(error))
    assert worst < TOLERANCE_M, worst


def test_the_mouth_opens_with_the_jaw(clip, files):
    """``aa`` is the x translation of its node: the jaw's opening over the full-opening angle,
    clamped to [0, 1]; the jaw bone turns as SMPL-X's jaw does."""
    vrma, _ = files
    extension = vrma.json["extensions"]["VRMC_vrm_animation"]
    node = extension["expressions"]["preset"]["aa"]["node"]
    (animation,) = vrma.json["animations"]
    (sampler,) = [
        animation["samplers"][c["sampler"]]
        for c in animation["channels"]
        if c["target"]["node"] == node
    ]
    values = vrma.accessor(sampler["output"])[:-1]
    opening = np.degrees(clip.poses[:, layout.FACE_JAW.pose_columns[layout.JAW_OPENING_AXIS]])
    expected = np.clip(opening / layout.MOUTH_FULLY_OPEN_JAW_DEG, 0.0, 1.0)
    np.testing.assert_allclose(values[:, 0], expected, atol=1e-6)
    np.testing.assert_array_equal(values[:, 1:], 0.0)
    assert 0.0 < values[:, 0].mean() < 1.0


def test_an_empty_motion_is_refused(tmp_path):
    from semges.export import export

    empty = MotionClip(np.zeros((0, layout.POSE_DIM)), np.zeros((0, 3)))
    with pytest.raises(ValueError, match="no frames"):
        export(empty, "vrma", tmp_path / "empty.vrma")
    assert not (tmp_path / "empty.vrma").exists()


def test_a_batch_writes_one_vrma_per_clip(clip, tmp_path):
    """``python -m semges.render FOLDER --vrma -o OUT`` (the batch path ``generate --vrma``
    shares): OUT/NAME.vrma per motion file, each with its own frame count."""
    from semges.render.__main__ import main

    motions = tmp_path / "motions"
    motions.mkdir()
    for name, frames in (("a", 5), ("b", 9)):
        save_motion(MotionClip(clip.poses[:frames], clip.trans[:frames]), motions / f"{name}.npz")
    assert main([str(motions), "--vrma", "-o", str(tmp_path / "out"), "-q"]) == 0
    for name, frames in (("a", 5), ("b", 9)):
        (animation,) = Glb(tmp_path / "out" / f"{name}.vrma").json["animations"]
        assert animation["extras"]["frames"] == frames
