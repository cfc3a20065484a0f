"""Offscreen frames of one body with pyrender: soft lights, plain background, optional floor.

The scene is built once per (body, picture size); each frame only rewrites the body's vertex
buffer (positions and normals, in place with ``glBufferSubData``) and draws. Nothing here picks
the OpenGL platform: call :func:`semges.render.gl_platform.configure_headless_gl` first (the
:class:`semges.render.VideoRenderer` does).

pyrender internals used, each with a public fallback: ``Primitive._buffers`` (the vertex buffer
to update in place; else the mesh is re-added each frame) and ``OffscreenRenderer._renderer``
(to read only the colour buffer on OSMesa, skipping the depth read-back pyrender always does)
and ``Renderer._program_cache`` (to use the light shaders in ``semges/render/shaders``: matte
diffuse light, about 2.5x faster than pyrender's PBR shader under software rasterisation,
compiled once instead of every frame; without it pyrender's own shader draws, somewhat darker).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from semges.render.framing import CameraSetup

logger = logging.getLogger(__name__)

SHADER_DIR: Path = Path(__file__).resolve().parent / "shaders"
BACKGROUND_RGB: tuple[float, float, float] = (0.93, 0.93, 0.94)
FLOOR_RGB: tuple[float, float, float] = (0.74, 0.74, 0.76)
SHADOW_RGB: tuple[float, float, float] = (0.45, 0.45, 0.47)
AMBIENT_INTENSITY: float = 0.5
ROUGHNESS: float = 0.8  # only read by pyrender's PBR shader (the fallback)
# Directional lights given in camera axes (x right, y up, z towards the viewer): the direction
# each light comes from, and its intensity (linear, for the matte shader). A key from the upper
# left, a fill from the right, a rim from behind for separation from the background.
CAMERA_LIGHTS: tuple[tuple[tuple[float, float, float], float], ...] = (
    ((-0.7, 0.8, 0.8), 0.6),
    ((0.9, 0.2, 0.6), 0.22),
    ((0.3, 0.5, -1.0), 0.3),
)
FLOOR_HALF_SIZE_M: float = 25.0
SHADOW_RADIUS_M: float = 0.45
SHADOW_RINGS: int = 12
SHADOW_SEGMENTS: int = 48
SHADOW_LIFT_M: float = 0.002  # above the floor, against depth fighting
_POSITION_AND_NORMAL: int = 6
_RGBA: int = 4


@dataclass(frozen=True)
class RawFormat:
    """Pixel layout of raw frames: ffmpeg's ``pix_fmt`` name, and whether rows run bottom-up
    (OpenGL's order, which ffmpeg's ``vflip`` undoes for free)."""

    pix_fmt: str  # "rgba" or "rgb24"
    bottom_up: bool

    @property
    def channels(self) -> int:
        return _RGBA if self.pix_fmt == "rgba" else 3

    def to_rgb(self, data: bytes, size: tuple[int, int]) -> np.ndarray:
        """Raw bytes -> (H, W, 3) uint8 RGB, top row first."""
        width, height = size
        image = np.frombuffer(data, np.uint8).reshape(height, width, self.channels)[..., :3]
        return np.ascontiguousarray(image[::-1] if self.bottom_up else image)


def _light_pose(
    camera_rotation: np.ndarray, toward_light: tuple[float, float, float]
) -> np.ndarray:
    """(4, 4) pose of a directional light shining along -z, from ``toward_light`` (camera axes)."""
    z_axis = camera_rotation @ (np.asarray(toward_light) / np.linalg.norm(toward_light))
    helper = np.array([0.0, 1.0, 0.0]) if abs(z_axis[1]) < 0.9 else np.array([1.0, 0.0, 0.0])
    x_axis = np.cross(helper, z_axis)
    x_axis /= np.linalg.norm(x_axis)
    pose = np.eye(4)
    pose[:3, :3] = np.stack([x_axis, np.cross(z_axis, x_axis), z_axis], axis=1)
    return pose


def _shadow_disc() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A flat disc in the xz plane fading from SHADOW_RGB at its centre to FLOOR_RGB at its rim.

    Returns positions (N, 3), RGBA colours (N, 4) and faces (F, 3), counter-clockwise seen from
    above (+y). Drawn opaque over the plain floor, it looks like a soft contact shadow without
    blending or a shadow-map pass.
    """
    radii = np.linspace(0.0, 1.0, SHADOW_RINGS + 1)[1:]
    angles = np.linspace(0.0, 2.0 * math.pi, SHADOW_SEGMENTS, endpoint=False)
    ring_x = np.outer(radii, np.cos(angles)).reshape(-1)
    ring_z = np.outer(radii, -np.sin(angles)).reshape(-1)
    positions = np.zeros((1 + ring_x.size, 3), np.float32)
    positions[1:, 0] = ring_x * SHADOW_RADIUS_M
    positions[1:, 2] = ring_z * SHADOW_RADIUS_M
    fade = np.concatenate([[0.0], np.repeat(radii, SHADOW_SEGMENTS)])
    darkness = (1.0 - fade) ** 2  # smooth towards the rim
    colors = np.ones((positions.shape[0], _RGBA), np.float32)
    shade = darkness[:, None]
    colors[:, :3] = shade * np.asarray(SHADOW_RGB) + (1.0 - shade) * np.asarray(FLOOR_RGB)

    def ring(r: int, s: int) -> int:  # vertex index of ring r (0 innermost), segment s
        return 1 + r * SHADOW_SEGMENTS + s % SHADOW_SEGMENTS

    faces = []
    for s in range(SHADOW_SEGMENTS):
        faces.append((0, ring(0, s), ring(0, s + 1)))
        for r in range(SHADOW_RINGS - 1):
            faces.append((ring(r, s), ring(r + 1, s), ring(r + 1, s + 1)))
            faces.append((ring(r, s), ring(r + 1, s + 1), ring(r, s + 1)))
    return positions, colors, np.asarray(faces, np.uint32)


