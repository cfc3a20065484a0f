"""glTF export: the file read back by independent means (pygltflib's JSON with numpy on the raw
accessor bytes, and trimesh), and the mesh skinned from the file's own data against the
renderer's posed vertices."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
import trimesh
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation
from test_render_bodies import write_fake_smplx

from semges import layout
from semges.motion import MotionClip, load_motion
from semges.render.bodies.mannequin_body import MannequinBody
from semges.render.bodies.smplx_body import SmplxBody
from semges.render.gltf import write_glb

DATA = Path(__file__).parent / "data"
NUM_FRAMES = 45
CHECKED_FRAMES = (0, 17, NUM_FRAMES - 1)
TOLERANCE_M = 1e-3
SURFACE_SAMPLES = 300_000  # points on the posed body: about 2 mm apart
SIMPLIFIED_OFF_SURFACE_M = 0.01  # measured: 5.5 mm at a quarter of the triangles
SIMPLIFIED_GAP_M = 0.05  # measured: 4.6 cm (a finger is 8 cm long)
GLB_MAGIC = b"glTF"
_DTYPES = {
    5120: np.int8,
    5121: np.uint8,
    5122: np.int16,
    5123: np.uint16,
    5125: np.uint32,
    5126: np.float32,
}
_WIDTHS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}


@pytest.fixture(scope="module")
def clip() -> MotionClip:
    """BEAT2 frames with extra rotation on every joint (jaw and eyes too) and a walk."""
    beat2 = load_motion(DATA / "2_scott_0_1_1.npz")
    rng = np.random.default_rng(3)
    poses = beat2.poses[300 : 300 + NUM_FRAMES] + rng.normal(0, 0.25, (NUM_FRAMES, layout.POSE_DIM))
    trans = beat2.trans[300 : 300 + NUM_FRAMES] + np.linspace(0, 0.4, NUM_FRAMES)[:, None]
    return MotionClip(poses.astype(np.float32), trans.astype(np.float32), beat2.betas)


class GlbFile:
    """A .glb read with pygltflib's JSON model and numpy on the raw BIN chunk."""

    def __init__(self, path: Path) -> None:
        import pygltflib

        raw = path.read_bytes()
        magic, version, length = struct.unpack_from("<4sII", raw)
        assert (magic, version, length) == (GLB_MAGIC, 2, len(raw))
        self.gltf = pygltflib.GLTF2.load_binary(str(path))
        self.blob = self.gltf.binary_blob()
        self.json = json.loads(self.gltf.to_json())

    def accessor(self, index: int) -> np.ndarray:
        accessor = self.gltf.accessors[index]
        view = self.gltf.bufferViews[accessor.bufferView]
        width = _WIDTHS[accessor.type]
        data = np.frombuffer(
            self.blob,
            _DTYPES[accessor.componentType],
            accessor.count * width,
            view.byteOffset + (accessor.byteOffset or 0),
        )
        data = data.reshape(accessor.count, width)
        if accessor.normalized:
            data = data / np.iinfo(data.dtype).max
        return data

    def node_names(self) -> list[str]:
        return [node.name for node in self.gltf.nodes]

    def skinned_vertices(self, frame: int, mesh: int = 0) -> np.ndarray:
        """(V, 3) mesh ``mesh`` at keyframe ``frame``: its morph targets blended by the
        animated weights, then world joint matrices from the node TRS and the animation, times
        the inverse bind matrices, blended by the skin weights."""
        gltf = self.gltf
        skin = gltf.skins[0]
        local = {}
        for index, node in enumerate(gltf.nodes):
            translation = np.asarray(node.translation or [0.0, 0.0, 0.0])
            rotation = np.asarray(node.rotation or [0.0, 0.0, 0.0, 1.0])
            local[index] = [translation, rotation]
        animation = gltf.animations[0]
        morph_weights = np.asarray(gltf.meshes[mesh].weights or [], np.float64)
        for channel in animation.channels:
            output = self.accessor(animation.samplers[channel.sampler].output)
            if channel.target.path == "weights":
                if gltf.nodes[channel.target.node].mesh == mesh:
                    morph_weights = output.reshape(-1, len(morph_weights))[frame]
                continue
            slot = 0 if channel.target.path == "translation" else 1
            local[channel.target.node][slot] = output[frame]
        parent = {
            child: index for index, node in enumerate(gltf.nodes) for child in node.children or []
        }
        world: dict[int, np.ndarray] = {}

        def world_matrix(index: int) -> np.ndarray:
            if index not in world:
                matrix = np.eye(4)
                matrix[:3, :3] = Rotation.from_quat(local[index][1]).as_matrix()
                matrix[:3, 3] = local[index][0]
                world[index] = world_matrix(parent[index]) @ matrix if index in parent else matrix
            return world[index]

        inverse_bind = (
            self.accessor(skin.inverseBindMatrices).reshape(-1, 4, 4).transpose(0, 2, 1)
        )  # column-major in the file
        joint_matrices = np.stack(
            [world_matrix(node) @ inverse_bind[k] for k, node in enumerate(skin.joints)]
        )
        primitive = gltf.meshes[mesh].primitives[0]
        positions = self.accessor(primitive.attributes.POSITION).astype(np.float64)
        for weight, target in zip(morph_weights, primitive.targets or []):
            target = target if isinstance(target, dict) else target.__dict__  # as loaded
            positions = positions + weight * self.accessor(target["POSITION"])
        homogeneous = np.concatenate([positions, np.ones((len(positions), 1))], axis=1)
        result = np.zeros_like(positions)
        for influence in range(2):
            joints_accessor = getattr(primitive.attributes, f"JOINTS_{influence}", None)
            if joints_accessor is None:
                continue
            joints = self.accessor(joints_accessor).astype(np.int64)
            weights = self.accessor(getattr(primitive.attributes, f"WEIGHTS_{influence}"))
            for k in range(joints.shape[1]):
                moved = np.einsum("vij,vj->vi", joint_matrices[joints[:, k]], homogeneous)
                result += weights[:, k : k + 1] * moved[:, :3]
        return result


