"""Abstract street layouts: intersections (nodes) and streets (edges with optional bends)
for the two town kinds, grid and irregular. Coordinates in the OpenDRIVE frame, metres."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import Delaunay

LANE_WIDTHS = (3.25, 3.5, 3.75)
MIN_ARM_ANGLE = math.radians(55.0)   # between two streets meeting at a junction
MAX_CORNER_TURN = math.radians(110.0)  # at a node where a street just bends


class LayoutError(Exception):
    """This random draw gave an unusable layout; the generator draws again."""


@dataclass
class Street:
    a: int
    b: int
    lanes: int                      # driving lanes per direction
    lane_width: float
    via: list[tuple[float, float]] = field(default_factory=list)  # bend vertices from a to b


@dataclass
class Layout:
    kind: str
    nodes: list[tuple[float, float]]
    streets: list[Street]

    def degree(self) -> list[int]:
        deg = [0] * len(self.nodes)
        for s in self.streets:
            deg[s.a] += 1
            deg[s.b] += 1
        return deg


def _connected(n_nodes: int, edges: list[tuple[int, int]], alive: list[bool]) -> bool:
    adj: list[list[int]] = [[] for _ in range(n_nodes)]
    for a, b in edges:
        adj[a].append(b)
        adj[b].append(a)
    nodes = [i for i in range(n_nodes) if alive[i]]
    if not nodes:
        return False
    seen = {nodes[0]}
    stack = [nodes[0]]
    while stack:
        for m in adj[stack.pop()]:
            if m not in seen:
                seen.add(m)
                stack.append(m)
    return len(seen) == len(nodes)


def _bow(rng: np.random.Generator, p: tuple[float, float], q: tuple[float, float],
         sign: float) -> list[tuple[float, float]]:
    """Bend vertices that push the middle of a street sideways while its two ends keep
    their direction (so the junction arms are unchanged)."""
    dx, dy = q[0] - p[0], q[1] - p[1]
    length = math.hypot(dx, dy)
    nx, ny = -dy / length, dx / length
    h = sign * float(rng.uniform(6.0, 11.0))
    out = []
    for f, off in ((0.3, 0.0), (0.43, h), (0.57, h), (0.7, 0.0)):
        out.append((p[0] + f * dx + off * nx, p[1] + f * dy + off * ny))
    return out


def grid_layout(rng: np.random.Generator, nx: int = 5, ny: int = 4) -> Layout:
    """A jittered rectangular grid: a few inner streets removed (T-junctions), curved
    corners, 1-3 lane avenues, some bowed outer streets."""
    xs = np.concatenate([[0.0], np.cumsum(rng.uniform(90.0, 135.0, nx - 1))])
    ys = np.concatenate([[0.0], np.cumsum(rng.uniform(80.0, 120.0, ny - 1))])
    nodes = [(float(xs[i]), float(ys[j])) for j in range(ny) for i in range(nx)]

    def street_lanes(count: int) -> list[int]:
        inner = [int(v) for v in rng.choice([1, 2, 3], size=count - 2, p=[0.45, 0.4, 0.15])]
        return [1] + inner + [1]  # the outer ring stays a one-lane street

    col_lanes, row_lanes = street_lanes(nx), street_lanes(ny)
    inner = col_lanes[1:-1] + row_lanes[1:-1]
    if 2 not in inner or 3 not in inner:  # every grid town has a 2- and a 3-lane avenue
        col_lanes[1 + int(rng.integers(nx - 2))] = 3
        row_lanes[1 + int(rng.integers(ny - 2))] = 2
    col_w = [float(rng.choice(LANE_WIDTHS)) for _ in range(nx)]
    row_w = [float(rng.choice(LANE_WIDTHS)) for _ in range(ny)]

    streets: list[Street] = []
    for j in range(ny):
        for i in range(nx - 1):
            streets.append(Street(j * nx + i, j * nx + i + 1, row_lanes[j], row_w[j]))
    for i in range(nx):
        for j in range(ny - 1):
            streets.append(Street(j * nx + i, (j + 1) * nx + i, col_lanes[i], col_w[i]))

    # remove some inner streets: both ends keep at least three arms
    deg = Layout("grid", nodes, streets).degree()
    order = [int(k) for k in rng.permutation(len(streets))]
    removed: set[int] = set()
    for k in order:
        s = streets[k]
        if len(removed) >= max(1, (nx - 2) * (ny - 2) // 3):  # keep some 4-way junctions
            break
        if deg[s.a] == 4 and deg[s.b] == 4 and rng.random() < 0.6:
            removed.add(k)
            deg[s.a] -= 1
            deg[s.b] -= 1
    if not removed:
        raise LayoutError("no inner street removed")
    streets = [s for k, s in enumerate(streets) if k not in removed]

    # bow some long outer streets outward
    cx, cy = float(xs[-1]) / 2, float(ys[-1]) / 2
    for s in streets:
        p, q = nodes[s.a], nodes[s.b]
        outer = (p[0] == q[0] and p[0] in (xs[0], xs[-1])) or (p[1] == q[1] and p[1] in (ys[0], ys[-1]))
        if outer and math.dist(p, q) >= 110.0 and rng.random() < 0.5:
            mx, my = (p[0] + q[0]) / 2 - cx, (p[1] + q[1]) / 2 - cy
            dx, dy = q[0] - p[0], q[1] - p[1]
            side = 1.0 if (-dy * mx + dx * my) > 0 else -1.0  # outward
            s.via = _bow(rng, p, q, side)
    return Layout("grid", nodes, streets)


def irregular_layout(rng: np.random.Generator, width: float = 620.0, height: float = 500.0,
                     spacing: float = 105.0) -> Layout:
    """Blocks from a Delaunay triangulation of Poisson-disk points, thinned until every
    junction has 3-4 streets at least 55 deg apart and no street is a dead end."""
    pts: list[tuple[float, float]] = []
    for _ in range(3000):
        p = (float(rng.uniform(0, width)), float(rng.uniform(0, height)))
        if all(math.dist(p, q) >= spacing for q in pts):
            pts.append(p)
    if len(pts) < 12:
        raise LayoutError("too few points")
    tri = Delaunay(np.array(pts))
    edges: set[tuple[int, int]] = set()
    for simplex in tri.simplices:
        for u, v in ((0, 1), (1, 2), (0, 2)):
            a, b = sorted((int(simplex[u]), int(simplex[v])))
            edges.add((a, b))
    edge_list = sorted(e for e in edges if math.dist(pts[e[0]], pts[e[1]]) <= 1.9 * spacing)
    alive = [True] * len(pts)

    def arms(n: int) -> list[tuple[float, tuple[int, int]]]:
        out = []
        for e in edge_list:
            if n in e:
                m = e[1] if e[0] == n else e[0]
                out.append((math.atan2(pts[m][1] - pts[n][1], pts[m][0] - pts[n][0]), e))
        return sorted(out)

    def remove_one(candidates: list[tuple[int, int]]) -> bool:
        for e in sorted(candidates, key=lambda e: -math.dist(pts[e[0]], pts[e[1]])):
            rest = [x for x in edge_list if x != e]
            if _connected(len(pts), rest, alive):
                edge_list.remove(e)
                return True
        return False

    for _ in range(500):
        # drop dead ends first
        deg = [0] * len(pts)
        for a, b in edge_list:
            deg[a] += 1
            deg[b] += 1
        dead = [n for n in range(len(pts)) if alive[n] and deg[n] <= 1]
        if dead:
            for n in dead:
                alive[n] = False
            edge_list[:] = [e for e in edge_list if alive[e[0]] and alive[e[1]]]
            continue
        bad = None
        for n in range(len(pts)):
            if not alive[n]:
                continue
            a = arms(n)
            gaps = [((a[(i + 1) % len(a)][0] - a[i][0]) % (2 * math.pi), a[i][1], a[(i + 1) % len(a)][1])
                    for i in range(len(a))]
            smallest = min(gaps)
            if len(a) > 4:
                bad = [e for _, e in a]
            elif smallest[0] < MIN_ARM_ANGLE:
                bad = [smallest[1], smallest[2]]
            elif len(a) == 2 and math.pi - min(g for g, _, _ in gaps) > MAX_CORNER_TURN:
                bad = [e for _, e in a]
            if bad:
                break
        if bad is None:
            break
        if not remove_one(bad):
            raise LayoutError("cannot thin the triangulation")
    else:
        raise LayoutError("thinning did not settle")

    index = {old: new for new, old in enumerate(n for n in range(len(pts)) if alive[n])}
    nodes = [pts[old] for old in index]
    streets = []
    for a, b in edge_list:
        lanes = int(rng.choice([1, 2, 3], p=[0.55, 0.35, 0.10]))
        streets.append(Street(index[a], index[b], lanes, float(rng.choice(LANE_WIDTHS))))
    layout = Layout("irregular", nodes, streets)
    deg = layout.degree()
    if sum(1 for d in deg if d >= 3) < 8:
        raise LayoutError("too few junctions")
    for s in streets:
        if math.dist(nodes[s.a], nodes[s.b]) >= 120.0 and rng.random() < 0.35:
            s.via = _bow(rng, nodes[s.a], nodes[s.b], 1.0 if rng.random() < 0.5 else -1.0)
    return layout
