"""The binary side of a glTF 2.0 file: numpy arrays appended as accessors to one buffer (a
GLB's BIN chunk). Shared by the body's ``.glb`` (:mod:`semges.render.gltf`) and the VRM
Animation's ``.vrma`` (:mod:`semges.render.vrma`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pygltflib

BUFFER_ALIGNMENT: int = 4  # bytes; every buffer view starts on a multiple of this
QUATERNION_DIM: int = 4  # x, y, z, w (glTF's order, scalar last)

# glTF enumerations (spec section 5): accessor component types and buffer view targets
FLOAT = 5126
UNSIGNED_BYTE = 5121
UNSIGNED_SHORT = 5123
UNSIGNED_INT = 5125
ARRAY_BUFFER = 34962
ELEMENT_ARRAY_BUFFER = 34963
ACCESSOR_TYPES: dict[int, str] = {1: "SCALAR", 3: "VEC3", 4: "VEC4", 16: "MAT4"}
COMPONENT_TYPES: dict[np.dtype, int] = {
    np.dtype(np.float32): FLOAT,
    np.dtype(np.uint8): UNSIGNED_BYTE,
    np.dtype(np.uint16): UNSIGNED_SHORT,
    np.dtype(np.uint32): UNSIGNED_INT,
}


class BinaryBuffer:
    """Accumulates accessors' data in one buffer (GLB's BIN chunk), 4-byte aligned."""

    def __init__(self, gltf: pygltflib.GLTF2) -> None:
        self.gltf = gltf
        self.data = bytearray()

    def add(
        self,
        array: np.ndarray,
        target: int | None = None,
        normalized: bool = False,
        with_bounds: bool = False,
    ) -> int:
        """Append ``array`` (N,) or (N, C) as one buffer view and accessor; its index."""
        import pygltflib

        array = np.ascontiguousarray(array)
        components = 1 if array.ndim == 1 else int(np.prod(array.shape[1:]))
        self.data.extend(b"\0" * (-len(self.data) % BUFFER_ALIGNMENT))
        self.gltf.bufferViews.append(
            pygltflib.BufferView(
                buffer=0, byteOffset=len(self.data), byteLength=array.nbytes, target=target
            )
        )
        self.data.extend(array.tobytes())
        flat = array.reshape(array.shape[0], components)
        bounds = {}
        if with_bounds:
            bounds = {"min": flat.min(axis=0).tolist(), "max": flat.max(axis=0).tolist()}
        self.gltf.accessors.append(
            pygltflib.Accessor(
                bufferView=len(self.gltf.bufferViews) - 1,
                byteOffset=0,
                componentType=COMPONENT_TYPES[array.dtype],
                normalized=normalized or None,
                count=array.shape[0],
                type=ACCESSOR_TYPES[components],
                **bounds,
            )
        )
        return len(self.gltf.accessors) - 1

    def finish(self) -> None:
        """Declare the buffer and attach its bytes to the document (call once, at the end)."""
        import pygltflib

        self.gltf.buffers.append(pygltflib.Buffer(byteLength=len(self.data)))
        self.gltf.set_binary_blob(bytes(self.data))