def check_against_body(glb: GlbFile, body, clip: MotionClip) -> None:
    for frame in CHECKED_FRAMES:
        expected = body.pose(clip, frame, frame + 1).vertices[0]
        got = glb.skinned_vertices(frame)
        assert np.abs(got - expected).max() < TOLERANCE_M, frame


def test_skeleton_animation_and_timing(clip, tmp_path):
    glb = GlbFile(write_glb(clip, tmp_path / "talk.glb", body="mannequin"))
    skin = glb.gltf.skins[0]
    names = glb.node_names()
    assert [names[node] for node in skin.joints] == list(layout.JOINT_NAMES)
    assert len(skin.joints) == layout.NUM_JOINTS
    for joint, parent in enumerate(layout.PARENTS):
        children = glb.gltf.nodes[skin.joints[joint]].children or []
        assert sorted(children) == [c for c, p in enumerate(layout.PARENTS) if p == joint]
        assert parent >= 0 or joint == glb.gltf.scenes[0].nodes[0]
    (animation,) = glb.gltf.animations
    rotated = {c.target.node for c in animation.channels if c.target.path == "rotation"}
    moved = [c.target.node for c in animation.channels if c.target.path == "translation"]
    assert rotated == set(skin.joints) and moved == [skin.joints[0]]
    for sampler in animation.samplers:
        times = glb.accessor(sampler.input)[:, 0]
        assert times.shape == (clip.num_frames,)  # one keyframe per motion frame
        np.testing.assert_allclose(times, np.arange(clip.num_frames) / layout.FPS, atol=1e-6)
        assert glb.accessor(sampler.output).shape[0] == clip.num_frames
    extras = glb.json["animations"][0]["extras"]
    assert extras["frames"] == clip.num_frames and extras["fps"] == layout.FPS
    assert extras["duration_s"] == pytest.approx(clip.num_frames / layout.FPS)
    assert times[-1] + 1 / layout.FPS == pytest.approx(extras["duration_s"], abs=1e-6)
    jaw = glb.accessor(
        next(
            s.output
            for s, c in zip(animation.samplers, animation.channels)
            if c.target.node == skin.joints[layout.JAW.joints[0]]
        )
    )
    expected = Rotation.from_rotvec(clip.poses[:, layout.pose_columns(layout.JAW.joints)])
    angle = (Rotation.from_quat(jaw).inv() * expected).magnitude()
    assert angle.max() < 1e-5  # the jaw rotation travels as it is


