"""The Live page's motion frames on the wire: joint quaternions and the root, per audio time.

The page only sets bone quaternions: everything the skinned mannequin needs per frame is
computed here, with the same functions the glTF writer uses for its animation
(``semges.render.gltf.local_quaternions`` with the mannequin's hand mean, and
``root_positions`` with the rest joints of the body the page loaded), so the live body and a
downloaded ``.glb`` move identically.

One frame is :data:`FRAME_BYTES` bytes, little-endian, frames back to back:

======================  ==========================================================
``float32``             audio time of the frame in seconds (frame ``i``: ``i / fps``)
``float32 x 3``         the pelvis's position in metres (its rest position + ``trans``)
``int16 x 55 x 4``      each joint's local rotation (x, y, z, w), times :data:`QUATERNION_SCALE`
======================  ==========================================================

Quaternions travel as 16-bit integers: a unit quaternion's components lie in [-1, 1], and
1 / 32767 of resolution is about 0.004 degrees, far below what a viewer can see, at half the
bytes of float32 (456 bytes a frame, 13.7 kB per second of motion).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from semges import layout, skeleton
from semges.motion import MotionClip
from semges.render.gltf import QUATERNION_DIM, local_quaternions, root_positions

QUATERNION_SCALE: int = np.iinfo(np.int16).max  # a component of 1.0 travels as 32767
TIME_BYTES: int = np.dtype(np.float32).itemsize
ROOT_BYTES: int = layout.TRANSLATION_DIM * np.dtype(np.float32).itemsize
ROTATION_BYTES: int = layout.NUM_JOINTS * QUATERNION_DIM * np.dtype(np.int16).itemsize
FRAME_BYTES: int = TIME_BYTES + ROOT_BYTES + ROTATION_BYTES  # 456
FRAME_DTYPE = np.dtype(
    [
        ("time", "<f4"),
        ("root", "<f4", (layout.TRANSLATION_DIM,)),
        ("rotations", "<i2", (layout.NUM_JOINTS, QUATERNION_DIM)),
    ]
)
assert FRAME_DTYPE.itemsize == FRAME_BYTES


def wire_format() -> dict[str, object]:
    """What the page needs to read frames (sent once when a session opens), so the layout is
    written down in one place: here."""
    return {
        "frame_bytes": FRAME_BYTES,
        "quaternion_scale": QUATERNION_SCALE,
        "joints": list(layout.JOINT_NAMES),
        "fps": layout.FPS,
    }


@dataclass(frozen=True)
class DecodedFrames:
    """Frames read back from the wire (the page does the same in JavaScript)."""

    times: np.ndarray  # (T,) float32 audio seconds
    root: np.ndarray  # (T, 3) float32 pelvis position, metres
    quaternions: np.ndarray  # (T, 55, 4) float32 (x, y, z, w), unit up to 1 / 32767


def decode_frames(payload: bytes) -> DecodedFrames:
    """The frames of one response; raises ValueError when ``payload`` is not whole frames."""
    if len(payload) % FRAME_BYTES:
        raise ValueError(f"{len(payload)} bytes is not a whole number of {FRAME_BYTES}-byte frames")
    frames = np.frombuffer(payload, FRAME_DTYPE)
    return DecodedFrames(
        frames["time"].copy(),
        frames["root"].copy(),
        frames["rotations"].astype(np.float32) / QUATERNION_SCALE,
    )


class FrameEncoder:
    """Turns one session's successive motion clips into wire frames.

    Stateful for two reasons: a frame's audio time is its index in the whole session, and a
    joint's quaternion keeps the hemisphere of its previous frame across clips (q and -q are
    the same rotation; the page interpolates between neighbours, which must take the short way).

    ``betas``: the shape of the body the page shows (the neutral mannequin of the idle
    ``.glb``): its pelvis rest position is where ``trans`` is added.
    """

    def __init__(self, betas: np.ndarray | None = None) -> None:
        self._rest_joints = skeleton.rest_joint_positions(betas)
        self._hand_mean = skeleton.hand_mean()
        self._previous: np.ndarray | None = None  # (55, 4) last frame's quaternions
        self.frames_encoded = 0

    def encode(self, clip: MotionClip) -> bytes:
        """``clip``'s frames, numbered on from the frames encoded before; b"" for no frames."""
        if clip.fps != layout.FPS:
            raise ValueError(f"live motion must be {layout.FPS} fps, got {clip.fps}")
        count = clip.num_frames
        if count == 0:
            return b""
        quats = local_quaternions(clip, self._hand_mean)  # (T, 55, 4)
        if self._previous is not None:
            flip = np.einsum("jq,jq->j", quats[0], self._previous) < 0  # (55,)
            quats[:, flip] *= -1.0  # within the clip, local_quaternions kept them continuous
        self._previous = quats[-1].copy()
        frames = np.empty(count, FRAME_DTYPE)
        frames["time"] = (self.frames_encoded + np.arange(count)) / layout.FPS
        frames["root"] = root_positions(clip, self._rest_joints)
        frames["rotations"] = np.round(quats * QUATERNION_SCALE).astype(np.int16)
        self.frames_encoded += count
        return frames.tobytes()
