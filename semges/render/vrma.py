"""VRM Animation export (``.vrma``: binary glTF 2.0 with the ``VRMC_vrm_animation`` 1.0
extension): the motion for any VRM character, body, hands, head, jaw and mouth.

What a file holds (three-vrm-animation, UniVRM and the VRM Blender add-on read it):

- one scene: the VRM humanoid bones (:data:`semges.vrm_humanoid.HUMAN_BONES`, 53: every
  SMPL-X joint but the eyes) as nodes named after their VRM bone, parented as the humanoid is,
  in the VRM T-pose (no rotation on any node, the soles at y = 0, facing +z; metres), the
  extension mapping each bone name to its node; and one node per animated expression;
- one animation at ``layout.FPS``: a rotation channel per bone (the SMPL-X rotations
  retargeted to normalized bones, see :mod:`semges.vrm_humanoid`), the hips'
  translation, and the ``aa`` expression (mouth open) as the x translation of its node, as the
  extension defines expression weights. One keyframe per motion frame at ``frame / fps`` (linear
  interpolation), plus a closing key at ``frames / fps`` that holds the last frame: frame i is
  shown from ``i / fps`` for ``1 / fps``, so the clip lasts exactly ``frames / fps`` seconds,
  as the video and the speech do (glTF has no other way to state a duration).

The mouth opens with the ``aa`` expression, weighted by the jaw's opening
(:func:`semges.vrm_humanoid.mouth_weights`). The FLAME expression coefficients have no VRM
counterpart (FLAME's blend shapes are not VRM's presets, and none of them is a blink),
so no other expression is written.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from semges import layout
from semges.atomic_files import atomic_output
from semges.render.gltf_buffer import BinaryBuffer
from semges.vrm_humanoid import (
    HUMAN_BONES,
    TPoseSkeleton,
    bone_joints,
    bone_parents,
    bone_quaternions,
    hips_positions,
    mouth_weights,
    tpose_skeleton,
)

if TYPE_CHECKING:
    import pygltflib

    from semges.motion import MotionClip

EXTENSION: str = "VRMC_vrm_animation"
SPEC_VERSION: str = "1.0"
MOUTH_EXPRESSION: str = "aa"  # VRM's preset for the open mouth ("ah")
ANIMATION_NAME: str = "gestures"
GENERATOR: str = "semges"


def _with_closing_key(values: np.ndarray) -> np.ndarray:
    """(T, ...) per-frame values -> (T + 1, ...): the last frame repeated at ``T / fps``."""
    return np.concatenate([values, values[-1:]])


def _bone_nodes(tpose: TPoseSkeleton) -> list[pygltflib.Node]:
    """One node per humanoid bone in :data:`HUMAN_BONES` order: its VRM name, its children and
    its T-pose offset from its parent (no rotation: the T-pose's axes are the world's)."""
    import pygltflib

    joints, parents = bone_joints(), bone_parents()
    offsets = tpose.local_offsets()[joints]
    nodes = []
    for index, bone in enumerate(HUMAN_BONES):
        children = [int(child) for child in np.flatnonzero(parents == index)]
        nodes.append(
            pygltflib.Node(
                name=bone.vrm, translation=offsets[index].tolist(), children=children or None
            )
        )
    return nodes


def build_vrma(motion: MotionClip) -> pygltflib.GLTF2:
    """The VRM Animation document (JSON and binary blob) of ``motion``; see the module doc."""
    import pygltflib

    tpose = tpose_skeleton(motion.betas)
    gltf = pygltflib.GLTF2(asset=pygltflib.Asset(version="2.0", generator=GENERATOR))
    buffer = BinaryBuffer(gltf)
    gltf.nodes.extend(_bone_nodes(tpose))
    mouth_node = len(gltf.nodes)
    gltf.nodes.append(pygltflib.Node(name=MOUTH_EXPRESSION, translation=[0.0, 0.0, 0.0]))
    gltf.scenes.append(pygltflib.Scene(name=GENERATOR, nodes=[0, mouth_node]))
    gltf.scene = 0

    frames = motion.num_frames
    times = buffer.add((np.arange(frames + 1) / motion.fps).astype(np.float32), with_bounds=True)
    samplers: list[pygltflib.AnimationSampler] = []
    channels: list[pygltflib.AnimationChannel] = []

    def animate(node: int, path: str, values: np.ndarray) -> None:
        samplers.append(
            pygltflib.AnimationSampler(
                input=times, interpolation="LINEAR", output=buffer.add(_with_closing_key(values))
            )
        )
        target = pygltflib.AnimationChannelTarget(node=node, path=path)
        channels.append(pygltflib.AnimationChannel(sampler=len(samplers) - 1, target=target))

    animate(0, "translation", hips_positions(motion.trans, tpose).astype(np.float32))
    quats = bone_quaternions(motion, tpose)
    for index in range(len(HUMAN_BONES)):
        animate(index, "rotation", quats[:, index])
    mouth = np.zeros((frames, layout.TRANSLATION_DIM), np.float32)
    mouth[:, 0] = mouth_weights(motion)  # the extension reads a weight from x
    animate(mouth_node, "translation", mouth)
    gltf.animations.append(
        pygltflib.Animation(
            name=ANIMATION_NAME,
            samplers=samplers,
            channels=channels,
            extras={"fps": motion.fps, "frames": frames, "duration_s": frames / motion.fps},
        )
    )
    gltf.extensionsUsed = [EXTENSION]
    gltf.extensions = {
        EXTENSION: {
            "specVersion": SPEC_VERSION,
            "humanoid": {
                "humanBones": {bone.vrm: {"node": i} for i, bone in enumerate(HUMAN_BONES)}
            },
            "expressions": {"preset": {MOUTH_EXPRESSION: {"node": mouth_node}}},
        }
    }
    buffer.finish()
    return gltf


def write_vrma(motion: MotionClip, path: str | os.PathLike) -> Path:
    """Write ``motion`` as a VRM Animation (``.vrma``) at ``path`` (atomically); the path."""
    if motion.num_frames < 1:
        raise ValueError("the motion has no frames")
    path = Path(path)
    gltf = build_vrma(motion)
    with atomic_output(path) as partial:
        gltf.save_binary(str(partial))
    return path
