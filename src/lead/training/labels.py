"""Training labels from an expert bag's ground truth (CARLA ego frame: x forward, y right, metres).

- boxes: /carla/objects -> rows of lead.model.postprocess.BOX_FIELDS in a view's frame;
- BEV semantics: the map's lanes (ROAD, LANE_MARKERS) rendered once per bag into a world raster,
  warped into each view's BEV grid, then the boxes' footprints drawn on top (LEAD's
  TransfuserBEVSemanticClass ids, lead.model.classes);
- perspective semantics: CARLA class ids -> the 10 TFv6 classes, and depth, per camera resized
  to the perspective output and stitched like the RGB input.
Traffic lights and stop signs are not labelled yet (no boxes, no BEV cells).
"""
from __future__ import annotations

import math

import numpy as np

from lead.model.classes import BEV_SEMANTIC_CLASSES, BOX_CLASSES
from lead.model.config import ModelConfig

BOX = {n: i for i, n in enumerate(BOX_CLASSES)}
BEV = {n: i for i, n in enumerate(BEV_SEMANTIC_CLASSES)}
# derived_object_msgs classification -> (box class, BEV class)
_OBJECT_CLASS = {4: ("WALKER", "WALKER"), 5: ("BIKER", "BIKER"), 6: ("VEHICLE", "VEHICLE"),
                 7: ("VEHICLE", "VEHICLE"), 8: ("BIKER", "BIKER"), 10: ("OBSTACLE", "OBSTACLE")}
# CARLA semantic id (0.9.14+) -> TFv6 perspective class (lead.model.classes.SEMANTIC_CLASSES)
SEMANTIC_LUT = np.zeros(256, np.int64)
for _carla, _tf in {1: 2, 7: 3, 8: 8, 12: 4, 13: 9, 14: 1, 15: 1, 16: 1, 17: 1, 18: 9, 19: 9, 20: 6, 21: 6,
                    24: 5}.items():
    SEMANTIC_LUT[_carla] = _tf


def view_transform(points_world: np.ndarray, view: tuple[float, float, float]) -> np.ndarray:
    """World (N, 2+) -> the frame of a view at (x, y, yaw rad)."""
    p = np.asarray(points_world, np.float64)
    c, s = math.cos(view[2]), math.sin(view[2])
    dx, dy = p[:, 0] - view[0], p[:, 1] - view[1]
    return np.column_stack([c * dx + s * dy, -s * dx + c * dy])


def perturbed_view(pose: tuple[float, float, float], perturbation: tuple[float, float]) -> tuple[float, float, float]:
    """World pose of the perturbated ego: shifted sideways by shift m, yawed by yaw deg."""
    shift, yaw_deg = perturbation
    c, s = math.cos(pose[2]), math.sin(pose[2])
    return (pose[0] - s * shift, pose[1] + c * shift, pose[2] + math.radians(yaw_deg))


def boxes_from_objects(actors, view: tuple[float, float, float], cfg: ModelConfig,
                       ego_xy: tuple[float, float]) -> np.ndarray:
    """Ground-truth actors (lead.sim.decode.ActorState) -> (n, 9) boxes in the view's frame inside
    the BEV area (the ego itself, the actor at ego_xy, left out), nearest first, at most max_boxes."""
    b = cfg.bev
    rows = []
    for a in actors:
        x, y = a.transform[0], a.transform[1]
        if math.hypot(x - ego_xy[0], y - ego_xy[1]) < 0.5:
            continue
        cls = _OBJECT_CLASS.get(a.classification)
        if cls is None:
            continue
        p = view_transform(np.array([[x, y]]), view)[0]
        if not (b.min_x <= p[0] < b.max_x and b.min_y <= p[1] < b.max_y):
            continue
        yaw = (math.radians(a.transform[5]) - view[2] + math.pi) % (2 * math.pi) - math.pi
        rows.append((p[0], p[1], a.extent[0], a.extent[1], yaw, a.speed, 0.0, BOX[cls[0]], 1.0))
    out = np.array(sorted(rows, key=lambda r: r[0] ** 2 + r[1] ** 2), np.float32).reshape(-1, 9)
    return out[:cfg.boxes.max_boxes]


