"""The SMPL-X motion layout: every joint index, group, frame rate and dimension, defined once.

SMPL-X has 55 joints. BEAT2 stores them as axis-angle, ``poses`` of shape (T, 55 * 3) = (T, 165),
at 30 frames per second. The generator models three parts, each as 6D rotations: the upper
body (13 joints) and the two hands (30 joints), as SemGes does, and, as EMAGE does, the lower
body with the root rotation (9 joints: weight shifts, turns and steps). Translation is derived
from the legs by keeping the weight-bearing foot planted. A separate face regressor makes the
jaw rotation and the 100 FLAME expression coefficients (:data:`FACE_DIM` numbers a frame); the
eyes stay at rest. Nothing else in the code base should spell out a joint index or a 165.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

FPS: int = 30
"""Motion frame rate of BEAT2 and of everything semges writes (frames per second)."""

AXIS_ANGLE_DIM: int = 3
ROT6D_DIM: int = 6
ROTMAT_SHAPE: tuple[int, int] = (3, 3)

NUM_BETAS: int = 300
NUM_EXPRESSIONS: int = 100
TRANSLATION_DIM: int = 3
SMPLX_MODEL_NAME: str = "smplx2020"
SMPLX_GENDER: str = "neutral"

JOINT_NAMES: tuple[str, ...] = (
    "pelvis",
    "left_hip",
    "right_hip",
    "spine1",
    "left_knee",
    "right_knee",
    "spine2",
    "left_ankle",
    "right_ankle",
    "spine3",
    "left_foot",
    "right_foot",
    "neck",
    "left_collar",
    "right_collar",
    "head",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "jaw",
    "left_eye_smplhf",
    "right_eye_smplhf",
    "left_index1",
    "left_index2",
    "left_index3",
    "left_middle1",
    "left_middle2",
    "left_middle3",
    "left_pinky1",
    "left_pinky2",
    "left_pinky3",
    "left_ring1",
    "left_ring2",
    "left_ring3",
    "left_thumb1",
    "left_thumb2",
    "left_thumb3",
    "right_index1",
    "right_index2",
    "right_index3",
    "right_middle1",
    "right_middle2",
    "right_middle3",
    "right_pinky1",
    "right_pinky2",
    "right_pinky3",
    "right_ring1",
    "right_ring2",
    "right_ring3",
    "right_thumb1",
    "right_thumb2",
    "right_thumb3",
)
NUM_JOINTS: int = len(JOINT_NAMES)  # 55
POSE_DIM: int = NUM_JOINTS * AXIS_ANGLE_DIM  # 165


def num_motion_frames(num_samples: int, sample_rate: int) -> int:
    """Motion frames for ``num_samples`` of audio at ``sample_rate`` Hz: exactly
    ``round(duration_s * FPS)``, no frame dropped at the tail. The one frame-count rule: the
    front-end, training data and every output follow it."""
    return round(num_samples * FPS / sample_rate)


# Kinematic tree: parent index per joint (-1 for the root), as in the SMPL-X model file.
PARENTS: tuple[int, ...] = (
    -1,
    0,
    0,
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    9,
    9,
    12,
    13,
    14,
    16,
    17,
    18,
    19,
    15,
    15,
    15,
    20,
    25,
    26,
    20,
    28,
    29,
    20,
    31,
    32,
    20,
    34,
    35,
    20,
    37,
    38,
    21,
    40,
    41,
    21,
    43,
    44,
    21,
    46,
    47,
    21,
    49,
    50,
    21,
    52,
    53,
)


@dataclass(frozen=True)
class JointGroup:
    """A named set of SMPL-X joints, with the dimensions it takes in each representation."""

    name: str
    joints: tuple[int, ...]

    @property
    def num_joints(self) -> int:
        return len(self.joints)

    @property
    def axis_angle_dim(self) -> int:
        return self.num_joints * AXIS_ANGLE_DIM

    @property
    def rot6d_dim(self) -> int:
        return self.num_joints * ROT6D_DIM

    @property
    def pose_columns(self) -> tuple[int, ...]:
        """Columns of the (T, 165) axis-angle ``poses`` array that hold this group."""
        return pose_columns(self.joints)


def pose_columns(joints: tuple[int, ...]) -> tuple[int, ...]:
    """Columns of the (T, 165) axis-angle ``poses`` array that hold ``joints``, in order."""
    return tuple(j * AXIS_ANGLE_DIM + k for j in joints for k in range(AXIS_ANGLE_DIM))


ROOT = JointGroup("root", (0,))
LOWER_BODY = JointGroup("lower_body", (1, 2, 4, 5, 7, 8, 10, 11))
UPPER_BODY = JointGroup("upper_body", (3, 6, 9, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21))
JAW = JointGroup("jaw", (22,))
EYES = JointGroup("eyes", (23, 24))
LEFT_HAND = JointGroup("left_hand", tuple(range(25, 40)))
RIGHT_HAND = JointGroup("right_hand", tuple(range(40, 55)))
HANDS = JointGroup("hands", LEFT_HAND.joints + RIGHT_HAND.joints)
LOWER = JointGroup("lower", ROOT.joints + LOWER_BODY.joints)
"""Root rotation and legs: the global part the generator models beside body and hands."""

LEFT_FOOT: int = JOINT_NAMES.index("left_foot")
RIGHT_FOOT: int = JOINT_NAMES.index("right_foot")
FEET: tuple[int, int] = (LEFT_FOOT, RIGHT_FOOT)
"""The joints that carry the body's weight when planted (ball of each foot)."""
VERTICAL_AXIS: int = 1  # SMPL-X is y-up
HORIZONTAL_AXES: tuple[int, int] = (0, 2)  # the ground plane: x (body's left) and z (forward)

