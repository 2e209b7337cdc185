"""Top-down picture of a map (matplotlib, Agg): lanes by type, junctions, traffic lights
with their trigger volumes, stop/yield signs, crosswalks and optionally a route coloured
by RoadOption. Drawn in CARLA's frame with y pointing down, as CARLA's top view shows it."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from lead.world.lane_types import LaneType
from lead.world.map import Map
from lead.world.transform import Location

_LANE_COLORS = {
    LaneType.Driving: "#5a5a5a", LaneType.Sidewalk: "#c8c0b0", LaneType.Shoulder: "#8c8c7c",
    LaneType.Parking: "#6f6f8f", LaneType.Biking: "#7f9f7f",
}
_OPTION_COLORS = {-1: "black", 1: "#e41a1c", 2: "#377eb8", 3: "#4daf4a", 4: "#ff7f00", 5: "#984ea3", 6: "#a65628"}
_OPTION_NAMES = {-1: "VOID", 1: "LEFT", 2: "RIGHT", 3: "STRAIGHT", 4: "LANEFOLLOW", 5: "CHANGELANELEFT",
                 6: "CHANGELANERIGHT"}


def draw_map(m: Map, out: str | Path, route: Sequence[Location] | None = None, title: str | None = None,
             dpi: int = 150, size_in: float = 12.0) -> Path:
    """Write a PNG of the map (and of the route through `route` keypoints) to `out`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.patches import Polygon as MplPolygon

    fig, ax = plt.subplots(figsize=(size_in, size_in))
    polys, colors, edges = [], [], []
    for g in m.lane_geometry(step=1.0):
        if len(g.center) < 2 or float(g.width.max()) <= 1e-3:
            continue
        ring = np.concatenate([g.left[:, :2], g.right[::-1, :2]])
        polys.append(ring)
        color = _LANE_COLORS.get(g.lane_type, "#9a9a9a")
        if g.is_junction and g.lane_type & LaneType.Driving:
            color = "#3f4a5a"
        colors.append(color)
        if g.lane_type & LaneType.Driving and not g.is_junction:
            edges.append(g.right[:, :2])
    ax.add_collection(PolyCollection(polys, facecolors=colors, edgecolors="none", zorder=1))
    ax.add_collection(LineCollection(edges, colors="white", linewidths=0.3, zorder=2))
    for poly in m.get_crosswalks():
        ax.add_patch(MplPolygon([(p.x, p.y) for p in poly], closed=True, facecolor="none",
                                edgecolor="white", hatch="////", linewidth=0.6, zorder=3))
    for line in m.get_stop_lines():
        ax.plot([p.x for p in line], [p.y for p in line], color="white", linewidth=1.2, zorder=3)
    for tl in m.get_traffic_lights():
        for box in tl.trigger_volumes:
            corners = box.get_world_vertices()[::2]  # the four corners of the bottom face
            ring = [corners[i] for i in (0, 1, 3, 2)]
            ax.add_patch(MplPolygon([(c.x, c.y) for c in ring], closed=True, facecolor="#ff000055",
                                    edgecolor="red", linewidth=0.5, zorder=4))
        loc = tl.transform.location
        ax.plot(loc.x, loc.y, "o", color="red", markersize=4, zorder=5)
    for sign in m.get_traffic_signs():
        loc = sign.transform.location
        marker, color = ("8", "#c00000") if sign.type == "206" else (("v", "#e0a000") if sign.type == "205" else ("s", "#3060c0"))
        ax.plot(loc.x, loc.y, marker, color=color, markersize=6, zorder=5)
    for jid, j in m.junctions.items():
        bb = j.bounding_box
        ax.text(bb.location.x, bb.location.y, str(jid), fontsize=5, color="#b0c4de", ha="center", zorder=6)
    if route:
        from lead.world.planner import interpolate_trajectory

        _, dense = interpolate_trajectory(m, list(route), 1.0)
        pts = np.array([[t.location.x, t.location.y] for t, _ in dense])
        opts = [int(o) for _, o in dense]
        segs = [pts[i:i + 2] for i in range(len(pts) - 1)]
        ax.add_collection(LineCollection(segs, colors=[_OPTION_COLORS[o] for o in opts[:-1]], linewidths=2.5, zorder=7))
        ax.plot([p.x for p in route], [p.y for p in route], "x", color="black", markersize=4, zorder=8)
        ax.plot(pts[0, 0], pts[0, 1], "o", color="lime", markersize=8, zorder=9)
        ax.plot(pts[-1, 0], pts[-1, 1], "s", color="magenta", markersize=8, zorder=9)
        for o in sorted(set(opts)):
            ax.plot([], [], color=_OPTION_COLORS[o], linewidth=2.5, label=_OPTION_NAMES[o])
        ax.legend(loc="upper right", fontsize=7)
    ax.autoscale_view()
    ax.set_aspect("equal")
    ax.invert_yaxis()
    ax.set_facecolor("#2e3b2e")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    ax.set_title(title or m.name)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return out