def test_mannequin_skinned_from_the_file_matches_the_renderer(clip, tmp_path):
    body = MannequinBody()
    glb = GlbFile(write_glb(clip, tmp_path / "mannequin.glb", body=body))
    check_against_body(glb, body, clip)
    primitive = glb.gltf.meshes[0].primitives[0]
    weights = glb.accessor(primitive.attributes.WEIGHTS_0)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-6)
    colors = glb.accessor(primitive.attributes.COLOR_0)  # linear light, as glTF defines it
    srgb = np.where(colors <= 0.0031308, 12.92 * colors, 1.055 * colors ** (1 / 2.4) - 0.055)
    np.testing.assert_allclose(srgb[:, :3], body.vertex_colors[:, :3], atol=0.02)
    np.testing.assert_allclose(colors[:, 3], body.vertex_colors[:, 3], atol=1 / 255)


def test_smplx_mesh_skinned_from_the_file_matches_the_renderer(clip, tmp_path):
    """The generated model file has no pose correctives; expressions are not in a glTF file,
    so they are zero here. Its balls are skinned to every joint, the jaw's included."""
    body = SmplxBody(write_fake_smplx(tmp_path / "SMPLX_NEUTRAL_2020.npz"))
    glb = GlbFile(write_glb(clip, tmp_path / "smplx.glb", body=body))
    assert (
        glb.accessor(glb.gltf.meshes[0].primitives[0].attributes.POSITION).shape[0]
        == body.num_vertices
    )
    check_against_body(glb, body, clip)


def test_mannequin_mouth_opens_in_the_file_as_the_renderer_draws_it(clip, tmp_path):
    """The mouth mesh, skinned and morphed from the file's data, is the video's mouth; its
    morph weight follows the jaw (0 closed, 1 at its widest). Neutral shape: a shaped video
    mouth rides on the figure's own head joint, which sits a few millimetres from the
    skeleton's calibrated one the file binds to."""
    clip = MotionClip(clip.poses, clip.trans)
    body = MannequinBody().with_face()
    glb = GlbFile(write_glb(clip, tmp_path / "mouth.glb", body=body))
    mouth_mesh = next(i for i, m in enumerate(glb.gltf.meshes) if m.name == "mouth")
    figure_vertices = glb.accessor(glb.gltf.meshes[0].primitives[0].attributes.POSITION).shape[0]
    (animation,) = glb.gltf.animations
    (weights,) = [
        glb.accessor(s.output)[:, 0]
        for s, c in zip(animation.samplers, animation.channels)
        if c.target.path == "weights"
    ]
    assert weights.min() == 0.0 and weights.max() == 1.0 and ((weights > 0) & (weights < 1)).any()
    for frame in (*CHECKED_FRAMES, int(np.argmax((weights > 0.2) & (weights < 0.8)))):
        expected = body.pose(clip, frame, frame + 1).vertices[0][figure_vertices:]
        got = glb.skinned_vertices(frame, mouth_mesh)
        assert np.abs(got - expected).max() < TOLERANCE_M, frame


