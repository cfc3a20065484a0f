"""The mannequin's mouth in a glTF file: a small mesh skinned to the head whose one morph
target opens it, so a glTF viewer (the page's 3D view) shows the figure speak as the video does.

The mouth is :mod:`semges.render.bodies.mouth`'s: the lips at rest, moved rigidly with the
head, the lower lip dropping as the jaw opens. A glTF viewer can only skin and blend morph
targets, and that is all the mouth needs: every vertex belongs to the head joint alone, and the
open mouth is the rest lips plus ``openness`` times :meth:`Mouth.open_offsets`, which is one
morph target animated by a ``weights`` channel (``openness`` in [0, 1] per frame).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from semges import layout
from semges.render.gltf_buffer import ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER, BinaryBuffer

if TYPE_CHECKING:
    import pygltflib

    from semges.render.bodies.mouth import Mouth

MOUTH_NODE_NAME: str = "mouth"
OPEN_TARGET_NAME: str = "mouthOpen"  # the morph target's name (glTF extras.targetNames)
HEAD_JOINT: int = layout.JOINT_NAMES.index("head")
_INFLUENCES = 4  # one VEC4 of joints and weights: the head, then three unused slots


@dataclass(frozen=True)
class MouthMesh:
    """The mouth bound to one joint, in the skeleton's bind pose.

    ``vertices`` (M, 3) float32 bind positions (m); ``normals`` (M, 3) float32; ``colors``
    (M, 4) float32 RGBA; ``faces`` (F, 3) uint32; ``open_offsets`` (M, 3) float32 the morph
    target (vertex displacement when open its widest); ``joint``: the joint moving it.
    """

    vertices: np.ndarray
    normals: np.ndarray
    colors: np.ndarray
    faces: np.ndarray
    open_offsets: np.ndarray
    joint: int = HEAD_JOINT


def mouth_mesh(mouth: Mouth, head_bind: np.ndarray) -> MouthMesh:
    """The mouth of a rendered body for a skeleton whose head is bound at ``head_bind`` (3,):
    the lips keep their place relative to the head (the renderer moves them with the head
    joint's motion from its own rest position, which may belong to another body shape)."""
    rest = np.concatenate([mouth.upper, mouth.lower]) - mouth.head_position + head_bind
    forward = np.zeros((mouth.num_vertices, 3), np.float32)
    forward[:, 2] = 1.0  # the lips face the front (+z), as the renderer lights them
    return MouthMesh(
        rest.astype(np.float32),
        forward,
        mouth.colors(),
        mouth.faces.astype(np.uint32),
        mouth.open_offsets(),
    )


def add_mouth_mesh(
    gltf: pygltflib.GLTF2, buffer: BinaryBuffer, mouth: MouthMesh, material: int, colors: np.ndarray
) -> int:
    """Append the mouth's mesh (one primitive, one morph target, weight 0) to ``gltf``; its
    index. ``colors`` (M, 4) uint8: the vertex colours as the file stores them."""
    import pygltflib

    count = mouth.vertices.shape[0]
    joints = np.zeros((count, _INFLUENCES), np.uint8)
    joints[:, 0] = mouth.joint
    weights = np.zeros((count, _INFLUENCES), np.float32)
    weights[:, 0] = 1.0
    attributes = pygltflib.Attributes(
        POSITION=buffer.add(mouth.vertices.astype(np.float32), ARRAY_BUFFER, with_bounds=True),
        NORMAL=buffer.add(mouth.normals.astype(np.float32), ARRAY_BUFFER),
        COLOR_0=buffer.add(colors, ARRAY_BUFFER, normalized=True),
        JOINTS_0=buffer.add(joints, ARRAY_BUFFER),
        WEIGHTS_0=buffer.add(weights, ARRAY_BUFFER),
    )
    target = pygltflib.Attributes(
        POSITION=buffer.add(mouth.open_offsets.astype(np.float32), ARRAY_BUFFER, with_bounds=True)
    )
    indices = buffer.add(mouth.faces.reshape(-1), ELEMENT_ARRAY_BUFFER, with_bounds=True)
    gltf.meshes.append(
        pygltflib.Mesh(
            name=MOUTH_NODE_NAME,
            primitives=[
                pygltflib.Primitive(
                    attributes=attributes, indices=indices, material=material, targets=[target]
                )
            ],
            weights=[0.0],
            extras={"targetNames": [OPEN_TARGET_NAME]},
        )
    )
    return len(gltf.meshes) - 1
