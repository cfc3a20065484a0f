"""glTF 2.0 (binary .glb) export: the body mesh skinned to the SMPL-X skeleton, with the motion.

What a file holds (Blender, Unity, three.js and <model-viewer> open it):

- one scene: the 55 SMPL-X joints as nodes named after ``semges.layout.JOINT_NAMES``, parented
  as ``layout.PARENTS``, the pelvis the root; one mesh node with the body; for the mannequin,
  one more with its mouth (the video's, skinned to the head, opening by one morph target:
  :mod:`semges.render.gltf_mouth`);
- the mesh: the wooden mannequin (24,256 vertices) or, given a model file, the SMPL-X mesh
  (10,475 vertices) in its bind pose (T-pose, straight fingers), with vertex colours, normals
  and linear blend skin weights (``JOINTS_0``/``WEIGHTS_0``, plus ``JOINTS_1``/``WEIGHTS_1``
  where a vertex has more than four joints; beyond eight the weakest are dropped);
- one skin: inverse bind matrices ``[I | -b_j]`` with ``b_j`` the rest (bind) position of joint j;
- one animation at ``layout.FPS``: a rotation channel per joint and a translation channel on
  the pelvis (and the mouth's morph weight, its opening as the video draws it), one keyframe
  per motion frame at times ``frame / fps`` (linear interpolation);
  frame ``i`` is shown from ``i / fps`` for ``1 / fps``, so the clip lasts ``frames / fps``
  seconds, as the video does (recorded in the animation's ``extras``).

The pose convention is the renderer's: local rotations are the clip's axis-angle ``poses``,
finger rotations with the hand mean of ``semges.skeleton`` added (the relaxed mean hand: BEAT2
hand poses are offsets from it), the mannequin's joints at ``semges.skeleton``'s rest positions
(an SMPL-X file's at its own regressed joints), the pelvis at its rest position plus ``trans``. Skinning the file's mesh with its own data
gives the renderer's vertices. Linear blend skinning is all a glTF viewer does, so what the
SMPL-X mesh adds on top of it, pose-corrective and expression blend shapes, is not in the
file; the jaw and eye rotations are (as joint rotations). Units: metres, y up, the body faces +z.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from semges import layout, skeleton
from semges.atomic_files import atomic_output
from semges.face_statistics import mouth_opening_degrees
from semges.render.bodies.mouth import mouth_openness
from semges.render.gltf_buffer import (
    ARRAY_BUFFER,
    ELEMENT_ARRAY_BUFFER,
    QUATERNION_DIM,
    BinaryBuffer,
)
from semges.render.gltf_mouth import (
    HEAD_JOINT,
    MOUTH_NODE_NAME,
    MouthMesh,
    add_mouth_mesh,
    mouth_mesh,
)

if TYPE_CHECKING:
    import pygltflib

    from semges.motion import MotionClip
    from semges.render.bodies import BodySpec
    from semges.render.bodies.mannequin_body import MannequinBody
    from semges.render.bodies.smplx_body import SmplxBody

INFLUENCES_PER_SET: int = 4  # joints per JOINTS_n / WEIGHTS_n attribute (a glTF VEC4)
MAX_INFLUENCE_SETS: int = 2  # at most eight joints move one vertex
MIN_WEIGHT: float = 1e-4  # skin weights below this are dropped (and the rest renormalised)
MATRIX_ELEMENTS: int = 16
COLOR_LEVELS: int = 255  # vertex colours as normalised unsigned bytes
# sRGB transfer function (IEC 61966-2-1): glTF vertex colours are linear, the bodies' are sRGB
SRGB_LINEAR_KNEE: float = 0.04045
SRGB_LINEAR_SLOPE: float = 12.92
SRGB_OFFSET: float = 0.055
SRGB_GAMMA: float = 2.4
ROUGHNESS: float = 0.8  # matte wood / skin
NUM_SHAPE_COEFFICIENTS: int = 10  # the mannequin follows the first ten SMPL-X betas
MESH_NODE_NAME: str = "body"
ANIMATION_NAME: str = "gestures"
GENERATOR: str = "semges"


@dataclass(frozen=True)
class SkinnedMesh:
    """A triangle mesh bound to the 55-joint SMPL-X skeleton for linear blend skinning.

    In the bind pose every joint rotation is the identity; a posed vertex is
    ``sum_k weights[v, k] * (R_j (vertices[v] - rest_joints[j]) + t_j)``, ``j = joints[v, k]``,
    with ``R_j``, ``t_j`` joint j's world rotation and position.
    """

    vertices: np.ndarray  # (V, 3) float32 bind-pose positions, metres
    normals: np.ndarray  # (V, 3) float32 unit bind-pose normals
    colors: np.ndarray  # (V, 4) float32 RGBA in [0, 1], sRGB as the renderer draws them
    faces: np.ndarray  # (F, 3) uint32 vertex indices
    joints: np.ndarray  # (V, K) uint8 SMPL-X joint indices, K a multiple of 4
    weights: np.ndarray  # (V, K) float32, each row summing to 1 (0 for unused slots)
    rest_joints: np.ndarray  # (55, 3) float64 bind positions of the joints, metres
    hand_mean: np.ndarray  # (30, 3) axis-angle added to the hand joints' rotations
    material: str = "body"  # the material's name (the body's)
    mouth: MouthMesh | None = None  # the mannequin's mouth, opening with the jaw


# -- the body as a skinned mesh -------------------------------------------------------------


def srgb_to_linear(values: np.ndarray) -> np.ndarray:
    """sRGB-encoded values in [0, 1] -> linear light (glTF's ``COLOR_0`` is linear)."""
    values = np.clip(values, 0.0, 1.0)
    return np.where(
        values <= SRGB_LINEAR_KNEE,
        values / SRGB_LINEAR_SLOPE,
        ((values + SRGB_OFFSET) / (1.0 + SRGB_OFFSET)) ** SRGB_GAMMA,
    )


def top_influences(
    dense: np.ndarray,
    min_weight: float = MIN_WEIGHT,
    max_influences: int = INFLUENCES_PER_SET * MAX_INFLUENCE_SETS,
) -> tuple[np.ndarray, np.ndarray]:
    """(V, J) dense skin weights -> (V, K) joint indices and weights, strongest first.

    K is the number of joints the most-influenced vertex needs, rounded up to whole VEC4 sets
    (at most ``max_influences``, itself rounded down to whole sets, and at most
    ``MAX_INFLUENCE_SETS``); weights below ``min_weight`` are dropped and every row is
    renormalised to sum to 1.
    """
    dense = np.where(dense >= min_weight, dense, 0.0)
    needed = int((dense > 0).sum(axis=1).max())
    most_sets = max(1, min(MAX_INFLUENCE_SETS, max_influences // INFLUENCES_PER_SET))
    slots = min(-(-needed // INFLUENCES_PER_SET), most_sets) * INFLUENCES_PER_SET
    order = np.argsort(-dense, axis=1, kind="stable")[:, :slots]
    weights = np.take_along_axis(dense, order, axis=1)
    weights /= weights.sum(axis=1, keepdims=True)
    joints = np.where(weights > 0, order, 0)
    return joints.astype(np.uint8), weights.astype(np.float32)


@functools.lru_cache(maxsize=4)
def _mannequin_rig(betas: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bind vertices (V, 3), dense SMPL-X skin weights (V, 55) and rest joint positions
    (55, 3) of the mannequin for ten ``betas`` (cached: building the figure takes ~0.5 s)."""
    from mannequin import Mannequin

    from semges.render.bodies.mannequin_body import MANNEQUIN_KIND, smplx_joint_of

    model = Mannequin(MANNEQUIN_KIND, flat_hand_mean=True)
    model.reshape(np.asarray(betas, np.float32))
    try:  # the same package internals the renderer's fast skinning reads
        vertices = np.asarray(model._identity["skin_vertices"], np.float64)
        mannequin_joints = np.asarray(model._skin_joint_indices)
        mannequin_weights = np.asarray(model._skin_weights, np.float64)
    except (AttributeError, KeyError, TypeError) as error:
        raise RuntimeError(
            f"this mannequin-x version hides its skin weights ({error}); glTF export needs them"
        ) from error
    # The figure's palm ends ("L_Hand") sit on the wrists and never rotate on their own, so
    # their weights belong to the wrists (smplx_joint_of maps them there).
    smplx_index = smplx_joint_of(model.joint_names, model.parents)[mannequin_joints]
    dense = np.zeros((vertices.shape[0], layout.NUM_JOINTS))
    np.add.at(dense, (np.arange(vertices.shape[0])[:, None], smplx_index), mannequin_weights)
    return vertices, dense, skeleton.rest_joint_positions(np.asarray(betas))


def mannequin_mesh(body: MannequinBody, betas: np.ndarray) -> SkinnedMesh:
    """The wooden mannequin shaped by the first ten ``betas``, as a :class:`SkinnedMesh`.

    With the mouth the video draws (``MannequinBody.with_face``) as its own mesh, skinned to
    the head, opening by a morph target (:mod:`semges.render.gltf_mouth`).
    """
    from semges.render.bodies.normals import VertexNormals

    shape = np.zeros(NUM_SHAPE_COEFFICIENTS)
    count = min(NUM_SHAPE_COEFFICIENTS, betas.shape[0])
    shape[:count] = betas[:count]
    vertices, dense, rest_joints = _mannequin_rig(tuple(float(b) for b in shape))
    num_vertices = vertices.shape[0]
    faces = body.faces[(body.faces < num_vertices).all(axis=1)]
    joints, weights = top_influences(dense)
    normals = VertexNormals(faces, num_vertices)(vertices)
    hand_mean = skeleton.hand_mean()
    mouth = body.with_face().mouth
    return SkinnedMesh(
        vertices.astype(np.float32),
        normals.astype(np.float32),
        body.vertex_colors[:num_vertices],
        faces,
        joints,
        weights,
        rest_joints,
        hand_mean,
        body.name,
        None if mouth is None else mouth_mesh(mouth, rest_joints[HEAD_JOINT]),
    )


@functools.lru_cache(maxsize=2)
def _smplx_arrays(model_path: str) -> tuple[np.ndarray, ...]:
    """What the glTF needs from an SMPL-X model file, float64, read once per file (the file is
    ~100 MB): v_template (V, 3), shape directions (V, 3, 300), J_regressor (55, V), skin
    weights (V, 55) and the relaxed hand mean (30, 3)."""
    with np.load(model_path, allow_pickle=False) as model:
        return (
            model["v_template"].astype(np.float64),
            model["shapedirs"][:, :, : layout.NUM_BETAS].astype(np.float64),
            model["J_regressor"].astype(np.float64),
            model["weights"].astype(np.float64),
            np.concatenate([model["hands_meanl"], model["hands_meanr"]]).reshape(-1, 3),
        )


def smplx_mesh(body: SmplxBody, betas: np.ndarray) -> SkinnedMesh:
    """The SMPL-X mesh of the body's model file, shaped by ``betas`` (neutral expression).

    Read from the model file as smplx reads it: ``v_template`` plus the shape directions,
    joints regressed from the shaped mesh, ``weights`` for skinning, ``hands_mean[lr]`` for
    the relaxed hands.
    """
    from semges.render.bodies.normals import VertexNormals

    template, shapedirs, regressor, dense, hand_mean = _smplx_arrays(str(body.model_path))
    shape = np.zeros(layout.NUM_BETAS)
    count = min(layout.NUM_BETAS, betas.shape[0])
    shape[:count] = betas[:count]
    vertices = template + shapedirs @ shape  # (V, 3)
    rest_joints = regressor @ vertices  # (55, 3)
    if skeleton.FLAT_HAND_MEAN:
        hand_mean = np.zeros_like(hand_mean)
    joints, weights = top_influences(dense)
    normals = VertexNormals(body.faces, vertices.shape[0])(vertices)
    return SkinnedMesh(
        vertices.astype(np.float32),
        normals.astype(np.float32),
        body.vertex_colors,
        body.faces,
        joints,
        weights,
        rest_joints,
        hand_mean.astype(np.float64),
        body.name,
    )


def skinned_mesh(body: object, betas: np.ndarray) -> SkinnedMesh:
    """The :class:`SkinnedMesh` of a loaded body (``semges.render.bodies`` mannequin or SMPL-X)."""
    from semges.render.bodies.mannequin_body import MannequinBody
    from semges.render.bodies.smplx_body import SmplxBody

    if isinstance(body, MannequinBody):
        return mannequin_mesh(body, betas)
    if isinstance(body, SmplxBody):
        return smplx_mesh(body, betas)
    raise TypeError(f"no glTF export for the body {type(body).__name__}")


# -- the motion as joint rotations ----------------------------------------------------------


def local_quaternions(motion: MotionClip, hand_mean: np.ndarray) -> np.ndarray:
    """(T, 55, 4) float32 unit quaternions (x, y, z, w) of every joint's local rotation.

    ``hand_mean`` (30, 3) is added to the hand joints' axis-angle, as smplx and the mannequin
    do. Consecutive keys of a joint share a hemisphere, so interpolation takes the short way.
    """
    from scipy.spatial.transform import Rotation

    axis_angle = motion.poses.reshape(
        motion.num_frames, layout.NUM_JOINTS, layout.AXIS_ANGLE_DIM
    ).astype(np.float64)
    axis_angle[:, list(layout.HANDS.joints)] += hand_mean
    quats = Rotation.from_rotvec(axis_angle.reshape(-1, layout.AXIS_ANGLE_DIM)).as_quat()
    quats = quats.reshape(motion.num_frames, layout.NUM_JOINTS, QUATERNION_DIM)
    flips = np.einsum("tjq,tjq->tj", quats[1:], quats[:-1]) < 0
    signs = np.concatenate(
        [np.ones((1, layout.NUM_JOINTS)), np.cumprod(np.where(flips, -1.0, 1.0), axis=0)]
    )
    return (quats * signs[..., None]).astype(np.float32)


def root_positions(motion: MotionClip, rest_joints: np.ndarray) -> np.ndarray:
    """(T, 3) float32 world position of the pelvis: its rest position plus ``trans``."""
    return (rest_joints[0] + motion.trans.astype(np.float64)).astype(np.float32)


def inverse_bind_matrices(rest_joints: np.ndarray) -> np.ndarray:
    """(55, 4, 4) float32 ``[I | -b_j]``: bind pose to joint space (rotations are identity)."""
    matrices = np.broadcast_to(np.eye(4), (rest_joints.shape[0], 4, 4)).copy()
    matrices[:, :3, 3] = -rest_joints
    return matrices.astype(np.float32)


# -- the file ---------------------------------------------------------------------------------


def _skeleton_nodes(rest_joints: np.ndarray) -> list[pygltflib.Node]:
    """One node per SMPL-X joint in layout order: name, children, rest offset from its parent."""
    import pygltflib

    nodes = []
    for joint, name in enumerate(layout.JOINT_NAMES):
        parent = layout.PARENTS[joint]
        offset = rest_joints[joint] - (rest_joints[parent] if parent >= 0 else 0.0)
        children = [child for child, p in enumerate(layout.PARENTS) if p == joint]
        nodes.append(
            pygltflib.Node(name=name, translation=offset.tolist(), children=children or None)
        )
    return nodes


def file_colors(colors: np.ndarray) -> np.ndarray:
    """(V, 4) sRGB RGBA in [0, 1] -> (V, 4) uint8 linear RGBA, as glTF's ``COLOR_0`` holds."""
    linear = np.concatenate(
        [srgb_to_linear(colors[:, :3]), np.clip(colors[:, 3:], 0.0, 1.0)], axis=1
    )  # alpha is linear
    return np.round(linear * COLOR_LEVELS).astype(np.uint8)


def build_gltf(motion: MotionClip, mesh: SkinnedMesh) -> pygltflib.GLTF2:
    """The glTF document (JSON and binary blob) of ``motion`` on ``mesh``; see the module doc."""
    import pygltflib

    gltf = pygltflib.GLTF2(asset=pygltflib.Asset(version="2.0", generator=GENERATOR))
    buffer = BinaryBuffer(gltf)
    num_vertices = mesh.vertices.shape[0]
    index_type = np.uint16 if num_vertices <= np.iinfo(np.uint16).max else np.uint32
    colors = file_colors(mesh.colors)
    attributes = pygltflib.Attributes(
        POSITION=buffer.add(mesh.vertices.astype(np.float32), ARRAY_BUFFER, with_bounds=True),
        NORMAL=buffer.add(mesh.normals.astype(np.float32), ARRAY_BUFFER),
        COLOR_0=buffer.add(colors, ARRAY_BUFFER, normalized=True),
    )
    for influence_set in range(mesh.joints.shape[1] // INFLUENCES_PER_SET):
        columns = slice(
            influence_set * INFLUENCES_PER_SET, (influence_set + 1) * INFLUENCES_PER_SET
        )
        setattr(
            attributes,
            f"JOINTS_{influence_set}",
            buffer.add(mesh.joints[:, columns].astype(np.uint8), ARRAY_BUFFER),
        )
        setattr(
            attributes,
            f"WEIGHTS_{influence_set}",
            buffer.add(mesh.weights[:, columns].astype(np.float32), ARRAY_BUFFER),
        )
    indices = buffer.add(
        mesh.faces.reshape(-1).astype(index_type), ELEMENT_ARRAY_BUFFER, with_bounds=True
    )
    gltf.materials.append(
        pygltflib.Material(
            name=mesh.material,
            pbrMetallicRoughness=pygltflib.PbrMetallicRoughness(
                baseColorFactor=[1.0, 1.0, 1.0, 1.0], metallicFactor=0.0, roughnessFactor=ROUGHNESS
            ),
        )
    )
    gltf.meshes.append(
        pygltflib.Mesh(
            name=MESH_NODE_NAME,
            primitives=[pygltflib.Primitive(attributes=attributes, indices=indices, material=0)],
        )
    )

    gltf.nodes.extend(_skeleton_nodes(mesh.rest_joints))
    mesh_node = len(gltf.nodes)
    gltf.nodes.append(pygltflib.Node(name=MESH_NODE_NAME, mesh=0, skin=0))
    gltf.skins.append(
        pygltflib.Skin(
            name="smplx",
            skeleton=0,
            joints=list(range(layout.NUM_JOINTS)),
            inverseBindMatrices=buffer.add(  # glTF matrices are column-major
                inverse_bind_matrices(mesh.rest_joints)
                .transpose(0, 2, 1)
                .reshape(-1, MATRIX_ELEMENTS)
            ),
        )
    )
    scene_nodes = [0, mesh_node]
    if mesh.mouth is not None:
        mouth_mesh_index = add_mouth_mesh(
            gltf, buffer, mesh.mouth, 0, file_colors(mesh.mouth.colors)
        )
        scene_nodes.append(len(gltf.nodes))
        gltf.nodes.append(pygltflib.Node(name=MOUTH_NODE_NAME, mesh=mouth_mesh_index, skin=0))
    gltf.scenes.append(pygltflib.Scene(name="semges", nodes=scene_nodes))
    gltf.scene = 0

    times = buffer.add(
        (np.arange(motion.num_frames) / motion.fps).astype(np.float32), with_bounds=True
    )
    quats = local_quaternions(motion, mesh.hand_mean)
    samplers = [
        pygltflib.AnimationSampler(
            input=times,
            interpolation="LINEAR",
            output=buffer.add(root_positions(motion, mesh.rest_joints)),
        )
    ]
    channels = [
        pygltflib.AnimationChannel(
            sampler=0, target=pygltflib.AnimationChannelTarget(node=0, path="translation")
        )
    ]
    for joint in range(layout.NUM_JOINTS):
        samplers.append(
            pygltflib.AnimationSampler(
                input=times, interpolation="LINEAR", output=buffer.add(quats[:, joint])
            )
        )
        channels.append(
            pygltflib.AnimationChannel(
                sampler=len(samplers) - 1,
                target=pygltflib.AnimationChannelTarget(node=joint, path="rotation"),
            )
        )
    if mesh.mouth is not None:  # the mouth opens with the jaw, as the video draws it
        openness = mouth_openness(mouth_opening_degrees(motion.poses)).astype(np.float32)
        samplers.append(
            pygltflib.AnimationSampler(
                input=times, interpolation="LINEAR", output=buffer.add(openness)
            )
        )
        channels.append(
            pygltflib.AnimationChannel(
                sampler=len(samplers) - 1,
                target=pygltflib.AnimationChannelTarget(node=scene_nodes[-1], path="weights"),
            )
        )
    gltf.animations.append(
        pygltflib.Animation(
            name=ANIMATION_NAME,
            samplers=samplers,
            channels=channels,
            extras={
                "fps": motion.fps,
                "frames": motion.num_frames,
                "duration_s": motion.num_frames / motion.fps,
            },
        )
    )

    buffer.finish()
    return gltf


def write_glb(
    motion: MotionClip,
    path: str | os.PathLike,
    body: BodySpec = None,
    max_faces: int | None = None,
) -> Path:
    """Write ``motion`` on ``body`` as a binary glTF 2.0 file at ``path`` (atomically).

    body: as for the renderer: ``None`` (SMPL-X when ``$SEMGES_SMPLX_MODEL`` is set, else the
    mannequin), ``"mannequin"``, an SMPL-X model file, or a loaded ``BodyModel``.
    max_faces: the body's mesh simplified to at most this many triangles, for viewers that
    draw on the CPU (:mod:`semges.render.mesh_detail`); None: the whole mesh.
    Returns the path.
    """
    from semges.render.bodies import load_body
    from semges.render.mesh_detail import simplified_mesh

    if motion.num_frames < 1:
        raise ValueError("the motion has no frames")
    path = Path(path)
    mesh = skinned_mesh(load_body(body), motion.betas)
    if max_faces is not None:
        mesh = simplified_mesh(mesh, max_faces)
    gltf = build_gltf(motion, mesh)
    with atomic_output(path) as partial:
        gltf.save_binary(str(partial))
    return path
