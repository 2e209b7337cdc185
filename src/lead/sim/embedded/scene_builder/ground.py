"""The ground between the roads: the paved raster, small holes inside junctions filled,
grass plots, and the far ground plane."""
from __future__ import annotations

import cv2
import numpy as np

from lead.sim.embedded.sensors import Mesh, SemanticClass

from . import params as P
from .grid import GroundGrid, GroundHeight, dilate, erode, mask_rects

_HOLE_MAX_RADIUS = 4.0   # m: enclosed unpaved spots thinner than this are gaps, not islands


def fill_small_holes(grid: GroundGrid, road: np.ndarray, walk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unpaved spots enclosed by pavement and thin (a junction's gaps between its lanes, a
    sliver between two sidewalks): masks of those to pave as road and as sidewalk, each spot
    by the pavement that borders most of it. (OpenCV's labelling and morphology: fast on the
    tens of millions of cells of a large map.)"""
    paved = road | walk
    n, labels, stats, _ = cv2.connectedComponentsWithStats((~paved).astype(np.uint8), connectivity=4)
    fill_road, fill_walk = grid.zeros(bool), grid.zeros(bool)
    if n <= 1:
        return fill_road, fill_walk
    x, y, w, h = stats[:, 0], stats[:, 1], stats[:, 2], stats[:, 3]
    ny, nx = paved.shape
    enclosed = (x > 0) & (y > 0) & (x + w < nx) & (y + h < ny)   # touches no edge of the raster
    enclosed[0] = False                                           # label 0 is the pavement
    r = int(np.ceil(_HOLE_MAX_RADIUS / grid.cell))
    if not enclosed.any():
        return fill_road, fill_walk
    # a spot with room for a disc of the radius is an island or a block, not a gap
    core = erode(labels > 0, r)
    wide = np.zeros(n, bool)
    wide[np.unique(labels[core])] = True
    small = enclosed & ~wide
    if not small.any():
        return fill_road, fill_walk
    hole_labels = np.where(small[labels], labels, 0).astype(np.int32)
    ring_labels = cv2.dilate(hole_labels.astype(np.float32), np.ones((3, 3), np.uint8)).astype(np.int64)
    ring = (ring_labels > 0) & (hole_labels == 0)
    road_votes = np.bincount(ring_labels[ring & road], minlength=n)
    walk_votes = np.bincount(ring_labels[ring & walk & ~road], minlength=n)
    as_road = small & (road_votes >= walk_votes)
    fill_road = as_road[hole_labels] & (hole_labels > 0)
    fill_walk = (hole_labels > 0) & ~fill_road
    return fill_road, fill_walk


def rect_mesh(grid: GroundGrid, rects: np.ndarray, z_of, lift: float, color, cls: int,
              jitter: np.random.Generator | None = None) -> Mesh:
    """Axis-aligned rectangles (iy0, ix0, iy1, ix1) as quads, corner heights from z_of(xy)."""
    if not len(rects):
        return Mesh.concat([])
    c = grid.cell
    x0 = grid.x0 + rects[:, 1] * c
    x1 = grid.x0 + rects[:, 3] * c
    y0 = grid.y0 + rects[:, 0] * c
    y1 = grid.y0 + rects[:, 2] * c
    corners = np.stack([np.stack([x0, y0], 1), np.stack([x1, y0], 1), np.stack([x1, y1], 1),
                        np.stack([x0, y1], 1)], axis=1).reshape(-1, 2)
    z = z_of(corners) + lift
    verts = np.column_stack([corners, z])
    n = len(rects)
    base = (np.arange(n) * 4)[:, None]
    tris = np.concatenate([base + (0, 1, 2), base + (0, 2, 3)], axis=1).reshape(-1, 3)
    colors = np.broadcast_to(np.asarray(color, np.int16), (len(verts), 3))
    if jitter is not None:  # patchy grass: each corner a little lighter or darker
        colors = colors + jitter.integers(-6, 7, (len(verts), 1))
    return Mesh(verts, tris, np.clip(colors, 0, 255).astype(np.uint8), cls)


def hole_mesh(grid: GroundGrid, holes: np.ndarray, ground: GroundHeight, lift: float, color, cls: int,
              max_rect: int) -> Mesh:
    """Filled holes, grown by one cell under the pavement around them (which lies a little
    higher and hides the stair-stepped edge)."""
    if not holes.any():
        return Mesh.concat([])
    return rect_mesh(grid, mask_rects(dilate(holes, 1), max_rect), ground, lift, color, cls)


def grass_mask(grid: GroundGrid, road: np.ndarray, walk: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Where grass grows: off the road (with a cell of clearance, as it lies above the road)
    and off the sidewalks' interior (its edge slides under their kerbs)."""
    return inside & ~dilate(road, 1) & ~erode(walk, 1)


def ground_plane(lo: np.ndarray, hi: np.ndarray, z: float) -> Mesh:
    """One big quad (split in a 4x4 grid so no triangle is absurdly large) far past the town."""
    xs = np.linspace(lo[0] - P.GROUND_MARGIN, hi[0] + P.GROUND_MARGIN, 5)
    ys = np.linspace(lo[1] - P.GROUND_MARGIN, hi[1] + P.GROUND_MARGIN, 5)
    gx, gy = np.meshgrid(xs, ys)
    verts = np.column_stack([gx.ravel(), gy.ravel(), np.full(gx.size, z)])
    tris = []
    for j in range(4):
        for i in range(4):
            a = j * 5 + i
            tris += [(a, a + 1, a + 6), (a, a + 6, a + 5)]
    return Mesh(verts, np.array(tris), P.GROUND, SemanticClass.TERRAIN)
