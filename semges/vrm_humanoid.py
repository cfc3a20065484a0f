"""SMPL-X to the VRM 1.0 humanoid: the bone map, the VRM T-pose of an SMPL-X skeleton, the
SMPL-X local rotations retargeted to VRM's normalized bone rotations, the hips' position and
the mouth's expression weight. The VRM Animation export (:mod:`semges.render.vrma`) writes
them to a file; the VMC sender (:mod:`semges.live.vmc`) sends them to a running avatar.

VRM Animation (``VRMC_vrm_animation``) plays on any VRM character because it speaks of
*normalized* bones: each humanoid bone's rotation relative to the VRM T-pose, in which every
bone's local axes are the world's (y up, the character faces +z, its left is +x: SMPL-X's
axes too). SMPL-X's own rest pose (all local rotations identity) is not that T-pose: the arms
slant up at the collars and down at the elbows, the legs splay, the spine curves, the feet
point outwards, the thumbs fan at another angle. So a rotation cannot be copied bone for bone:
a VRM character's horizontal arm would keep the SMPL-X arm's slant on top of every gesture.

Instead every bone j gets a rest correction ``C_j``: the world rotation that turns bone j from
its SMPL-X rest direction into its VRM T-pose direction (the shortest such rotation; bones
without a direction of their own keep their rest orientation, ``C_j = I``). The T-pose skeleton
is the SMPL-X rest skeleton posed with those world rotations, and a frame's SMPL-X local
rotation ``L_j`` becomes the normalized local rotation

    N_j = C_parent  L_j  C_j^-1

(conjugation by the rest corrections: the bone's world rotation from the T-pose is then
``G_j C_j^-1`` with ``G_j`` SMPL-X's world rotation, which carries the T-pose bone onto the
SMPL-X rest bone and then poses it as SMPL-X does). Forward kinematics of the T-pose skeleton
with ``N`` gives exactly SMPL-X's joint positions; a character with other proportions gets
the same bone directions.

Hips translation: the hips' world position, in metres, over a floor at ``y = 0``. The floor is
the rest pose's: the project's motions keep the lowest foot at its rest height with zero
translation (:mod:`semges.planted_translation`), and the soles lie ``SOLE_BELOW_FOOT_JOINT_M``
below the foot joints. A player scales it by its character's hips height over the file's rest
hips height (three-vrm-animation does), so a taller character takes longer steps.

The mouth: the face regressor opens the mouth by turning the SMPL-X jaw
(``layout.JAW_OPENING_AXIS``), which the ``jaw`` bone carries; a VRM character's mouth opens
with its ``aa`` expression (VRM 0.x and the VMC protocol: ``A``), whose weight is the jaw
opening over ``layout.MOUTH_FULLY_OPEN_JAW_DEG``, clamped to [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from semges import layout, skeleton
from semges.face_statistics import mouth_opening_degrees

if TYPE_CHECKING:
    from semges.motion import MotionClip

SOLE_BELOW_FOOT_JOINT_M: float = 0.015
"""The soles lie this far below the lowest foot joint ("ball of the foot") at rest: the
mannequin mesh's lowest vertex at rest, 1.5 cm under its foot joints (neutral shape)."""

_X, _Y, _Z = (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)
_DOWN = (0.0, -1.0, 0.0)
_MINUS_X = (-1.0, 0.0, 0.0)
_HALF_SQRT2 = float(np.sqrt(0.5))
LEFT_THUMB_DIRECTION: tuple[float, float, float] = (_HALF_SQRT2, 0.0, _HALF_SQRT2)
"""VRM T-pose: the left thumb points halfway between +x and +z (the right one -x and +z)."""
RIGHT_THUMB_DIRECTION: tuple[float, float, float] = (-_HALF_SQRT2, 0.0, _HALF_SQRT2)
SAGITTAL = "sagittal"
"""A bone's T-pose direction: its rest direction with the sideways (x) part removed (the feet
point straight ahead in the VRM T-pose; SMPL-X's turn outwards)."""


