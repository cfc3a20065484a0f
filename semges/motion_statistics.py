"""Motion-quality statistics of SMPL-X clips: how much, where and how smoothly a body moves.

Pure functions on axis-angle ``poses`` (T, 165) in radians, root translations ``trans``
(T, 3) in metres, or joint positions (T, 55, 3) in metres from
:func:`semges.kinematics.forward_kinematics`. SMPL-X is y-up: +y is up, x (the body's left)
and z (forward) span the ground. The benchmark ``benchmarks/motion_quality.py`` compares
generated motion with real BEAT2 motion through them.

Forward kinematics returns positions in SMPL-X model coordinates: the pelvis sits at its rest
position (about 0.35 m below the model origin), and adding ``trans`` gives the world positions
SMPL-X itself produces, so no separate pelvis offset is needed anywhere here.
"""

from __future__ import annotations

import math

import numpy as np
import roma
import torch

from semges import layout, metrics, skeleton
from semges.kinematics import joint_positions
from semges.planted_translation import stance_foot_steps
from semges.rotations import axis_angle_to_matrix

PELVIS: int = layout.JOINT_NAMES.index("pelvis")
NECK: int = layout.JOINT_NAMES.index("neck")
WRISTS: tuple[int, int] = (
    layout.JOINT_NAMES.index("left_wrist"),
    layout.JOINT_NAMES.index("right_wrist"),
)
SPINE_NECK_HEAD: tuple[int, ...] = tuple(
    layout.JOINT_NAMES.index(name) for name in ("spine1", "spine2", "spine3", "neck", "head")
)
ARMS: tuple[int, ...] = tuple(
    layout.JOINT_NAMES.index(f"{side}_{joint}")
    for side in ("left", "right")
    for joint in ("shoulder", "elbow", "wrist")
)
ARMS_AND_HANDS: tuple[int, ...] = ARMS + layout.HANDS.joints
"""Shoulders, elbows, wrists and the 30 finger joints: the joints whose jerk is measured."""
AT_REST_IN_UPPER_BODY_ROWS: tuple[layout.JointGroup, ...] = (
    layout.ROOT,
    layout.LOWER_BODY,
    layout.JAW,
    layout.EYES,
)
"""Groups set to rest for upper-body rows: only the upper body and the hands move."""

ACTIVITY_WINDOW_S: float = 0.2
"""Wrist activity is the wrist speed averaged over this long (seconds)."""
MIN_PAUSE_S: float = 1.0
"""A pause is at least this long without words (seconds)."""
HEIGHT_PERCENTILE: float = 95.0


# -- poses and positions --------------------------------------------------------------------


def with_groups_at_rest(poses: np.ndarray, groups: tuple[layout.JointGroup, ...]) -> np.ndarray:
    """(T, 165) axis-angle -> a copy with every joint of ``groups`` at rest (zero rotation)."""
    rested = np.array(poses, dtype=np.float32, copy=True)
    for group in groups:
        rested[:, list(group.pose_columns)] = 0.0
    return rested


def upper_body_rows(poses: np.ndarray) -> np.ndarray:
    """(T, 165) -> a copy with root rotation, legs, jaw and eyes at rest, so that real and
    generated motion are measured on the same joints under the same, fixed root."""
    return with_groups_at_rest(poses, AT_REST_IN_UPPER_BODY_ROWS)


def world_joint_positions(poses: np.ndarray, trans: np.ndarray) -> np.ndarray:
    """(T, 165) axis-angle and (T, 3) translation (m) -> (T, 55, 3) world joint positions (m):
    forward kinematics (which already holds the pelvis rest offset) plus the translation."""
    return joint_positions(poses) + np.asarray(trans, np.float32)[:, None, :]


# -- where the hands are --------------------------------------------------------------------


def wrist_position_std(positions: np.ndarray) -> float:
    """(T, 55, 3) -> std over time of each wrist's position, averaged over the two wrists and
    the three axes (m)."""
    return float(positions[:, list(WRISTS)].std(axis=0).mean())


def wrist_heights(positions: np.ndarray) -> np.ndarray:
    """(T, 55, 3) -> (T, 2) height (m) of the left and right wrist above the pelvis joint."""
    pelvis = positions[:, PELVIS, layout.VERTICAL_AXIS]
    return positions[:, list(WRISTS), layout.VERTICAL_AXIS] - pelvis[:, None]


def wrist_height_percentile(positions: np.ndarray, percentile: float = HEIGHT_PERCENTILE) -> float:
    """(T, 55, 3) -> the ``percentile`` of both wrists' heights above the pelvis joint, pooled
    over the two wrists and all frames (m): how high the hands go."""
    return float(np.percentile(wrist_heights(positions), percentile))