JOINT_GROUPS: Mapping[str, JointGroup] = MappingProxyType(
    {g.name: g for g in (ROOT, LOWER_BODY, UPPER_BODY, JAW, EYES, LEFT_HAND, RIGHT_HAND)}
)
"""The seven disjoint groups that partition all 55 joints."""

GENERATED_PARTS: Mapping[str, JointGroup] = MappingProxyType(
    {UPPER_BODY.name: UPPER_BODY, HANDS.name: HANDS, LOWER.name: LOWER}
)
"""The parts the generator can model, each with its own VQ-VAE (SemGes: body and hands;
``lower``: root rotation and legs, as EMAGE adds)."""

FACE_JAW: JointGroup = JAW
"""The joint the face regressor drives (the mouth opens by rotating it)."""
JAW_OPENING_AXIS: int = 0
"""Axis-angle component of the jaw that opens the mouth: positive rotation about SMPL-X x
(the body's left) swings the chin down."""
MOUTH_FULLY_OPEN_JAW_DEG: float = 3.75
"""Jaw opening (degrees about ``JAW_OPENING_AXIS``) at which a character's mouth shows fully
open: a VRM character's ``aa`` expression reaches weight 1 there (linear from 0 at a closed
jaw), as the mannequin's mouth reaches its widest (``semges.render.bodies.mouth``: 0.8 cm a
degree up to 3 cm). Speech opens the SMPL-X jaw by only a degree or two (the lips move
mostly through the expressions), so the mouth is drawn opening wider than the jaw turns."""
FACE_DIM: int = FACE_JAW.rot6d_dim + NUM_EXPRESSIONS  # 106
"""One frame of the face: the jaw as a 6D rotation, then the expression coefficients."""

# Left/right counterparts for mirroring: every joint maps to its mirror image (itself for
# joints on the midline).
MIRROR_JOINT_PERMUTATION: tuple[int, ...] = tuple(
    JOINT_NAMES.index(
        name.replace("left_", "\0").replace("right_", "left_").replace("\0", "right_")
    )
    for name in JOINT_NAMES
)

# Mirroring across the body's sagittal plane negates the x axis (SMPL-X: +x is the body's
# left). A rotation R becomes M R M with M = diag(-1, 1, 1): axis-angle (x, y, z) -> (x, -y, -z),
# and translation (x, y, z) -> (-x, y, z).
MIRROR_AXIS_ANGLE_SIGNS: tuple[float, float, float] = (1.0, -1.0, -1.0)
MIRROR_TRANSLATION_SIGNS: tuple[float, float, float] = (-1.0, 1.0, 1.0)


def _check_partition() -> None:
    covered = sorted(j for g in JOINT_GROUPS.values() for j in g.joints)
    if covered != list(range(NUM_JOINTS)):
        raise AssertionError("SMPL-X joint groups must partition the 55 joints exactly")
    if len(PARENTS) != NUM_JOINTS:
        raise AssertionError("one parent per joint")


_check_partition()