@dataclass(frozen=True)
class HumanBone:
    """One VRM humanoid bone played by one SMPL-X joint.

    ``aim``: two SMPL-X joints whose rest offset (second minus first) is the bone's direction
    (None: the bone keeps its SMPL-X rest orientation). ``direction``: where that offset
    points in the VRM T-pose, a unit vector or :data:`SAGITTAL`.
    """

    vrm: str
    joint: str
    aim: tuple[str, str] | None = None
    direction: tuple[float, float, float] | str | None = None

    @property
    def unity(self) -> str:
        """The bone's name in Unity's ``HumanBodyBones`` (the VMC protocol's bone names): the
        VRM name with a capital first letter, except the thumb, whose three bones VRM 1.0 names
        metacarpal, proximal, distal and Unity (like VRM 0.x) proximal, intermediate, distal:
        ``leftThumbMetacarpal`` is ``LeftThumbProximal``."""
        name = self.vrm[0].upper() + self.vrm[1:]
        for vrm_part, unity_part in zip(_THUMB_PARTS, _FINGER_PARTS):
            if name.endswith(_THUMB + vrm_part):
                return name.removesuffix(vrm_part) + unity_part
        return name


_THUMB = "Thumb"
_FINGERS: tuple[tuple[str, str], ...] = (
    (_THUMB, "thumb"),
    ("Index", "index"),
    ("Middle", "middle"),
    ("Ring", "ring"),
    ("Little", "pinky"),
)  # VRM finger name, SMPL-X finger name
_THUMB_PARTS = ("Metacarpal", "Proximal", "Distal")  # VRM names SMPL-X's thumb1..3 so
_FINGER_PARTS = ("Proximal", "Intermediate", "Distal")


def _side(side: str) -> tuple[HumanBone, ...]:
    """The bones of one side (``"left"`` or ``"right"``) of the body, legs to fingertips."""
    outward = _X if side == "left" else _MINUS_X
    thumb = LEFT_THUMB_DIRECTION if side == "left" else RIGHT_THUMB_DIRECTION
    s = side
    bones = [
        HumanBone(f"{s}UpperLeg", f"{s}_hip", (f"{s}_hip", f"{s}_knee"), _DOWN),
        HumanBone(f"{s}LowerLeg", f"{s}_knee", (f"{s}_knee", f"{s}_ankle"), _DOWN),
        HumanBone(f"{s}Foot", f"{s}_ankle", (f"{s}_ankle", f"{s}_foot"), SAGITTAL),
        HumanBone(f"{s}Toes", f"{s}_foot", (f"{s}_ankle", f"{s}_foot"), SAGITTAL),
        HumanBone(f"{s}Shoulder", f"{s}_collar", (f"{s}_collar", f"{s}_shoulder"), outward),
        HumanBone(f"{s}UpperArm", f"{s}_shoulder", (f"{s}_shoulder", f"{s}_elbow"), outward),
        HumanBone(f"{s}LowerArm", f"{s}_elbow", (f"{s}_elbow", f"{s}_wrist"), outward),
        HumanBone(f"{s}Hand", f"{s}_wrist", (f"{s}_wrist", f"{s}_middle1"), outward),
    ]
    for vrm_finger, smplx_finger in _FINGERS:
        is_thumb = vrm_finger == _THUMB
        parts = _THUMB_PARTS if is_thumb else _FINGER_PARTS
        finger_direction = thumb if is_thumb else outward
        joints = [f"{s}_{smplx_finger}{k}" for k in (1, 2, 3)]
        # the fingertip bone has no joint beyond it: it keeps the middle phalanx's direction
        aims = [(joints[0], joints[1]), (joints[1], joints[2]), (joints[1], joints[2])]
        for part, joint, aim in zip(parts, joints, aims):
            bones.append(HumanBone(f"{s}{vrm_finger}{part}", joint, aim, finger_direction))
    return tuple(bones)


