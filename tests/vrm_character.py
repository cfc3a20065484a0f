"""A VRM 1.0 character built from the wooden mannequin (``mannequin-x``, Apache-2.0): the test
character that plays semges' VRM Animations, in Python (tests/test_vrma.py) and in the page
(tests/test_browser_vrm.py).

    python -m tests.vrm_character OUT.vrm

The figure is skinned to the SMPL-X skeleton (:func:`semges.render.gltf.mannequin_mesh`); a
VRM must stand in the VRM T-pose with no rotation on its bones, so the builder poses the
mannequin's bind mesh into the T-pose of :mod:`semges.vrm_humanoid` (each bone turned by
its rest correction, linear blend skinning) and binds it there. Its humanoid bones are the 53
SMPL-X joints the VRM humanoid names (nodes keep the SMPL-X joint names, so a test reads which
joint each bone is); the mannequin's mouth (a morph target that opens it) is its ``aa``
expression. Materials are plain glTF (vertex colours), which every VRM 1.0 reader accepts.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pygltflib

from semges import layout
from semges.atomic_files import atomic_output
from semges.render.bodies.mannequin_body import MannequinBody
from semges.render.bodies.normals import VertexNormals
from semges.render.gltf import ROUGHNESS, file_colors, mannequin_mesh
from semges.render.gltf_buffer import (
    ARRAY_BUFFER,
    ELEMENT_ARRAY_BUFFER,
    BinaryBuffer,
)
from semges.render.gltf_mouth import MouthMesh, add_mouth_mesh
from semges.vrm_humanoid import HUMAN_BONES, TPoseSkeleton, bone_joints, tpose_skeleton

VRM_EXTENSION = "VRMC_vrm"
CHARACTER_NAME = "semges mannequin"
META = {
    "name": CHARACTER_NAME,
    "version": "1",
    "authors": ["semges, from the mannequin-x package's figure (Apache-2.0)"],
    "licenseUrl": "https://vrm.dev/licenses/1.0/",
    "otherLicenseUrl": "https://www.apache.org/licenses/LICENSE-2.0",
    "avatarPermission": "everyone",
    "allowExcessivelyViolentUsage": False,
    "allowExcessivelySexualUsage": False,
    "commercialUsage": "corporation",
    "allowPoliticalOrReligiousUsage": True,
    "allowAntisocialOrHateUsage": False,
    "creditNotation": "unnecessary",
    "allowRedistribution": True,
    "modification": "allowModificationRedistribution",
}
JOINT_SLOTS = 4


def _bone_of_joint() -> np.ndarray:
    """(55,) SMPL-X joint -> index of the bone that carries it (the eyes ride on the head)."""
    joints = bone_joints()
    table = np.zeros(layout.NUM_JOINTS, np.int64)
    table[joints] = np.arange(len(joints))
    head = int(np.flatnonzero(joints == layout.JOINT_NAMES.index("head"))[0])
    table[list(layout.EYES.joints)] = head
    return table


def tpose_vertices(
    vertices: np.ndarray, joints: np.ndarray, weights: np.ndarray, tpose: TPoseSkeleton
) -> np.ndarray:
    """Bind-pose vertices (V, 3) skinned to SMPL-X joints (V, K) with (V, K) weights -> (V, 3)
    in the T-pose: each joint turned by its rest correction and moved to its T-pose place."""
    posed = np.zeros(vertices.shape, np.float64)
    for k in range(joints.shape[1]):
        j = joints[:, k]
        local = vertices - tpose.rest[j]
        moved = np.einsum("vab,vb->va", tpose.corrections[j], local) + tpose.positions[j]
        posed += weights[:, k : k + 1] * moved
    return posed


def build_character() -> pygltflib.GLTF2:
    """The mannequin as a VRM 1.0 document (neutral shape)."""
    body = MannequinBody()
    mesh = mannequin_mesh(body, np.zeros(layout.NUM_BETAS))
    tpose = tpose_skeleton()
    bone_of_joint = _bone_of_joint()
    joints = bone_joints()

    gltf = pygltflib.GLTF2(asset=pygltflib.Asset(version="2.0", generator="semges tests"))
    buffer = BinaryBuffer(gltf)
    gltf.materials.append(
        pygltflib.Material(
            name="wood",
            pbrMetallicRoughness=pygltflib.PbrMetallicRoughness(
                baseColorFactor=[1.0, 1.0, 1.0, 1.0], metallicFactor=0.0, roughnessFactor=ROUGHNESS
            ),
        )
    )
    vertices = tpose_vertices(mesh.vertices.astype(np.float64), mesh.joints, mesh.weights, tpose)
    skin_joints = bone_of_joint[mesh.joints].astype(np.uint8)
    normals = VertexNormals(mesh.faces, vertices.shape[0])(vertices)
    attributes = pygltflib.Attributes(
        POSITION=buffer.add(vertices.astype(np.float32), ARRAY_BUFFER, with_bounds=True),
        NORMAL=buffer.add(normals.astype(np.float32), ARRAY_BUFFER),
        COLOR_0=buffer.add(file_colors(mesh.colors), ARRAY_BUFFER, normalized=True),
    )
    for slot in range(mesh.joints.shape[1] // JOINT_SLOTS):
        columns = slice(slot * JOINT_SLOTS, (slot + 1) * JOINT_SLOTS)
        setattr(attributes, f"JOINTS_{slot}", buffer.add(skin_joints[:, columns], ARRAY_BUFFER))
        setattr(attributes, f"WEIGHTS_{slot}", buffer.add(mesh.weights[:, columns], ARRAY_BUFFER))
    indices = buffer.add(mesh.faces.reshape(-1).astype(np.uint32), ELEMENT_ARRAY_BUFFER)
    gltf.meshes.append(
        pygltflib.Mesh(
            name="body",
            primitives=[pygltflib.Primitive(attributes=attributes, indices=indices, material=0)],
        )
    )
    mouth = mesh.mouth
    assert mouth is not None, "the mannequin has a mouth"
    head = layout.JOINT_NAMES.index("head")
    t_mouth = MouthMesh(
        (mouth.vertices - tpose.rest[head]) @ tpose.corrections[head].T + tpose.positions[head],
        mouth.normals @ tpose.corrections[head].T,
        mouth.colors,
        mouth.faces,
        mouth.open_offsets @ tpose.corrections[head].T,
        int(bone_of_joint[head]),
    )
    mouth_mesh_index = add_mouth_mesh(gltf, buffer, t_mouth, 0, file_colors(mouth.colors))

    offsets = tpose.local_offsets()[joints]
    parents = [layout.PARENTS[j] for j in joints]
    for index, joint in enumerate(joints):
        children = [int(c) for c in np.flatnonzero(np.asarray(parents) == joint)]
        gltf.nodes.append(
            pygltflib.Node(
                name=layout.JOINT_NAMES[joint],
                translation=offsets[index].tolist(),
                children=children or None,
            )
        )
    body_node = len(gltf.nodes)
    gltf.nodes.append(pygltflib.Node(name="body", mesh=0, skin=0))
    mouth_node = len(gltf.nodes)
    gltf.nodes.append(pygltflib.Node(name="mouth", mesh=mouth_mesh_index, skin=0))
    inverse_bind = np.broadcast_to(np.eye(4), (len(joints), 4, 4)).copy()
    inverse_bind[:, :3, 3] = -tpose.positions[joints]
    gltf.skins.append(
        pygltflib.Skin(
            joints=list(range(len(joints))),
            skeleton=0,
            inverseBindMatrices=buffer.add(
                inverse_bind.transpose(0, 2, 1).reshape(-1, 16).astype(np.float32)
            ),
        )
    )
    gltf.scenes.append(pygltflib.Scene(nodes=[0, body_node, mouth_node]))
    gltf.scene = 0
    gltf.extensionsUsed = [VRM_EXTENSION]
    gltf.extensions = {
        VRM_EXTENSION: {
            "specVersion": "1.0",
            "meta": META,
            "humanoid": {
                "humanBones": {bone.vrm: {"node": i} for i, bone in enumerate(HUMAN_BONES)}
            },
            "expressions": {
                "preset": {
                    "aa": {"morphTargetBinds": [{"node": mouth_node, "index": 0, "weight": 1.0}]}
                }
            },
        }
    }
    buffer.finish()
    return gltf


def write_character(path: Path) -> Path:
    """Write the mannequin character as ``path`` (a ``.vrm``), atomically."""
    gltf = build_character()
    with atomic_output(path) as partial:
        gltf.save_binary(str(partial))
    return path


if __name__ == "__main__":
    print(write_character(Path(sys.argv[1])))