def test_trimesh_opens_it_and_the_write_is_atomic(clip, tmp_path):
    """The figure and its mouth, also from the body the video draws with a mouth."""
    figure = MannequinBody()
    path = write_glb(clip, tmp_path / "out" / "talk.glb", body=figure.with_face())
    scene = trimesh.load(path)
    faces = sorted(len(geometry.faces) for geometry in scene.geometry.values())
    assert faces == sorted([len(figure.faces), len(figure.with_face().mouth.faces)])
    assert sorted(p.name for p in path.parent.iterdir()) == ["talk.glb"]


def test_a_simplified_body_keeps_its_shape_and_skin(clip, tmp_path):
    """``max_faces``: a quarter of the triangles, skinned from the file's own data, lies on the
    whole body's posed surface (which the pose noise of ``clip`` bends at every joint), and
    leaves no piece of it out."""
    body = MannequinBody()
    max_faces = len(body.faces) // 4
    glb = GlbFile(write_glb(clip, tmp_path / "light.glb", body=body, max_faces=max_faces))
    primitive = glb.gltf.meshes[0].primitives[0]
    assert glb.gltf.accessors[primitive.indices].count // 3 <= max_faces
    assert getattr(primitive.attributes, "JOINTS_1", None) is None  # four joints, as the body
    np.testing.assert_allclose(
        glb.accessor(primitive.attributes.WEIGHTS_0).sum(axis=1), 1.0, atol=1e-6
    )
    for frame in CHECKED_FRAMES:
        posed = body.pose(clip, frame, frame + 1).vertices[0]
        surface = trimesh.Trimesh(posed, body.faces, process=False)
        samples, _ = trimesh.sample.sample_surface(surface, SURFACE_SAMPLES, seed=frame)
        light = glb.skinned_vertices(frame)
        off_surface = cKDTree(np.concatenate([samples, posed])).query(light)[0]
        assert off_surface.max() < SIMPLIFIED_OFF_SURFACE_M, (frame, off_surface.max())
        uncovered = cKDTree(light).query(posed)[0]
        assert uncovered.max() < SIMPLIFIED_GAP_M, (frame, uncovered.max())


def test_a_simplified_body_is_the_body_when_it_has_fewer_faces(clip, tmp_path):
    body = MannequinBody()
    whole = GlbFile(write_glb(clip, tmp_path / "light.glb", body=body, max_faces=len(body.faces)))
    check_against_body(whole, body, clip)
    with pytest.raises(ValueError, match="max_faces must be positive"):
        write_glb(clip, tmp_path / "none.glb", body=body, max_faces=0)
    assert not (tmp_path / "none.glb").exists()


def test_the_command_lines_write_glb(tmp_path):
    """``python -m semges.render MOTION -o OUT.glb`` picks glTF by extension; ``python -m semges
    generate --glb`` writes NAME.glb through the same export."""
    from semges.export import export
    from semges.render.__main__ import main

    clip = load_motion(DATA / "2_scott_0_1_1.npz")
    short = MotionClip(clip.poses[:12], clip.trans[:12], clip.betas)
    motion_path = tmp_path / "motion.npz"
    from semges.motion import save_motion

    save_motion(short, motion_path)
    assert main([str(motion_path), "-o", str(tmp_path / "cli.glb"), "-q"]) == 0
    light = tmp_path / "light.glb"
    assert main([str(motion_path), "-o", str(light), "--max-faces", "5000", "-q"]) == 0
    exported = export(short, "glb", tmp_path / "export.glb")
    for path in (tmp_path / "cli.glb", light, exported):
        (animation,) = GlbFile(path).gltf.animations
        assert GlbFile(path).accessor(animation.samplers[0].input).shape[0] == 12
    light_file = GlbFile(light)
    (primitive,) = light_file.gltf.meshes[0].primitives
    assert light_file.gltf.accessors[primitive.indices].count // 3 <= 5000
    for wrong in (["--max-faces", "0"], ["--max-faces", "5000", "--bvh"]):
        with pytest.raises(SystemExit):
            main([str(motion_path), "-o", str(tmp_path / "wrong.bvh"), *wrong, "-q"])