HUMAN_BONES: tuple[HumanBone, ...] = (
    HumanBone("hips", "pelvis"),
    HumanBone("spine", "spine1", ("spine1", "spine2"), _Y),
    HumanBone("chest", "spine2", ("spine2", "spine3"), _Y),
    HumanBone("upperChest", "spine3", ("spine3", "neck"), _Y),
    HumanBone("neck", "neck", ("neck", "head"), _Y),
    HumanBone("head", "head"),
    HumanBone("jaw", "jaw"),
    *_side("left"),
    *_side("right"),
)
"""Every SMPL-X joint but the eyes, as the VRM humanoid bone it plays, parents before
children. (VRM Animation may not animate the eyes: a player aims them with its look-at.)"""


def bone_joints() -> np.ndarray:
    """(B,) the SMPL-X joint index of every bone of :data:`HUMAN_BONES`, in its order."""
    return np.array([layout.JOINT_NAMES.index(bone.joint) for bone in HUMAN_BONES])


def bone_parents() -> np.ndarray:
    """(B,) each bone's parent as an index into :data:`HUMAN_BONES` (-1 for the hips)."""
    position = {joint: index for index, joint in enumerate(bone_joints())}
    parents = []
    for joint in bone_joints():
        parent = layout.PARENTS[joint]
        if parent >= 0 and parent not in position:
            raise AssertionError(f"{layout.JOINT_NAMES[parent]} must be a VRM bone too")
        parents.append(position[parent] if parent >= 0 else -1)
    return np.array(parents)


