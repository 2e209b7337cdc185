"""Route obstacles and emergency vehicles: LEAD's route shifts (expert.py
_solve_obstacle_scenarios).

An obstacle cluster is what stands still in the ego's lane ahead: static props, stopped
vehicles the scenario owns (role name "scenario*"), and stopped vehicles of unknown role near
a route scenario of an obstacle type. Within 50 m the route is shifted onto the neighbour
lane with the family's transition length and margins (construction: 10.5 m transition;
TwoWays variants: short transitions into the oncoming lane). The ego waits (IDM, 2.0 m /
0.1 s) just after the shift starts until the lane it moves into is free for the time it
needs to pass plus 10 m and 0.2 s; TwoWays passes then happen at 40 km/h (slower where the
shifted route bends). An emergency vehicle closing in from behind makes the ego move onto a
free neighbour lane of its own direction until it has passed. Bicycles riding at the lane's
edge (HazardAtSideLane*) are passed by lead.expert.hazard.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from lead.expert import hazard
from lead.expert.config import OBSTACLE_SCENARIOS, ExpertConfig, ShiftParams
from lead.expert.idm import idm_target_speed
from lead.expert.inputs import ActorsView, Category, EgoView, scenario_actor
from lead.expert.route import DenseRoute
from lead.world.lane_types import LaneChange, LaneType
from lead.world.map import Map, Waypoint
from lead.world.transform import Location

BEV = (-32.0, 64.0, 40.0)  # LEAD's planning area: x from, x to, |y| (ego frame)
_CONE_TYPES = ("constructioncone", "trafficcone", "warningconstruction")


@dataclass(frozen=True)
class ScenarioHint:
    """A Leaderboard 2.0 scenario of the route (type, trigger location, XML parameters)."""
    type: str
    location: tuple[float, float, float]
    parameters: Mapping[str, Any] = field(default_factory=dict)  # XML tag -> value or attribute dict

    def parameter(self, name: str) -> str:
        """A parameter's value ("" if absent); `<direction value="right"/>` reads "right"."""
        v = self.parameters.get(name, "")
        return str(v.get("value", "") if isinstance(v, Mapping) else v)


@dataclass
class _Obstacle:
    type: str
    ids: tuple[int, ...]
    first: int  # actor ids
    last: int
    to_left: bool
    two_ways: bool
    params: ShiftParams
    from_index: int = -1
    to_index: int = -1
    path_clear: bool = False


@dataclass(frozen=True)
class ObstacleDecision:
    target_speed: float
    constrained: bool = False  # the obstacle logic holds the ego back (target_speed applies)
    override: bool = False  # a TwoWays pass or a yield under way: drive at target_speed
    actor_id: int = -1
    distance: float = math.inf
    scenario_type: str = ""
    obstacle_ids: frozenset[int] = frozenset()  # the obstacle cluster being handled
    ignore_ids: frozenset[int] = frozenset()  # the emergency vehicle the ego makes room for


def min_time_for_distance(config: ExpertConfig, distance: float, target_speed: float, ego_speed: float) -> float:
    """Seconds the ego needs to cover `distance` accelerating towards `target_speed`, with
    LEAD's cubic fit of the bicycle model's acceleration (speeds scaled by 1/120)."""
    p = config.compute_min_time_to_cover_distance_params
    remaining, t, v = distance, 0.0, ego_speed
    dt = config.dt
    while True:
        if v == 0.0 and target_speed == 0.0 and remaining > 0.0:
            return math.inf
        if remaining - v * dt < 0.0:
            break
        remaining -= v * dt
        t += dt
        n = v / 120.0
        dv = max(p[0] + n * p[1] + p[2] * n ** 2 + p[3] * n ** 3, 0.0)
        v = min(max(120.0 * (n + dv), 0.0), target_speed)
    return t + remaining / v if v > 0.0 else t


def previous_lanes(wp: Waypoint, steps: int) -> set[tuple[int, int]]:
    """(road, lane) of a lane and of its predecessors over `steps` metres upstream."""
    out = {(wp.road_id, wp.lane_id)}
    for _ in range(steps):
        prev = wp.previous(1.0)
        if not prev:
            break
        wp = prev[0]
        out.add((wp.road_id, wp.lane_id))
    return out


def _in_bev(ego: EgoView, xy: np.ndarray) -> np.ndarray:
    c, s = math.cos(ego.yaw_rad), math.sin(ego.yaw_rad)
    d = xy[:, :2] - np.array([ego.x, ego.y])
    x, y = c * d[:, 0] + s * d[:, 1], -s * d[:, 0] + c * d[:, 1]
    return (x >= BEV[0]) & (x <= BEV[1]) & (np.abs(y) <= BEV[2])