def correlation(first: np.ndarray, second: np.ndarray) -> float:
    """Pearson correlation of two (T,) series; NaN when either is constant."""
    a = np.asarray(first, np.float64) - np.mean(first)
    b = np.asarray(second, np.float64) - np.mean(second)
    scale = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / scale) if scale > 0 else float("nan")


def left_right_height_correlation(positions: np.ndarray) -> float:
    """(T, 55, 3) -> Pearson correlation over time of the left and right wrist heights
    (1: the hands always rise and fall together). NaN when either wrist does not move."""
    heights = wrist_heights(positions)
    return correlation(heights[:, 0], heights[:, 1])


def mean_wrist_height(positions: np.ndarray) -> np.ndarray:
    """(T, 55, 3) -> (T,) mean height of the two wrists above the pelvis joint (m)."""
    return wrist_heights(positions).mean(axis=1)


# -- how much the joints rotate -------------------------------------------------------------


def _rotations(poses: np.ndarray, joints: tuple[int, ...]) -> torch.Tensor:
    """(T, 165) -> (T, J, 3, 3) float64 rotation matrices of ``joints`` as drawn (finger
    joints with the hand mean of ``semges.skeleton.with_relaxed_hands``)."""
    columns = list(layout.pose_columns(joints))
    drawn = skeleton.with_relaxed_hands(np.asarray(poses, np.float64))
    axis_angle = torch.from_numpy(drawn[:, columns])
    return axis_angle_to_matrix(axis_angle.reshape(-1, len(joints), layout.AXIS_ANGLE_DIM))


def pose_spread_degrees(poses: np.ndarray, joints: tuple[int, ...]) -> float:
    """(T, 165) axis-angle -> how far ``joints`` rotate away from their mean pose (degrees).

    Per joint, the mean over time of the geodesic angle between the frame's rotation and the
    joint's mean rotation (the chordal L2 mean: the rotation nearest the mean matrix), then
    averaged over the joints. For small rotations it is a robust counterpart of the std of
    the axis-angle (about 0.9 times the root of its summed variances); unlike axis-angle
    components, it does not depend on how the rotation vector is written.
    """
    rotations = _rotations(poses, joints)  # (T, J, 3, 3)
    mean = roma.special_procrustes(rotations.sum(dim=0))  # (J, 3, 3)
    angles = roma.rotmat_geodesic_distance(rotations, mean.expand_as(rotations))  # (T, J)
    return math.degrees(float(angles.mean()))


def rotation_error_degrees(
    poses: np.ndarray, reference: np.ndarray, joints: tuple[int, ...]
) -> float:
    """(T, 165) and (T, 165) axis-angle -> mean over frames and ``joints`` of the geodesic
    angle between the two clips' rotations (degrees)."""
    if poses.shape != reference.shape:
        raise ValueError(f"clips differ in shape: {poses.shape} vs {reference.shape}")
    angles = roma.rotmat_geodesic_distance(_rotations(poses, joints), _rotations(reference, joints))
    return math.degrees(float(angles.mean()))


def translation_std(trans: np.ndarray) -> float:
    """(T, 3) root translation (m) -> std over time on the ground plane, averaged over the two
    horizontal axes (m): how far the body wanders."""
    return float(np.asarray(trans, np.float64)[:, list(layout.HORIZONTAL_AXES)].std(axis=0).mean())


def max_horizontal_distance(trans: np.ndarray) -> float:
    """(T, 3) root translation (m) -> the largest ground-plane distance from the first frame's
    position (m): whether a long clip stays in the camera's frame."""
    ground = np.asarray(trans, np.float64)[:, list(layout.HORIZONTAL_AXES)]
    return float(np.linalg.norm(ground - ground[0], axis=-1).max())


def trunk_lean_degrees(positions: np.ndarray) -> np.ndarray:
    """(T, 55, 3) joint positions (with the root rotation) -> (T,) angle (degrees) between the
    pelvis-to-neck line and the vertical: whether the body stays upright. (The pelvis joint's
    own rotation is no measure of it: BEAT2's real clip holds its pelvis 18 degrees from the
    rest orientation half of the time while standing upright.)"""
    trunk = positions[:, NECK] - positions[:, PELVIS]  # (T, 3)
    cosine = trunk[:, layout.VERTICAL_AXIS] / np.linalg.norm(trunk, axis=-1)
    return np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))


# -- how the hands move ---------------------------------------------------------------------