def _shortest_rotation(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(3, 3) the smallest rotation taking unit vector ``source`` onto unit vector ``target``."""
    axis = np.cross(source, target)
    sine, cosine = np.linalg.norm(axis), float(np.dot(source, target))
    if sine < 1e-12:  # parallel; antiparallel never happens for a body's rest bones
        return np.eye(3)
    k = axis / sine
    cross = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    angle = np.arctan2(sine, cosine)
    return np.eye(3) + np.sin(angle) * cross + (1.0 - np.cos(angle)) * cross @ cross


def rest_corrections(rest: np.ndarray) -> np.ndarray:
    """(55, 3) SMPL-X rest joints -> (55, 3, 3) ``C_j``: the world rotation turning each joint's
    bone from the SMPL-X rest pose into the VRM T-pose (identity for the eyes and the bones
    without an ``aim``)."""
    corrections = np.broadcast_to(np.eye(3), (layout.NUM_JOINTS, 3, 3)).copy()
    for bone in HUMAN_BONES:
        if bone.aim is None:
            continue
        start, end = (layout.JOINT_NAMES.index(name) for name in bone.aim)
        source = rest[end] - rest[start]
        source = source / np.linalg.norm(source)
        if bone.direction == SAGITTAL:
            target = source * np.array([0.0, 1.0, 1.0])
        else:
            target = np.asarray(bone.direction, np.float64)
        target = target / np.linalg.norm(target)
        corrections[layout.JOINT_NAMES.index(bone.joint)] = _shortest_rotation(source, target)
    return corrections


@dataclass(frozen=True)
class TPoseSkeleton:
    """An SMPL-X skeleton in the VRM T-pose, standing on ``y = 0``.

    ``positions`` (55, 3): joint positions (m), the soles at y = 0; ``corrections`` (55, 3, 3):
    :func:`rest_corrections`; ``rest`` (55, 3): the SMPL-X rest joints it was made from;
    ``floor_y``: the height of the rest pose's floor in SMPL-X model coordinates.
    """

    positions: np.ndarray
    corrections: np.ndarray
    rest: np.ndarray
    floor_y: float

    def local_offsets(self) -> np.ndarray:
        """(55, 3) every joint's T-pose offset from its parent (the root's: its position)."""
        return skeleton.rest_offsets(self.positions)


def tpose_skeleton(betas: np.ndarray | None = None) -> TPoseSkeleton:
    """The VRM T-pose of the SMPL-X skeleton shaped by ``betas`` (None: the neutral body).

    Joint j sits at its parent plus the parent's correction applied to its SMPL-X rest offset,
    so the T-pose is the rest pose with every bone turned by its correction.
    """
    rest = skeleton.rest_joint_positions(betas)
    corrections = rest_corrections(rest)
    floor_y = float(rest[list(layout.FEET), layout.VERTICAL_AXIS].min()) - SOLE_BELOW_FOOT_JOINT_M
    positions = np.zeros_like(rest)
    positions[0] = rest[0]
    positions[0, layout.VERTICAL_AXIS] -= floor_y
    for joint in range(1, layout.NUM_JOINTS):
        parent = layout.PARENTS[joint]
        positions[joint] = positions[parent] + corrections[parent] @ (rest[joint] - rest[parent])
    return TPoseSkeleton(positions, corrections, rest, floor_y)


def normalized_rotations(local: np.ndarray, corrections: np.ndarray) -> np.ndarray:
    """(T, 55, 3, 3) SMPL-X local rotations (as drawn: relaxed hands added) and (55, 3, 3)
    rest corrections -> (T, B, 3, 3) VRM normalized local rotations of :data:`HUMAN_BONES`:
    ``C_parent L_j C_j^T`` (the hips' parent correction is the identity)."""
    joints = bone_joints()
    parents = np.array([layout.PARENTS[joint] for joint in joints])
    parent_corrections = np.where(
        (parents >= 0)[:, None, None], corrections[np.maximum(parents, 0)], np.eye(3)
    )  # (B, 3, 3)
    inverse = np.swapaxes(corrections[joints], -1, -2)  # (B, 3, 3)
    return parent_corrections[None] @ local[:, joints] @ inverse[None]


def hips_positions(trans: np.ndarray, tpose: TPoseSkeleton) -> np.ndarray:
    """(T, 3) root translation (m) -> (T, 3) the hips' world position over the floor."""
    return tpose.positions[0] + np.asarray(trans, np.float64)


def bone_quaternions(motion: MotionClip, tpose: TPoseSkeleton) -> np.ndarray:
    """(T, B, 4) float32 unit quaternions (x, y, z, w) of the bones' normalized local rotations
    (:func:`normalized_rotations` of the drawn poses), consecutive keys of a bone in one
    hemisphere (interpolation takes the short way)."""
    import torch  # here, as in MotionClip.part_rot6d: the bone map and T-pose need no torch

    from semges.rotations import axis_angle_to_matrix, matrix_to_quaternion

    drawn = skeleton.with_relaxed_hands(motion.poses.astype(np.float64))
    axis_angle = drawn.reshape(motion.num_frames, layout.NUM_JOINTS, layout.AXIS_ANGLE_DIM)
    local = axis_angle_to_matrix(torch.from_numpy(axis_angle)).numpy()  # (T, 55, 3, 3)
    normalized = normalized_rotations(local, tpose.corrections)  # (T, B, 3, 3)
    quats = matrix_to_quaternion(torch.from_numpy(normalized)).numpy()  # (T, B, 4)
    flips = np.einsum("tbq,tbq->tb", quats[1:], quats[:-1]) < 0
    signs = np.concatenate(
        [np.ones((1, len(HUMAN_BONES))), np.cumprod(np.where(flips, -1.0, 1.0), axis=0)]
    )
    return (quats * signs[..., None]).astype(np.float32)


def mouth_weights(motion: MotionClip) -> np.ndarray:
    """(T,) float32 the ``aa`` expression weight per frame: the jaw opening (degrees) over
    ``layout.MOUTH_FULLY_OPEN_JAW_DEG``, clamped to [0, 1] (a closed or clenched jaw is 0)."""
    opening = mouth_opening_degrees(motion.poses)
    return np.clip(opening / layout.MOUTH_FULLY_OPEN_JAW_DEG, 0.0, 1.0).astype(np.float32)