class RouteObstacles:
    """Per-route state of obstacle passes and emergency-vehicle yields."""

    def __init__(self, map_: Map, config: ExpertConfig, hints: Sequence[ScenarioHint] = ()) -> None:
        self.map, self.config = map_, config
        self.hints = [h for h in hints if h.type in OBSTACLE_SCENARIOS + hazard.HAZARD_SCENARIOS]
        self.active: _Obstacle | None = None
        self.hazard: hazard.HazardPass | None = None
        self.done_ids: set[int] = set()
        self.emergency: tuple[int, bool, int] | None = None  # (actor id, to_left, shift end index)
        self._lanes_cache: dict[tuple[int, int, int], set[tuple[int, int]]] = {}

    # ------------------------------------------------------------------ detection
    def _hint_near(self, xy: np.ndarray, types: Sequence[str] = OBSTACLE_SCENARIOS) -> ScenarioHint | None:
        """The route's scenario of one of `types` whose trigger is nearest: within 60 m beyond
        its `distance` (how far past the trigger the scenario puts its obstacle)."""
        best, best_d = None, math.inf
        for h in self.hints:
            if h.type not in types:
                continue
            d = math.hypot(h.location[0] - xy[0], h.location[1] - xy[1])
            try:
                reach = 60.0 + float(h.parameter("distance") or 0.0)
            except ValueError:
                reach = 60.0
            if d < min(best_d, reach):
                best, best_d = h, d
        return best

    def _detect(self, route: DenseRoute, ego: EgoView, actors: ActorsView) -> _Obstacle | None:
        c = self.config
        still = (actors.category == Category.STATIC) | (actors.speed < 0.1)
        cand = []
        for i in np.flatnonzero(still & (actors.category != Category.PEDESTRIAN)):
            aid = int(actors.ids[i])
            if aid in self.done_ids:
                continue
            xy = actors.location[i, :2]
            # the first obstacle must be in range; the rest of its group may lie beyond
            # (an accident's cars stand 10-16 m behind the police car)
            far = math.hypot(xy[0] - ego.x, xy[1] - ego.y) - c.default_max_distance_to_process_scenario
            if far > 2.0 * c.obstacle_cluster_length:
                continue
            role, hint = actors.roles[i], self._hint_near(xy)
            # props are always passed; a vehicle only near an obstacle scenario of the route
            # (LEAD's expert knows the active scenarios: not a BlockedIntersection's blocker)
            # and only a scenario's own actor, never background traffic
            if actors.category[i] != Category.STATIC and (hint is None or not scenario_actor(role)):
                continue
            idx = route.nearest_index(xy)
            if idx <= route.index or idx >= len(route) - 1:
                continue
            # how far the actor reaches into the route's lane
            yaw = math.radians(route.yaw[idx])
            d = xy - route.original[idx, :2]
            lateral = -math.sin(yaw) * d[0] + math.cos(yaw) * d[1]
            rel = math.radians(actors.yaw[i]) - yaw
            half = abs(actors.extent[i, 0] * math.sin(rel)) + abs(actors.extent[i, 1] * math.cos(rel))
            if hint is not None and hint.type == "VehicleOpensDoorTwoWays":
                half += 1.0  # the open door
            if 0.5 * route.lane_width[idx] - (abs(lateral) - half) > c.obstacle_lane_margin:
                cand.append((idx, i, lateral, far))
        cand.sort()
        if not cand or cand[0][3] > 0.0:
            return None
        cluster = [cand[0]]
        for item in cand[1:]:
            if item[0] - cluster[-1][0] <= c.points(c.obstacle_cluster_length):
                cluster.append(item)
        first, last = cluster[0], cluster[-1]
        hint = self._hint_near(actors.location[first[1], :2])
        to_left = self._direction(route, first[0], hint, first[2])
        if to_left is None:
            return None
        wp = route.waypoints[first[0]]
        target = wp.get_left_lane() if to_left else wp.get_right_lane()
        two_ways = target is not None and (target.lane_id > 0) != (wp.lane_id > 0)
        family = hint.type.removesuffix("TwoWays") if hint else self._family(actors, [k[1] for k in cluster])
        kind = family + ("TwoWays" if two_ways and family + "TwoWays" in OBSTACLE_SCENARIOS else "")
        params = c.shifts[kind]
        width = float(route.lane_width[route.index])
        if kind.startswith("ConstructionObstacle"):
            params = ShiftParams(params.transition, params.add_before, params.add_after,
                                 1.13 if width <= 2.76 else 1.12, params.add_after_slow)
        elif kind == "VehicleOpensDoorTwoWays":
            params = ShiftParams(params.transition, params.add_before, params.add_after,
                                 1.0 if width <= 2.76 else 0.875 if width <= 3.01 else 0.75)
        return _Obstacle(kind, tuple(int(actors.ids[k[1]]) for k in cluster), int(actors.ids[first[1]]),
                         int(actors.ids[last[1]]), to_left, kind.endswith("TwoWays"), params)

    @staticmethod
    def _family(actors: ActorsView, members: list[int]) -> str:
        types = [actors.type_ids[k] for k in members]
        if any(any(t in ty for t in _CONE_TYPES) for ty in types):
            return "ConstructionObstacle"
        if any("warningaccident" in ty for ty in types) or any(actors.category[k] == Category.EMERGENCY for k in members):
            return "Accident"
        return "ParkedObstacle"

    def _direction(self, route: DenseRoute, idx: int, hint: ScenarioHint | None, lateral: float) -> bool | None:
        """True to pass on the left. LEAD's scenario `direction` names the obstacle's side."""
        side = hint.parameter("direction").lower() if hint is not None else ""
        if side in ("left", "right"):
            return side == "right"
        wp = route.waypoints[idx]
        sides = [True, False] if lateral >= 0.0 else [False, True]  # pass on the side away from it
        for to_left in sides:
            other = wp.get_left_lane() if to_left else wp.get_right_lane()
            if other is not None and other.lane_type == LaneType.Driving:
                return to_left
        return None

    # ------------------------------------------------------------------ path check
    def _path_clear(self, route: DenseRoute, ego: EgoView, actors: ActorsView, ob: _Obstacle | hazard.HazardPass,
                    target_speed: float, min_speed: float) -> bool:
        """LEAD's is_two_ways_overtaking_path_clear: no vehicle of the lane the ego moves
        into reaches the shift's end before the ego has passed it by 10 m + 0.2 s."""
        c = self.config
        wp = route.waypoints[route.index]
        target = wp.get_left_lane() if ob.to_left else wp.get_right_lane()
        if target is None:
            return False
        if target.key not in self._lanes_cache:
            self._lanes_cache[target.key] = previous_lanes(target, c.previous_road_lane_retrieve_distance)
        lanes = self._lanes_cache[target.key]
        to = route.points[min(ob.to_index, len(route) - 1)]
        ego_xy = np.array([ego.x, ego.y])
        distance = float(np.linalg.norm(to[:2] - ego_xy)) + 2.0 * ego.extent[0] + c.check_path_free_safety_distance
        ego_time = min_time_for_distance(c, distance, min(min_speed, target_speed), ego.speed)
        forward = np.array([math.cos(ego.yaw_rad), math.sin(ego.yaw_rad)])
        vehicles = np.isin(actors.category, (Category.VEHICLE, Category.BICYCLE, Category.EMERGENCY))
        for i in np.flatnonzero(vehicles & _in_bev(ego, actors.location)):
            if int(actors.ids[i]) in ob.ids:
                continue
            xy = actors.location[i, :2]
            vwp = self.map.get_waypoint(Location(*actors.location[i]))
            if vwp is None or (vwp.road_id, vwp.lane_id) not in lanes:
                continue
            ahead = float(forward @ (xy - ego_xy))
            if ahead < 0.0 and ob.two_ways:
                continue  # behind the ego in the oncoming lane: not on the way
            if ob.two_ways and ego.speed < 1.0 and actors.speed[i] > 3.0 and ahead < self._almost_passed(ob.type, route):
                continue
            vyaw = math.radians(actors.yaw[i])
            if float(np.array([math.cos(vyaw), math.sin(vyaw)]) @ (to[:2] - xy)) < 0.0:
                if ob.two_ways:
                    return False  # already past the end of the shift, coming towards the ego
                continue  # ahead of the shift's end, driving away
            other_time = (float(np.linalg.norm(to[:2] - xy)) - actors.extent[i, 0]) / max(1.0, float(actors.speed[i]))
            if other_time < ego_time + c.check_path_free_safety_time:
                return False
        return True

    @staticmethod
    def _almost_passed(kind: str, route: DenseRoute) -> float:
        """TwoWays: LEAD lets a fast vehicle this close ahead count as gone when starting from rest."""
        width = float(route.lane_width[route.index])
        base = {"ConstructionObstacleTwoWays": 8, "VehicleOpensDoorTwoWays": 8}.get(kind, 7)
        return base + (0 if width <= 2.76 else 1 if width <= 3.01 else 2 if width <= 3.51 else 0)

    # ------------------------------------------------------------------ per tick
    def update(self, route: DenseRoute, ego: EgoView, actors: ActorsView, target_speed: float) -> ObstacleDecision:
        c = self.config
        yielding = self._yield_to_emergency(route, ego, actors)
        if self.active is None and self.hazard is None:
            self.active = self._detect(route, ego, actors)
            if self.active is None:
                group = hazard.detect(route, ego, actors, c, self._hazard_type_near, self.done_ids)
                self.hazard = hazard.HazardPass(group) if group is not None else None
        elif self.active is not None and (self.active.from_index < 0 or route.index < self.active.from_index):
            # until the shift begins the group may still grow: members that came into range, or
            # whose role arrived on /carla/actor_list a tick after they appeared on /carla/objects
            again = self._detect(route, ego, actors)
            if again is not None and again.first == self.active.first and again.ids != self.active.ids:
                self.active = again
        ob = self.active
        # LEAD drives on at 40 km/h while an emergency vehicle passes; braking in front of it
        # is the one thing not to do, so the collision checks skip it
        none = ObstacleDecision(c.default_overtake_speed, override=True, scenario_type="YieldToEmergencyVehicle",
                                ignore_ids=yielding) if yielding else ObstacleDecision(target_speed)
        if self.hazard is not None:
            return self._pass_hazard(route, ego, actors, target_speed, none)
        if ob is None:
            return none
        first = actors.index_of(ob.first)
        last = actors.index_of(ob.last)
        if first is None or last is None:  # the obstacle is gone
            self._finish()
            return none
        first_xy = actors.location[first, :2]
        distance = math.hypot(first_xy[0] - ego.x, first_xy[1] - ego.y)
        if ob.from_index < 0 and distance < c.default_max_distance_to_process_scenario:
            p = ob.params
            after = p.add_after_slow if (p.add_after_slow is not None and route.speed_limit[route.index] < 15.0) \
                else p.add_after
            margin = c.two_ways_shift_margin if ob.two_ways else 0.0
            ob.from_index, ob.to_index = route.shift_around(
                first_xy, float(actors.extent[first, 0]), actors.location[last, :2], float(actors.extent[last, 0]),
                ob.to_left, p.transition, p.factor, p.add_before + margin, after + margin)
        if ob.from_index < 0:
            return none
        overtake = c.default_overtake_speed
        if ob.type == "VehicleOpensDoorTwoWays" and route.lane_width[route.index] <= 3.01:
            overtake = c.overtake_speed_vehicle_opens_door_two_ways
        if not ob.path_clear and (ob.from_index - route.index) < c.points(c.max_distance_to_overtake_two_way_scenarios):
            ob.path_clear = self._path_clear(route, ego, actors, ob, target_speed,
                                             overtake if ob.two_ways else c.default_overtake_speed)
        # done: TwoWays once the shift is (nearly) over, otherwise once abreast of the first obstacle
        c_yaw, s_yaw = math.cos(ego.yaw_rad), math.sin(ego.yaw_rad)
        rel_x = c_yaw * (first_xy[0] - ego.x) + s_yaw * (first_xy[1] - ego.y)
        if ob.path_clear and ((ob.two_ways and route.index >= ob.to_index - c.points(c.distance_to_delete_scenario_in_two_ways))
                              or (not ob.two_ways and rel_x < 3.0)):
            self._finish()
            return none
        ids = frozenset(ob.ids)
        if ob.path_clear:
            if ob.two_ways:
                return ObstacleDecision(overtake, override=True, scenario_type=ob.type, obstacle_ids=ids,
                                        ignore_ids=yielding)
            return ObstacleDecision(none.target_speed, override=none.override, scenario_type=ob.type,
                                    obstacle_ids=ids, ignore_ids=yielding)
        merge = (ob.from_index + c.points(c.two_ways_merge_offset) - route.index) / c.points_per_meter
        s0, headway = c.idm_two_way_scenarios
        hold = idm_target_speed(c, target_speed, ego.extent[0], ego.speed, 0.0, merge, s0, headway)
        hold = min(hold, self._approach_cap(route, ob, distance, target_speed))
        return ObstacleDecision(hold, True, False, ob.first, distance, ob.type, ids, yielding)

    def _hazard_type_near(self, xy: np.ndarray) -> str | None:
        h = self._hint_near(xy, hazard.HAZARD_SCENARIOS)
        return h.type if h is not None else None

    def _pass_hazard(self, route: DenseRoute, ego: EgoView, actors: ActorsView, target_speed: float,
                     none: ObstacleDecision) -> ObstacleDecision:
        """Bicycles at the lane's edge: ride behind them, then pass on the left lane."""
        hz = self.hazard
        group = hz.group
        state = hz.step(route, ego, actors, self.config, lambda: self._path_clear(
            route, ego, actors, hz, target_speed, self.config.default_overtake_speed))
        if state == "done":
            self.done_ids.update(group.ids)
            self.hazard = None
            return none
        ids = frozenset(group.ids) if state == "pass" else frozenset()
        if state == "pass" and group.two_ways:
            return ObstacleDecision(self.config.default_overtake_speed, override=True, scenario_type=group.type,
                                    obstacle_ids=ids, ignore_ids=none.ignore_ids)
        return ObstacleDecision(none.target_speed, override=none.override, scenario_type=group.type,
                                obstacle_ids=ids, ignore_ids=none.ignore_ids)

    def _approach_cap(self, route: DenseRoute, ob: _Obstacle, distance: float, target_speed: float) -> float:
        """LEAD slows down 25-50 m before an accident, construction or parked obstacle."""
        if ob.two_ways:
            return target_speed
        limit = float(route.speed_limit[route.index])
        window, cap = ((50.0, 10.0) if limit > 25.0 else (45.0, 7.5) if limit > 20.0
                       else (40.0 if ob.type != "ParkedObstacle" else 35.0, self.config.min_target_speed_limit))
        return min(target_speed, cap) if 25.0 < distance < window else target_speed

    def _finish(self) -> None:
        if self.active is not None:
            self.done_ids.update(self.active.ids)
        self.active = None

    # ------------------------------------------------------------------ emergency vehicles
    def _yield_to_emergency(self, route: DenseRoute, ego: EgoView, actors: ActorsView) -> frozenset[int]:
        """Make room for an emergency vehicle closing in from behind (LEAD's
        YieldToEmergencyVehicle); returns its id while it has not passed."""
        c = self.config
        forward = np.array([math.cos(ego.yaw_rad), math.sin(ego.yaw_rad)])
        ego_xy = np.array([ego.x, ego.y])
        if self.emergency is not None:
            aid, to_left, end = self.emergency
            k = actors.index_of(aid)
            if k is None or float(forward @ (actors.location[k, :2] - ego_xy)) > 0.0:
                self.emergency = None  # passed (or gone): the extension ends with a transition back
                return frozenset()
            self.emergency = (aid, to_left, route.extend_shift(to_left, end))
            return frozenset([aid])
        for k in np.flatnonzero((actors.category == Category.EMERGENCY) & (actors.speed > 1.0)):
            diff = actors.location[k, :2] - ego_xy
            if float(forward @ diff) >= 0.0 or float(np.linalg.norm(diff)) > c.default_max_distance_to_process_scenario:
                continue
            start = route.index + c.points(c.emergency_yield_start)
            if start >= len(route) - 1:
                break
            to_left = self._free_side(route.waypoints[start])
            if to_left is None:
                break
            end = min(start + c.points(c.emergency_yield_length), len(route))
            tr = c.points(c.transition_smoothness_distance)
            route.shift_smoothly(start, end, to_left, tr)
            self.emergency = (int(actors.ids[k]), to_left, end - tr)
            return frozenset([int(actors.ids[k])])
        return frozenset()

    @staticmethod
    def _free_side(wp: Waypoint) -> bool | None:
        """A neighbour driving lane of the ego's direction, left first unless only a change
        to the right is allowed (LEAD's choice)."""
        order = [False, True] if wp.lane_change == LaneChange.Right else [True, False]
        for to_left in order:
            other = wp.get_left_lane() if to_left else wp.get_right_lane()
            if other is not None and other.lane_type == LaneType.Driving and (other.lane_id > 0) == (wp.lane_id > 0):
                return to_left
        return None

    @property
    def scenario_type(self) -> str:
        if self.active is not None:
            return self.active.type
        if self.hazard is not None:
            return self.hazard.group.type
        return "YieldToEmergencyVehicle" if self.emergency is not None else ""
