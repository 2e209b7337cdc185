"""Global route planner with CARLA's semantics, and the leaderboard's interpolate_trajectory.

The graph is built as CARLA's agents/navigation/global_route_planner.py builds it:
one edge per driving lane section from its start to each successor's start, dense
waypoints every `sampling_resolution` metres along it, nodes keyed by the rounded
(x, y, z) of lane ends, loose ends added, and lane-change edges from a lane segment's
entry to the neighbouring lane's segment wherever the lane marking permits the change
(cost `lane_change_cost`; CARLA uses 0). A* (Euclidean heuristic over node positions,
edge cost = number of samples) finds the node path; trace_route turns it into
(Waypoint, RoadOption) pairs, labelling junction edges LEFT/RIGHT/STRAIGHT from the
heading change (35° threshold, cross products against the other exits) and lane
changes CHANGELANELEFT/RIGHT, LANEFOLLOW elsewhere - CARLA's rules, including its
turn-decision state carried between calls.
"""
from __future__ import annotations

import enum
import heapq
import itertools
import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from lead.world.gps import location_to_gps
from lead.world.lane_types import LaneChange, LaneType
from lead.world.map import Map, Waypoint
from lead.world.transform import Location, Transform, Vector3D


class RoadOption(enum.IntEnum):
    """CARLA agents' RoadOption."""
    VOID = -1
    LEFT = 1
    RIGHT = 2
    STRAIGHT = 3
    LANEFOLLOW = 4
    CHANGELANELEFT = 5
    CHANGELANERIGHT = 6


class NoRouteError(RuntimeError):
    """No path in the lane graph between two locations."""


@dataclass
class _Edge:
    length: float
    path: list[Waypoint]
    entry_waypoint: Waypoint
    exit_waypoint: Waypoint
    entry_vector: np.ndarray | None
    exit_vector: np.ndarray | None
    net_vector: np.ndarray | None
    intersection: bool
    type: RoadOption
    change_waypoint: Waypoint | None = None


@dataclass
class _Segment:
    entry: Waypoint
    exit: Waypoint
    entry_xyz: tuple
    exit_xyz: tuple
    path: list[Waypoint] = field(default_factory=list)


def _vec(v: Vector3D) -> np.ndarray:
    return np.array([v.x, v.y, v.z])


def _unit(a: Location, b: Location) -> np.ndarray:
    d = np.array([b.x - a.x, b.y - a.y, b.z - a.z])
    n = np.linalg.norm(d) + np.finfo(float).eps  # agents.tools.misc.vector adds eps too
    return d / n