def _single_context_cache(shader_dir: str) -> object:
    """A pyrender shader cache that compiles each program once.

    pyrender keys its cache on ``OpenGL.contextdata.getContext()``, which under OSMesa returns
    a new, unequal pointer object on every call: every frame then compiles and links the
    shaders again (about 5 ms, and the old programs are never freed). Each FrameRenderer owns
    one context and one cache, so the context can be left out of the key.
    """
    from pyrender.shader_program import ShaderProgramCache

    class SingleContextShaderCache(ShaderProgramCache):
        def __init__(self) -> None:
            super().__init__(shader_dir=shader_dir)
            self._by_source: dict[tuple, object] = {}

        def get_program(self, vertex_shader, fragment_shader, geometry_shader=None, defines=None):
            key = (
                vertex_shader,
                fragment_shader,
                geometry_shader,
                tuple(sorted((defines or {}).items())),
            )
            if key not in self._by_source:
                self._by_source[key] = super().get_program(
                    vertex_shader, fragment_shader, geometry_shader, defines
                )
            return self._by_source[key]

        def clear(self) -> None:
            super().clear()
            self._by_source = {}

    return SingleContextShaderCache()


class FrameRenderer:
    """Draws one body mesh into ``size`` = (width, height) RGB frames.

    faces: (F, 3) triangle indices; vertex_colors: (V, 4) RGBA in [0, 1].
    Not thread-safe: use one instance per thread or process.
    """

    def __init__(self, faces: np.ndarray, vertex_colors: np.ndarray, size: tuple[int, int]) -> None:
        import pyrender

        self._pyrender = pyrender
        self.size = size
        width, height = size
        num_vertices = vertex_colors.shape[0]
        self._renderer = pyrender.OffscreenRenderer(width, height)
        self._use_light_shaders()
        self._scene = pyrender.Scene(
            bg_color=[*BACKGROUND_RGB, 1.0], ambient_light=[AMBIENT_INTENSITY] * 3
        )
        self._material = pyrender.MetallicRoughnessMaterial(
            baseColorFactor=[1.0, 1.0, 1.0, 1.0], metallicFactor=0.0, roughnessFactor=ROUGHNESS
        )
        self._faces = np.ascontiguousarray(faces, np.uint32)
        self._colors = np.ascontiguousarray(vertex_colors, np.float32)
        # Interleaved as pyrender lays out the vertex buffer: position, normal, colour.
        self._interleaved = np.zeros((num_vertices, _POSITION_AND_NORMAL + _RGBA), np.float32)
        self._interleaved[:, _POSITION_AND_NORMAL:] = self._colors
        up = np.tile([0.0, 1.0, 0.0], (num_vertices, 1))
        self._body_node = self._scene.add(self._body_mesh(np.zeros((num_vertices, 3)), up))
        self._in_place = True
        self._drawn = False
        self._camera_node = None
        self._light_nodes: list[object] = []
        self._floor_nodes: list[object] = []
        self._shadow_node = None

    def _use_light_shaders(self) -> None:
        inner = getattr(self._renderer, "_renderer", None)
        if inner is None or not hasattr(inner, "_program_cache"):
            logger.warning("pyrender internals changed; drawing with its PBR shader (slower)")
            return
        inner._program_cache.clear()
        inner._program_cache = _single_context_cache(str(SHADER_DIR))

    def _body_mesh(self, vertices: np.ndarray, normals: np.ndarray) -> object:
        primitive = self._pyrender.Primitive(
            positions=vertices,
            normals=normals,
            color_0=self._colors,
            indices=self._faces,
            material=self._material,
        )
        return self._pyrender.Mesh([primitive])

    def set_view(self, camera: CameraSetup, floor_y: float | None) -> None:
        """Place the camera and lights; draw a floor at height ``floor_y`` (metres) unless None."""
        pyrender = self._pyrender
        for node in [self._camera_node, *self._light_nodes, *self._floor_nodes]:
            if node is not None:
                self._scene.remove_node(node)
        self._floor_nodes, self._shadow_node = [], None
        self._camera_node = self._scene.add(
            pyrender.PerspectiveCamera(
                yfov=camera.yfov, aspectRatio=camera.aspect, znear=camera.znear, zfar=camera.zfar
            ),
            pose=camera.pose,
        )
        rotation = camera.pose[:3, :3]
        self._light_nodes = [
            self._scene.add(
                pyrender.DirectionalLight(color=np.ones(3), intensity=intensity),
                pose=_light_pose(rotation, toward),
            )
            for toward, intensity in CAMERA_LIGHTS
        ]
        if floor_y is not None:
            self._add_floor(floor_y)

    def _add_floor(self, floor_y: float) -> None:
        pyrender = self._pyrender
        half = FLOOR_HALF_SIZE_M
        corners = np.array(
            [[-half, 0, -half], [-half, 0, half], [half, 0, half], [half, 0, -half]], np.float32
        )
        floor = pyrender.Primitive(
            positions=corners,
            normals=np.tile([0.0, 1.0, 0.0], (4, 1)),
            color_0=np.tile([*FLOOR_RGB, 1.0], (4, 1)),
            indices=np.array([[0, 1, 2], [0, 2, 3]]),
            material=self._material,
        )
        floor_pose = np.eye(4)
        floor_pose[1, 3] = floor_y
        self._floor_nodes.append(self._scene.add(pyrender.Mesh([floor]), pose=floor_pose))
        positions, colors, faces = _shadow_disc()
        disc = pyrender.Primitive(
            positions=positions,
            normals=np.tile([0.0, 1.0, 0.0], (len(positions), 1)),
            color_0=colors,
            indices=faces,
            material=self._material,
        )
        disc_pose = np.eye(4)  # a separate array: pyrender keeps a reference to the pose
        disc_pose[1, 3] = floor_y + SHADOW_LIFT_M
        self._shadow_node = self._scene.add(pyrender.Mesh([disc]), pose=disc_pose)
        self._floor_nodes.append(self._shadow_node)

    def _upload(self, vertices: np.ndarray, normals: np.ndarray) -> None:
        """Rewrite the body's vertex buffer; (V, 3) float32 positions and normals."""
        primitive = self._body_node.mesh.primitives[0]
        buffers = getattr(primitive, "_buffers", None)
        if self._drawn and self._in_place and buffers:
            from OpenGL import GL

            self._interleaved[:, :3] = vertices
            self._interleaved[:, 3:_POSITION_AND_NORMAL] = normals
            self._renderer._platform.make_current()
            GL.glBindBuffer(GL.GL_ARRAY_BUFFER, buffers[0])
            GL.glBufferSubData(GL.GL_ARRAY_BUFFER, 0, self._interleaved.nbytes, self._interleaved)
            GL.glBindBuffer(GL.GL_ARRAY_BUFFER, 0)
            return
        if self._drawn and self._in_place:
            self._in_place = False
            logger.warning("pyrender has no Primitive._buffers; re-adding the mesh every frame")
        self._scene.remove_node(self._body_node)
        self._body_node = self._scene.add(self._body_mesh(vertices, normals))

    @property
    def raw_format(self) -> RawFormat:
        """How :meth:`render_raw` lays out its bytes."""
        if self._reads_front_buffer():
            return RawFormat(pix_fmt="rgba", bottom_up=True)
        return RawFormat(pix_fmt="rgb24", bottom_up=False)

    def _reads_front_buffer(self) -> bool:
        platform = self._renderer._platform
        return not platform.supports_framebuffers() and hasattr(self._renderer, "_renderer")

    def render_raw(
        self,
        vertices: np.ndarray,
        normals: np.ndarray,
        shadow_center: tuple[float, float] | None = None,
    ) -> bytes:
        """One frame as bytes in :attr:`raw_format`, the cheapest layout to read back.

        vertices, normals: (V, 3) world positions (metres) and unit normals.
        shadow_center: (x, z) in metres under which the contact shadow sits (floor views only).
        """
        if self._camera_node is None:
            raise RuntimeError("call set_view() before render()")
        self._upload(np.asarray(vertices, np.float32), np.asarray(normals, np.float32))
        if self._shadow_node is not None and shadow_center is not None:
            pose = self._scene.get_pose(self._shadow_node).copy()
            pose[0, 3], pose[2, 3] = shadow_center
            self._scene.set_pose(self._shadow_node, pose)
        data = self._draw()
        self._drawn = True
        return data

    def render(
        self,
        vertices: np.ndarray,
        normals: np.ndarray,
        shadow_center: tuple[float, float] | None = None,
    ) -> np.ndarray:
        """One frame as an (H, W, 3) uint8 RGB picture, top row first (see :meth:`render_raw`)."""
        return self.raw_format.to_rgb(self.render_raw(vertices, normals, shadow_center), self.size)

    def _draw(self) -> bytes:
        renderer = self._renderer
        if not self._reads_front_buffer():
            color, _ = renderer.render(self._scene)
            return np.ascontiguousarray(color).tobytes()
        # OSMesa: pyrender draws into the context's own buffer; read the colour straight
        # from it, in its native RGBA and row order (no depth read-back, no conversion).
        from OpenGL import GL

        renderer._platform.make_current()
        renderer._renderer.render(self._scene, self._pyrender.RenderFlags.NONE)
        width, height = self.size
        GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, 0)
        GL.glReadBuffer(GL.GL_FRONT)
        GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 1)
        return GL.glReadPixels(0, 0, width, height, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE)

    def close(self) -> None:
        """Free the OpenGL context. The instance cannot render afterwards."""
        if self._renderer is not None:
            self._renderer.delete()
            self._renderer = None

    def __enter__(self) -> FrameRenderer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
