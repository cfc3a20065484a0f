"""A lighter body: a :class:`~semges.render.gltf.SkinnedMesh` simplified to fewer triangles.

A browser that draws WebGL on the CPU (no GPU, or a blocked one) spends its frame skinning and
rasterising the body's vertices: the mannequin's 48,396 triangles cost 34 ms a frame in headless
chromium's SwiftShader on 2 cores, a quarter of them (12,000) 10 ms, and look the same at a
page's size (the Live page's body: ``webapp/live_page.py``). Resolution hardly matters there
(41 ms at full size, 35 at half), so the triangles are the cost to cut.

Quadric edge collapse (``fast-simplification``) reduces the bind-pose mesh; the collapses it
made are replayed to learn which original vertices each new one stands for, and the new
vertex takes their mean skin weights (then the strongest ``K`` joints, as many as the mesh
had), their mean colour and a normal of the new surface. The mannequin is made of separate
rigid pieces, and an edge collapse never joins two pieces, so a piece keeps its colour and its
bone.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from semges import layout

if TYPE_CHECKING:
    from semges.render.gltf import SkinnedMesh


def simplified_mesh(mesh: SkinnedMesh, max_faces: int) -> SkinnedMesh:
    """``mesh`` with at most ``max_faces`` triangles (itself when it has no more than that)."""
    import fast_simplification

    from semges.render.bodies.normals import VertexNormals
    from semges.render.gltf import top_influences

    if max_faces < 1:
        raise ValueError(f"max_faces must be positive (got {max_faces})")
    if mesh.faces.shape[0] <= max_faces:
        return mesh
    points = mesh.vertices.astype(np.float64)
    faces = mesh.faces.astype(np.int32)
    _, _, collapses = fast_simplification.simplify(
        points, faces, target_count=max_faces, return_collapses=True
    )
    new_points, new_faces, new_index = fast_simplification.replay_simplification(
        points, faces, collapses
    )
    kept = new_index >= 0  # vertices on no face are left out of the new mesh
    members = np.bincount(new_index[kept], minlength=new_points.shape[0]).astype(np.float64)
    members = np.maximum(members, 1.0)[:, None]

    def member_mean(values: np.ndarray) -> np.ndarray:
        total = np.zeros((new_points.shape[0], values.shape[1]))
        np.add.at(total, new_index[kept], values[kept])
        return total / members

    num_vertices = mesh.vertices.shape[0]
    dense = np.zeros((num_vertices, layout.NUM_JOINTS))
    np.add.at(dense, (np.arange(num_vertices)[:, None], mesh.joints.astype(np.int64)), mesh.weights)
    joints, weights = top_influences(member_mean(dense), max_influences=mesh.joints.shape[1])
    new_faces = new_faces.astype(np.uint32)
    normals = VertexNormals(new_faces, new_points.shape[0])(new_points)
    return dataclasses.replace(
        mesh,
        vertices=new_points.astype(np.float32),
        normals=normals.astype(np.float32),
        colors=member_mean(mesh.colors.astype(np.float64)).astype(np.float32),
        faces=new_faces,
        joints=joints,
        weights=weights,
    )