class GlobalRoutePlanner:
    """Dense routes over a Map's lane graph (carla agents' GlobalRoutePlanner)."""

    def __init__(self, map_: Map, sampling_resolution: float = 1.0, lane_change_cost: float = 0.0):
        if sampling_resolution <= 0:
            raise ValueError(f"sampling_resolution must be positive, got {sampling_resolution}")
        self._map = map_
        self._res = sampling_resolution
        self._lane_change_cost = lane_change_cost
        self._intersection_end_node = -1
        self._previous_decision = RoadOption.VOID
        self._topology: list[_Segment] = []
        self._nodes: dict[int, tuple] = {}        # node id -> (x, y, z)
        self._id_map: dict[tuple, int] = {}
        self._edges: dict[int, dict[int, _Edge]] = {}
        self._road_id_to_edge: dict[tuple[int, int, int], tuple[int, int]] = {}
        self._build_topology()
        self._build_graph()
        self._find_loose_ends()
        self._lane_change_link()

    # ---------------------------------------------------------------- graph
    def _build_topology(self) -> None:
        res = self._res
        for wp1, wp2 in self._map.get_topology():
            l1, l2 = wp1.transform.location, wp2.transform.location
            seg = _Segment(wp1, wp2, tuple(float(round(v)) for v in l1.as_tuple()),
                           tuple(float(round(v)) for v in l2.as_tuple()))
            if l1.distance(l2) > res:
                # CARLA walks next()[0] until within one step of the end; the step cap
                # only matters on broken maps, where that walk would never end
                sec = self._map._section(wp1.key)
                steps = int((sec.s1 - sec.s0) / res) + 10
                nxt = wp1.next(res)
                w = nxt[0] if nxt else None
                end = l2.as_tuple()
                while w is not None and math.dist(w.xyz, end) > res and steps > 0:
                    seg.path.append(w)
                    nxt = w.next(res)
                    w = nxt[0] if nxt else None
                    steps -= 1
            else:
                nxt = wp1.next(res)
                if not nxt:
                    continue
                seg.path.append(nxt[0])
            self._topology.append(seg)

    def _node(self, xyz: tuple) -> int:
        n = self._id_map.get(xyz)
        if n is None:
            n = self._id_map[xyz] = len(self._id_map)
            self._nodes[n] = xyz
        return n

    def _add_edge(self, n1: int, n2: int, edge: _Edge) -> None:
        self._edges.setdefault(n1, {})[n2] = edge   # a later edge between the same nodes wins
        self._edges.setdefault(n2, {})

    def _build_graph(self) -> None:
        for seg in self._topology:
            n1, n2 = self._node(seg.entry_xyz), self._node(seg.exit_xyz)
            self._road_id_to_edge[seg.entry.key] = (n1, n2)
            t1, t2 = seg.entry.transform, seg.exit.transform
            self._add_edge(n1, n2, _Edge(
                len(seg.path) + 1, seg.path, seg.entry, seg.exit,
                _vec(t1.get_forward_vector()), _vec(t2.get_forward_vector()),
                _unit(t1.location, t2.location), seg.entry.is_junction, RoadOption.LANEFOLLOW))

    def _find_loose_ends(self) -> None:
        count = 0
        for seg in self._topology:
            end = seg.exit
            if end.key in self._road_id_to_edge:
                continue
            count += 1
            n1, n2 = self._id_map[seg.exit_xyz], -count
            self._road_id_to_edge[end.key] = (n1, n2)
            path = []
            nxt = end.next(self._res)
            while nxt and nxt[0].key == end.key:
                path.append(nxt[0])
                nxt = nxt[0].next(self._res)
            if path:
                self._nodes[n2] = path[-1].transform.location.as_tuple()
                self._add_edge(n1, n2, _Edge(len(path) + 1, path, end, path[-1], None, None, None,
                                             end.is_junction, RoadOption.LANEFOLLOW))

    def _lane_change_link(self) -> None:
        for seg in self._topology:
            if seg.entry.is_junction:
                continue
            left_found = right_found = False
            for wp in seg.path:
                for side, option in ((LaneChange.Right, RoadOption.CHANGELANERIGHT),
                                     (LaneChange.Left, RoadOption.CHANGELANELEFT)):
                    if (right_found if side == LaneChange.Right else left_found):
                        continue
                    mark = wp.right_lane_marking if side == LaneChange.Right else wp.left_lane_marking
                    if mark is None or not (mark.lane_change & side):
                        continue
                    other = wp.get_right_lane() if side == LaneChange.Right else wp.get_left_lane()
                    if other is None or other.lane_type != LaneType.Driving or other.road_id != wp.road_id:
                        continue
                    target = self._localize(other.transform.location)
                    if target is None:
                        continue
                    self._add_edge(self._id_map[seg.entry_xyz], target[0], _Edge(
                        self._lane_change_cost, [], wp, other, None, None, None, False, option, other))
                    if side == LaneChange.Right:
                        right_found = True
                    else:
                        left_found = True
                if left_found and right_found:
                    break

    def _localize(self, location: Location) -> tuple[int, int] | None:
        wp = self._map.get_waypoint(location)
        return self._road_id_to_edge.get(wp.key) if wp is not None else None

    # ---------------------------------------------------------------- search
    def _heuristic(self, a: int, b: int) -> float:
        pa, pb = self._nodes[a], self._nodes[b]
        return math.sqrt((pa[0] - pb[0]) ** 2 + (pa[1] - pb[1]) ** 2 + (pa[2] - pb[2]) ** 2)

    def _astar(self, source: int, target: int) -> list[int]:
        counter = itertools.count()
        queue = [(0.0, next(counter), source, 0.0, None)]
        enqueued: dict[int, tuple[float, float]] = {}
        explored: dict[int, int | None] = {}
        while queue:
            _, _, node, dist, parent = heapq.heappop(queue)
            if node == target:
                path = [node]
                p = parent
                while p is not None:
                    path.append(p)
                    p = explored[p]
                return path[::-1]
            if node in explored:
                if explored[node] is None:
                    continue
                qcost, _ = enqueued[node]
                if qcost < dist:
                    continue
            explored[node] = parent
            for nbr, edge in self._edges.get(node, {}).items():
                ncost = dist + edge.length
                if nbr in enqueued:
                    qcost, h = enqueued[nbr]
                    if qcost <= ncost:
                        continue
                else:
                    h = self._heuristic(nbr, target)
                enqueued[nbr] = (ncost, h)
                heapq.heappush(queue, (ncost + h, next(counter), nbr, ncost, node))
        raise NoRouteError(f"node {target} not reachable from {source}")

    def _path_search(self, origin: Location, destination: Location) -> list[int]:
        start, end = self._localize(origin), self._localize(destination)
        if start is None or end is None:
            which = "origin" if start is None else "destination"
            loc = origin if start is None else destination
            raise NoRouteError(f"{self._map.name}: {which} ({loc.x:.2f}, {loc.y:.2f}, {loc.z:.2f}) "
                               "is not on a lane of the route graph")
        try:
            route = self._astar(start[0], end[0])
        except NoRouteError:
            raise NoRouteError(
                f"{self._map.name}: no route from ({origin.x:.2f}, {origin.y:.2f}) to "
                f"({destination.x:.2f}, {destination.y:.2f})") from None
        route.append(end[1])
        return route

    def route_exists(self, origin: Location, destination: Location) -> bool:
        """Whether the lane graph connects the two locations."""
        try:
            self._path_search(origin, destination)
        except NoRouteError:
            return False
        return True

    # ---------------------------------------------------------------- decisions
    def _edge(self, a: int, b: int) -> _Edge:
        return self._edges[a][b]

    def _successive_last_intersection_edge(self, index: int, route: list[int]):
        last_edge = last_node = None
        for i in range(index, len(route) - 1):
            cand = self._edge(route[i], route[i + 1])
            if route[i] == route[index]:
                last_edge = cand
            if cand.type == RoadOption.LANEFOLLOW and cand.intersection:
                last_edge, last_node = cand, route[i + 1]
            else:
                break
        return last_node, last_edge

    def _turn_decision(self, index: int, route: list[int], threshold: float = math.radians(35)) -> RoadOption:
        previous_node, current_node, next_node = route[index - 1], route[index], route[index + 1]
        next_edge = self._edge(current_node, next_node)
        decision = None
        if index > 0:
            if (self._previous_decision != RoadOption.VOID and self._intersection_end_node > 0
                    and self._intersection_end_node != previous_node
                    and next_edge.type == RoadOption.LANEFOLLOW and next_edge.intersection):
                decision = self._previous_decision
            else:
                self._intersection_end_node = -1
                current_edge = self._edge(previous_node, current_node)
                if (current_edge.type == RoadOption.LANEFOLLOW and not current_edge.intersection
                        and next_edge.type == RoadOption.LANEFOLLOW and next_edge.intersection):
                    last_node, tail = self._successive_last_intersection_edge(index, route)
                    self._intersection_end_node = last_node
                    if tail is not None:
                        next_edge = tail
                    cv, nv = current_edge.exit_vector, next_edge.exit_vector
                    if cv is None or nv is None:
                        return next_edge.type
                    cross_list = []
                    for nbr, sel in self._edges.get(current_node, {}).items():
                        if sel.type == RoadOption.LANEFOLLOW and nbr != route[index + 1]:
                            cross_list.append(float(np.cross(cv, sel.net_vector)[2]))
                    next_cross = float(np.cross(cv, nv)[2])
                    deviation = math.acos(float(np.clip(
                        np.dot(cv, nv) / (np.linalg.norm(cv) * np.linalg.norm(nv)), -1.0, 1.0)))
                    if not cross_list:
                        cross_list.append(0.0)
                    if deviation < threshold:
                        decision = RoadOption.STRAIGHT
                    elif next_cross < min(cross_list):
                        decision = RoadOption.LEFT
                    elif next_cross > max(cross_list):
                        decision = RoadOption.RIGHT
                    elif next_cross < 0:
                        decision = RoadOption.LEFT
                    elif next_cross > 0:
                        decision = RoadOption.RIGHT
                else:
                    decision = next_edge.type
        else:
            decision = next_edge.type
        self._previous_decision = decision
        return decision

    @staticmethod
    def _closest(wp: Waypoint, waypoints: Sequence[Waypoint]) -> int:
        loc = wp.xyz
        best, idx = math.inf, -1
        for i, w in enumerate(waypoints):
            d = math.dist(w.xyz, loc)
            if d < best:
                best, idx = d, i
        return idx

    # ---------------------------------------------------------------- public
    def trace_route(self, origin: Location, destination: Location) -> list[tuple[Waypoint, RoadOption]]:
        """Dense (Waypoint, RoadOption) pairs from origin to destination."""
        trace: list[tuple[Waypoint, RoadOption]] = []
        route = self._path_search(origin, destination)
        current = self._map.get_waypoint(origin)
        dest_wp = self._map.get_waypoint(destination)
        for i in range(len(route) - 1):
            option = self._turn_decision(i, route)
            edge = self._edge(route[i], route[i + 1])
            if edge.type not in (RoadOption.LANEFOLLOW, RoadOption.VOID):
                trace.append((current, option))
                n1, n2 = self._road_id_to_edge[edge.exit_waypoint.key]
                nxt = self._edge(n1, n2)
                if nxt.path:
                    j = min(len(nxt.path) - 1, self._closest(current, nxt.path) + 5)
                    current = nxt.path[j]
                else:
                    current = nxt.exit_waypoint
                trace.append((current, option))
            else:
                path = [edge.entry_waypoint] + edge.path + [edge.exit_waypoint]
                closest = self._closest(current, path)
                for wp in path[closest:]:
                    current = wp
                    trace.append((current, option))
                    if len(route) - i <= 2:
                        if math.dist(wp.xyz, destination.as_tuple()) < 2 * self._res:
                            break
                        if current.key == dest_wp.key and closest > self._closest(dest_wp, path):
                            break
        return trace


def interpolate_trajectory(map_: Map, keypoints: Sequence[Location], hop_resolution: float = 1.0,
                           planner: GlobalRoutePlanner | None = None,
                           ) -> tuple[list[tuple[dict, RoadOption]], list[tuple[Transform, RoadOption]]]:
    """The leaderboard's route interpolation: trace_route between consecutive keypoints
    (joins not de-duplicated); returns (gps_route, route) with gps entries
    {'lat', 'lon', 'z'} from the map's geoReference. A planner built for this map and
    resolution may be passed in to reuse its graph."""
    if len(keypoints) < 2:
        raise ValueError(f"a route needs at least 2 keypoints, got {len(keypoints)}")
    grp = planner or GlobalRoutePlanner(map_, hop_resolution)
    lat_ref, lon_ref = map_.lat_lon_ref
    route: list[tuple[Transform, RoadOption]] = []
    gps_route: list[tuple[dict, RoadOption]] = []
    for a, b in zip(keypoints[:-1], keypoints[1:]):
        for wp, option in grp.trace_route(a, b):
            tf = wp.transform
            route.append((tf, option))
            loc = tf.location
            gps_route.append((location_to_gps(lat_ref, lon_ref, loc.x, loc.y, loc.z), option))
    return gps_route, route
