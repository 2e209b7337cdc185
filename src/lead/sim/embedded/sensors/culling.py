"""Spatial chunks of the static mesh for the cameras. A CPU rasteriser pays for every
triangle it is given (about 0.3 us each with llvmpipe, visible or not), so each camera draws
only the chunks inside its frustum, nearest first (the depth test then rejects hidden
fragments before shading), and small detail (lane markings, poles, trunks) only nearby,
where it covers more than a pixel or so."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .meshes import Mesh


@dataclass
class Chunks:
    triangles: np.ndarray  # (M, 3) uint32, the mesh's triangles reordered chunk by chunk
    first: np.ndarray      # (C,) index of each chunk's first triangle in `triangles`
    count: np.ndarray      # (C,) triangles per chunk
    lo: np.ndarray         # (C, 3) chunk bounds
    hi: np.ndarray
    large: np.ndarray      # (C,) bool: triangles wider than a cell (ground, long kerbs)
    detail: np.ndarray     # (C,) bool: triangles smaller than the detail area


def build_chunks(mesh: Mesh, cell: float = 32.0, detail_area: float = 0.5) -> Chunks:
    """Group triangles by the ground-grid cell of their centroid, apart by size: wider than a
    cell (so they do not bloat their cell's bounds) and smaller than `detail_area` m^2."""
    v = mesh.vertices[mesh.triangles].astype(np.float64)  # (M, 3, 3)
    tlo, thi = v.min(axis=1), v.max(axis=1)
    large = np.max(thi[:, :2] - tlo[:, :2], axis=1) > cell
    area = 0.5 * np.linalg.norm(np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0]), axis=1)
    detail = area < detail_area
    key = np.floor(v.mean(axis=1)[:, :2] / cell).astype(np.int64)
    # stable sort: the mesh's own order survives inside a chunk
    order = np.lexsort((key[:, 1], key[:, 0], detail, large))
    k = np.column_stack([large[order], detail[order], key[order]])
    starts = np.flatnonzero(np.concatenate([[True], np.any(k[1:] != k[:-1], axis=1)]))
    counts = np.diff(np.append(starts, len(order)))
    lo = np.minimum.reduceat(tlo[order], starts, axis=0)
    hi = np.maximum.reduceat(thi[order], starts, axis=0)
    return Chunks(mesh.triangles[order], starts, counts, lo, hi, large[order][starts], detail[order][starts])


def frustum_planes(clip_from_world: np.ndarray) -> np.ndarray:
    """(6, 4) planes (a, b, c, d), inside where a x + b y + c z + d >= 0, of a 4x4 clip matrix."""
    m = np.asarray(clip_from_world, dtype=np.float64)
    planes = np.array([m[3] + m[0], m[3] - m[0], m[3] + m[1], m[3] - m[1], m[3] + m[2], m[3] - m[2]])
    return planes / np.linalg.norm(planes[:, :3], axis=1, keepdims=True)


def visible_chunks(chunks: Chunks, planes: np.ndarray, eye: np.ndarray, detail_distance: float) -> np.ndarray:
    """Indices of the chunks to draw, nearest first and the large ones last: those touching the
    frustum, detail ones only within detail_distance."""
    n = planes[:, :3]
    far_corner = np.where(n[None] > 0, chunks.hi[:, None], chunks.lo[:, None])  # (C, 6, 3)
    inside = np.all(np.einsum("cpk,pk->cp", far_corner, n) + planes[:, 3] >= 0, axis=1)
    dist = np.linalg.norm(np.clip(eye, chunks.lo, chunks.hi) - eye, axis=1)
    idx = np.flatnonzero(inside & (~chunks.detail | (dist <= detail_distance)))
    return idx[np.lexsort((dist[idx], chunks.large[idx]))]


def spheres_visible(centers: np.ndarray, radii: np.ndarray, planes: np.ndarray) -> np.ndarray:
    """Mask of the bounding spheres (K, 3), (K,) that touch the frustum."""
    return np.all(centers @ planes[:, :3].T + planes[:, 3] >= -radii[:, None], axis=1)