class MapRaster:
    """The map's ROAD and LANE_MARKERS rendered into a world-aligned raster (cv2), sampled per view."""

    def __init__(self, map_, cfg: ModelConfig, center: tuple[float, float], radius: float) -> None:
        import cv2

        from lead.world.lane_types import LaneType

        self.ppm = cfg.bev.pixels_per_meter
        self.x0, self.y0 = center[0] - radius, center[1] - radius
        n = int(math.ceil(2 * radius * self.ppm))
        self.raster = np.zeros((n, n), np.uint8)  # rows along world y, cols along world x
        lanes = map_.lane_geometry(1.0, LaneType.Driving)

        def px(p: np.ndarray) -> np.ndarray:
            return np.round(np.column_stack([(p[:, 0] - self.x0) * self.ppm, (p[:, 1] - self.y0) * self.ppm])
                            * 8).astype(np.int32)  # 3 fractional bits for cv2's shift

        for g in lanes:
            for i in range(len(g.center) - 1):
                quad = np.vstack([g.left[i:i + 2, :2], g.right[i:i + 2, :2][::-1]])
                cv2.fillPoly(self.raster, [px(quad)], BEV["ROAD"], shift=3)
        for g in lanes:
            if g.is_junction:
                continue
            for side, marks in ((g.left, g.left_marks), (g.right, g.right_marks)):
                if marks:
                    cv2.polylines(self.raster, [px(side[:, :2])], False, BEV["LANE_MARKERS"], 1, shift=3)

    def view(self, view: tuple[float, float, float], cfg: ModelConfig) -> np.ndarray:
        """(rows=y, cols=x) BEV classes of the view's grid (nearest neighbour)."""
        import cv2

        b = cfg.bev
        rows, cols = cfg.lidar_height_pixel, cfg.lidar_width_pixel
        c, s = math.cos(view[2]), math.sin(view[2])
        # grid pixel (col, row) centre -> view metres -> world -> raster pixel
        a = 1.0 / b.pixels_per_meter
        # view x = min_x + (col + 0.5) a ; view y = min_y + (row + 0.5) a
        # world = pose + R(yaw) [vx, vy]; raster = (world - origin) * ppm - 0.5
        m = np.array([[c * a, -s * a, 0.0], [s * a, c * a, 0.0]])
        off_v = np.array([b.min_x + 0.5 * a, b.min_y + 0.5 * a])
        off_w = np.array([view[0] + c * off_v[0] - s * off_v[1], view[1] + s * off_v[0] + c * off_v[1]])
        m[:, 2] = off_w
        m = m * self.ppm
        m[0, 2] -= self.x0 * self.ppm + 0.5
        m[1, 2] -= self.y0 * self.ppm + 0.5
        return cv2.warpAffine(self.raster, m, (cols, rows), flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def bev_semantic(raster: MapRaster, view: tuple[float, float, float], boxes: np.ndarray,
                 classes: np.ndarray, cfg: ModelConfig) -> np.ndarray:
    """Map classes of the view plus the boxes' footprints (BEV class per box in `classes`)."""
    import cv2

    grid = raster.view(view, cfg)
    b = cfg.bev
    for box, cls in zip(boxes, classes):
        x, y, hl, hw, yaw = (float(v) for v in box[:5])
        c, s = math.cos(yaw), math.sin(yaw)
        corners = np.array([[hl, hw], [hl, -hw], [-hl, -hw], [-hl, hw]])
        pts = np.column_stack([x + c * corners[:, 0] - s * corners[:, 1], y + s * corners[:, 0] + c * corners[:, 1]])
        pix = np.round(np.column_stack([(pts[:, 0] - b.min_x) * b.pixels_per_meter,
                                        (pts[:, 1] - b.min_y) * b.pixels_per_meter]) * 8).astype(np.int32)
        cv2.fillPoly(grid, [pix], int(cls), shift=3)
    return grid.astype(np.int8)


def box_bev_classes(boxes: np.ndarray) -> np.ndarray:
    names = {BOX["VEHICLE"]: "VEHICLE", BOX["WALKER"]: "WALKER", BOX["BIKER"]: "BIKER", BOX["OBSTACLE"]: "OBSTACLE"}
    return np.array([BEV[names.get(int(c), "OBSTACLE")] for c in boxes[:, 7]], np.int64)


def perspective_labels(semantic: list[np.ndarray], depth: list[np.ndarray], cfg: ModelConfig
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Per-camera CARLA semantic ids / depth metres -> stitched (H/k, W/k) int8 classes, float16 depth."""
    import cv2

    k = cfg.perspective.downsample_factor
    w, h = cfg.camera.width // k, cfg.camera.height // k
    sem = [SEMANTIC_LUT[cv2.resize(s.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)] for s in semantic]
    dep = [cv2.resize(d.astype(np.float32), (w, h), interpolation=cv2.INTER_NEAREST) for d in depth]
    return np.concatenate(sem, axis=1).astype(np.int8), np.concatenate(dep, axis=1).astype(np.float16)