def arm_hand_jerk(positions: np.ndarray, fps: float) -> float:
    """(T, 55, 3) -> mean |d^3 p / dt^3| of the arm and finger joints (m/s^3)."""
    return metrics.mean_jerk(positions[:, list(ARMS_AND_HANDS)], fps)


def wrist_speed(positions: np.ndarray, fps: float) -> np.ndarray:
    """(T, 55, 3) -> (T,) mean speed of the two wrists (m/s), central differences."""
    return metrics.joint_speed(positions[:, list(WRISTS)], fps)


def wrist_activity(
    positions: np.ndarray, fps: float, window_s: float = ACTIVITY_WINDOW_S
) -> np.ndarray:
    """(T, 55, 3) -> (T,) the mean speed of the two wrists (m/s) averaged over a centred
    window of ``window_s`` seconds: when the hands move. Two motions whose activities
    correlate move their hands at the same moments."""
    speed = wrist_speed(positions, fps)
    width = max(1, round(window_s * fps))
    kernel = np.full(width, 1.0 / width)
    padded = np.pad(speed, (width // 2, width - 1 - width // 2), mode="edge")
    return np.convolve(padded, kernel, mode="valid")


def mean_joint_distance(
    positions: np.ndarray, other: np.ndarray, joints: tuple[int, ...] = ARMS
) -> float:
    """Two (T, 55, 3) position sequences -> mean over frames and ``joints`` of the distance
    between the same joint in both (m): how different two motions look."""
    return float(
        np.linalg.norm(positions[:, list(joints)] - other[:, list(joints)], axis=-1).mean()
    )


def pause_frames(word_mask: np.ndarray, fps: float, min_pause_s: float = MIN_PAUSE_S) -> np.ndarray:
    """(T,) bool, True where a word is spoken -> (T,) bool, True in every run of at least
    ``min_pause_s`` seconds without words (including before the first and after the last)."""
    word_mask = np.asarray(word_mask, bool)
    pauses = np.zeros_like(word_mask)
    min_frames = round(min_pause_s * fps)
    # Run boundaries: indices where the mask changes, plus both ends.
    edges = np.flatnonzero(np.diff(word_mask.astype(np.int8))) + 1
    bounds = np.concatenate([[0], edges, [word_mask.size]])
    for start, stop in zip(bounds[:-1], bounds[1:]):
        if not word_mask[start] and stop - start >= min_frames:
            pauses[start:stop] = True
    return pauses


def speed_ratio(speed: np.ndarray, frames: np.ndarray, reference_frames: np.ndarray) -> float:
    """(T,) speeds and two (T,) bool frame sets -> mean speed over ``frames`` divided by the
    mean speed over ``reference_frames`` (e.g. pauses over speech). NaN when a set is empty or
    the reference is still."""
    frames, reference_frames = np.asarray(frames, bool), np.asarray(reference_frames, bool)
    if not frames.any() or not reference_frames.any():
        return float("nan")
    reference = float(speed[reference_frames].mean())
    return float(speed[frames].mean()) / reference if reference > 0 else float("nan")


def stance_foot_speed(world_positions: np.ndarray, fps: float) -> np.ndarray:
    """(T, 55, 3) world positions -> (T - 1,) horizontal speed (m/s) of the weight-bearing foot.

    At frame t (from 1), the weight-bearing foot is the lower of the two feet (world height);
    its speed is its ground-plane displacement from frame t - 1 to t, times ``fps``.
    """
    if world_positions.shape[0] < 2:
        raise ValueError("need at least 2 frames")
    step = stance_foot_steps(world_positions)  # (T - 1, 2)
    return np.linalg.norm(step, axis=-1) * fps


def weight_bearing_foot_speed(world_positions: np.ndarray, fps: float) -> float:
    """(T, 55, 3) world positions -> median horizontal speed of the weight-bearing foot (m/s);
    near 0 when the planted foot stays put, large when it slides (see ``stance_foot_speed``)."""
    return float(np.median(stance_foot_speed(world_positions, fps)))


# -- comparing two clips --------------------------------------------------------------------


def mean_position_error(
    positions: np.ndarray, reference: np.ndarray, joints: tuple[int, ...] | None = None
) -> float:
    """(T, 55, 3) and (T, 55, 3) -> mean over frames and ``joints`` (all when None) of the
    distance between the two clips' joint positions (m)."""
    if positions.shape != reference.shape:
        raise ValueError(f"clips differ in shape: {positions.shape} vs {reference.shape}")
    selected = slice(None) if joints is None else list(joints)
    return float(np.linalg.norm(positions[:, selected] - reference[:, selected], axis=-1).mean())
