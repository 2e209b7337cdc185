"""A raster of the town's ground (what is road, sidewalk, built on), for filling the space
between roads and placing props procedurally without overlaps.

Cell (iy, ix) covers x in [x0 + ix c, x0 + (ix+1) c), y in [y0 + iy c, y0 + (iy+1) c).
Polygons are filled with OpenCV (pixel centres at integer coordinates, sub-pixel shift).
"""
from __future__ import annotations

import math

import cv2
import numpy as np
from scipy.spatial import cKDTree

_SHIFT = 4  # fixed-point bits for cv2 polygon filling
_MAX_CELLS = 16_000_000  # huge maps get coarser cells rather than gigabytes of raster


class GroundGrid:
    def __init__(self, lo: np.ndarray, hi: np.ndarray, cell: float):
        span = np.asarray(hi, float) - np.asarray(lo, float)
        cell = max(cell, math.sqrt(max(span[0] * span[1], 1.0) / _MAX_CELLS))
        self.cell = float(cell)
        self.x0, self.y0 = float(lo[0]), float(lo[1])
        self.nx = int(math.ceil(span[0] / cell)) + 1
        self.ny = int(math.ceil(span[1] / cell)) + 1

    @property
    def shape(self) -> tuple[int, int]:
        return self.ny, self.nx

    def zeros(self, dtype=np.uint8) -> np.ndarray:
        return np.zeros(self.shape, dtype)

    def to_pixels(self, xy: np.ndarray) -> np.ndarray:
        """World xy (N, 2) -> fixed-point pixel coordinates for cv2 (centres at integers)."""
        p = (np.asarray(xy, float)[:, :2] - (self.x0, self.y0)) / self.cell - 0.5
        return np.round(p * (1 << _SHIFT)).astype(np.int32)

    def fill(self, mask: np.ndarray, polygons: list[np.ndarray], value: int = 1) -> None:
        """Fill polygons (each (N, >=2) world points) into mask."""
        # one call per polygon: several contours in one cv2.fillPoly call fill by parity,
        # so overlapping lanes would cancel out
        for p in polygons:
            if len(p) >= 3:
                cv2.fillPoly(mask, [self.to_pixels(p)], value, lineType=cv2.LINE_8, shift=_SHIFT)

    def fill_convex(self, mask: np.ndarray, polygon: np.ndarray, value: int = 1) -> None:
        cv2.fillConvexPoly(mask, self.to_pixels(polygon), value, lineType=cv2.LINE_8, shift=_SHIFT)

    def cells_of(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(iy, ix) of world points, clipped into the grid."""
        p = np.asarray(xy, float)
        ix = np.clip(((p[..., 0] - self.x0) / self.cell).astype(np.int64), 0, self.nx - 1)
        iy = np.clip(((p[..., 1] - self.y0) / self.cell).astype(np.int64), 0, self.ny - 1)
        return iy, ix

    def centres(self, iy: np.ndarray, ix: np.ndarray) -> np.ndarray:
        return np.column_stack([self.x0 + (ix + 0.5) * self.cell, self.y0 + (iy + 0.5) * self.cell])

    def window(self, polygon: np.ndarray, pad: int = 1) -> tuple[slice, slice, np.ndarray] | None:
        """A small mask of a convex polygon in its own bounding window of the grid, or None
        when the polygon leaves the grid."""
        lo = np.floor((polygon.min(0) - (self.x0, self.y0)) / self.cell).astype(int) - pad
        hi = np.ceil((polygon.max(0) - (self.x0, self.y0)) / self.cell).astype(int) + pad
        if lo[0] < 0 or lo[1] < 0 or hi[0] > self.nx or hi[1] > self.ny:
            return None
        local = np.zeros((hi[1] - lo[1], hi[0] - lo[0]), np.uint8)
        shifted = polygon - (self.x0 + lo[0] * self.cell, self.y0 + lo[1] * self.cell)
        p = np.round((shifted / self.cell - 0.5) * (1 << _SHIFT)).astype(np.int32)
        cv2.fillConvexPoly(local, p, 1, lineType=cv2.LINE_8, shift=_SHIFT)
        return slice(lo[1], hi[1]), slice(lo[0], hi[0]), local.astype(bool)

    def free(self, occupied: np.ndarray, polygon: np.ndarray) -> bool:
        w = self.window(polygon)
        if w is None:
            return False
        sy, sx, local = w
        return not np.any(occupied[sy, sx] & local)

    def occupy(self, occupied: np.ndarray, polygon: np.ndarray) -> None:
        w = self.window(polygon)
        if w is not None:
            sy, sx, local = w
            occupied[sy, sx] |= local


def dilate(mask: np.ndarray, cells: int) -> np.ndarray:
    if cells <= 0:
        return mask.copy()
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * cells + 1, 2 * cells + 1))
    return cv2.dilate(mask.astype(np.uint8), k).astype(bool)


def erode(mask: np.ndarray, cells: int) -> np.ndarray:
    if cells <= 0:
        return mask.copy()
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * cells + 1, 2 * cells + 1))
    return cv2.erode(mask.astype(np.uint8), k).astype(bool)


def mask_rects(mask: np.ndarray, max_len: int) -> np.ndarray:
    """Cover a boolean mask exactly with axis-aligned rectangles (iy0, ix0, iy1, ix1),
    end-exclusive: runs of each row, merged with identical runs of the rows below, no side
    longer than max_len cells (so a rectangle can follow a sloped ground)."""
    m = np.zeros((mask.shape[0], mask.shape[1] + 2), np.int8)
    m[:, 1:-1] = mask
    d = np.diff(m, axis=1)
    out = []
    open_: dict[tuple[int, int], int] = {}   # (x0, x1) -> row where it started
    for iy in range(mask.shape[0]):
        starts = np.flatnonzero(d[iy] == 1)
        ends = np.flatnonzero(d[iy] == -1)
        runs = []
        for x0, x1 in zip(starts.tolist(), ends.tolist()):
            while x1 - x0 > max_len:
                runs.append((x0, x0 + max_len))
                x0 += max_len
            runs.append((x0, x1))
        now = {}
        for r in runs:
            y0 = open_.pop(r, None)
            if y0 is None or iy - y0 >= max_len:
                if y0 is not None:
                    out.append((y0, r[0], iy, r[1]))
                y0 = iy
            now[r] = y0
        for (x0, x1), y0 in open_.items():
            out.append((y0, x0, iy, x1))
        open_ = now
    for (x0, x1), y0 in open_.items():
        out.append((y0, x0, mask.shape[0], x1))
    return np.array(sorted(out), dtype=np.int64).reshape(-1, 4)


class GroundHeight:
    """Ground height anywhere: that of the nearest road/sidewalk sample (towns are nearly
    flat between roads); constant when the whole map is flat."""

    def __init__(self, points: np.ndarray):
        p = np.asarray(points, float).reshape(-1, 3)
        self.flat = len(p) == 0 or float(np.ptp(p[:, 2])) < 0.01
        self.z0 = float(np.median(p[:, 2])) if len(p) else 0.0
        self.min_z = float(p[:, 2].min()) if len(p) else 0.0
        self._tree = None if self.flat else cKDTree(p[:, :2])
        self._z = p[:, 2]

    def __call__(self, xy: np.ndarray) -> np.ndarray:
        xy = np.asarray(xy, float).reshape(-1, 2)
        if self.flat:
            return np.full(len(xy), self.z0)
        _, i = self._tree.query(xy)
        return self._z[i]
