"""The expert: privileged state in, control + plan + labels out (LEAD's PDM-Lite lineage).

    expert = Expert(map, route, config)            # route: [(x, y, z) or Transform, RoadOption]
    out = expert.step(t, ego, actors, lights)      # once per 20 Hz tick
    out.control, out.plan, out.labels

Per tick: the route index follows the ego; the target speed is 0.72 x the speed limit
(lowered on bends, 25 km/h near junctions on roads below 40 km/h); route obstacles may shift
the route; then the IDM towards that speed behind leading vehicles, red lights, stop signs and
the route's end, and the forecast check (ego under its controllers vs every actor within
50 m over 2 s, 1.1 s near a lane change) lower it; LEAD's lateral PID and linear throttle
model turn it into a command. Deterministic: the same inputs give the same outputs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from lead.control import ForecastBicycle, LinearLongitudinalController, RouteLateralController, VehicleControl
from lead.control.lateral import lookahead_distance
from lead.expert.config import ExpertConfig
from lead.expert.forecast import (EgoModel, boxes_overlap, ego_boxes, first_overlaps, rollout_ego, speed_profile,
                                  vehicle_boxes, walker_boxes)
from lead.expert.idm import idm_target_speed
from lead.expert.inputs import ActorsView, Category, EgoView, actors_view, ego_view
from lead.expert.labels import CATEGORY_REASON, BrakeReason, ExpertLabels, target_speed_class, to_ego
from lead.expert.obstacles import RouteObstacles, ScenarioHint
from lead.expert.route import LANE_CHANGES, DenseRoute
from lead.expert.signals import light_number, light_state, route_lights, route_stop_signs, stops_for
from lead.expert.targets import TargetPointPlanner
from lead.world.map import Map
from lead.world.transform import Location

REDUCED = 0.1  # m/s below the limit-based speed before a cause is reported


@dataclass(frozen=True)
class Plan:
    waypoints: np.ndarray  # (8, 2) ego frame (x forward, y right), one every waypoint_dt
    waypoint_dt: float
    route_checkpoints: np.ndarray  # (10, 2) ego frame, ~1 m apart from 2.5 m ahead
    target_speed: float  # m/s


@dataclass(frozen=True)
class ExpertOutput:
    control: VehicleControl
    plan: Plan
    labels: ExpertLabels


@dataclass(frozen=True)
class _Cause:
    speed: float
    reason: BrakeReason
    actor_id: int = -1
    distance: float = math.inf


def _route_arrays(route: Sequence[tuple[Any, Any]]) -> tuple[np.ndarray, list[int]]:
    pts, opts = [], []
    for point, option in route:
        loc = getattr(point, "location", point)
        pts.append((loc.x, loc.y, loc.z) if hasattr(loc, "x") else tuple(float(c) for c in loc[:3]))
        opts.append(int(option))
    return np.asarray(pts, dtype=np.float64), opts


class Expert:
    def __init__(self, map_: Map, route: Sequence[tuple[Any, Any]], config: ExpertConfig | None = None,
                 scenarios: Iterable[ScenarioHint] = ()) -> None:
        """`route`: the leaderboard's dense route, (point, RoadOption) pairs in CARLA's frame;
        `scenarios`: the route's scenarios (obstacle types steer how obstacles are passed)."""
        self.map, self.config = map_, config or ExpertConfig()
        c = self.config
        points, options = _route_arrays(route)
        self.route = DenseRoute(map_, points, options, c)
        self.lights = route_lights(self.route, map_, c)
        self.stop_signs = route_stop_signs(self.route, map_, c)
        self.targets = TargetPointPlanner(points, options, c.target_point_pop_distance, c.route_planner_max_distance,
                                          c.plan_sample_factor)
        hints = list(scenarios)
        self.obstacles = RouteObstacles(map_, c, hints)
        # route scenarios by the route index of their trigger, for the scenario label
        self._scenarios = sorted((self.route.nearest_index(h.location[:2], 0), h.type) for h in hints)
        self.lateral = RouteLateralController()
        self.longitudinal = LinearLongitudinalController()
        self.bicycle = ForecastBicycle()
        self.ego_model = EgoModel(self.bicycle)
        self._rng = np.random.default_rng(c.seed)
        self._started = False
        self._stop_sign: tuple[str, bool, int] | None = None  # (id, cleared, ticks waited)
        self._blocked_ticks = 0
        self._creeping = False

    # ------------------------------------------------------------------ target speed
    def _limit_target(self, ego_speed: float) -> tuple[float, float]:
        """0.72 x min(speed limit, curvature limit), capped near junctions of slow roads; and
        0.72 x the curvature limit alone (it also caps passes around obstacles)."""
        c, r = self.config, self.route
        i = r.index
        limit = float(r.speed_limit[i])
        hi = min(i + c.points(c.curvature_lookahead), len(r))
        kappa = np.maximum(r.curvature[i:hi], 1e-6)
        # the car starts turning when its lookahead point reaches a bend: be slow by then
        dist = np.maximum(np.arange(hi - i) / c.points_per_meter - lookahead_distance(ego_speed), 0.0)
        bend = np.sqrt(c.curvature_lateral_acceleration / kappa + 2.0 * c.curvature_braking_deceleration * dist)
        bend_cap = c.ratio_target_speed_limit * (float(bend.min()) if len(bend) else math.inf)
        target = min(c.ratio_target_speed_limit * limit, bend_cap)
        if limit < c.urban_speed_limit and r.junction_ahead(c.max_lookahead_to_check_for_junction):
            target = min(target, c.max_speed_in_junction_urban)
        return min(target, c.max_target_speed), bend_cap

    def _idm(self, desired: float, length: float, ego_speed: float, other_speed: float, distance: float,
             params: tuple[float, float]) -> float:
        return idm_target_speed(self.config, desired, length, ego_speed, other_speed, distance, *params)

    def _light_cause(self, ego: EgoView, desired: float, lights: Mapping[Any, Any]) -> _Cause | None:
        c, r = self.config, self.route
        nxt = next((L for L in self.lights if L.index >= r.index), None)
        if nxt is None:
            return None
        distance = (nxt.index - r.index) / c.points_per_meter
        if distance > c.light_radius or not stops_for(light_state(lights, nxt.light_id)):
            return None
        distance = max(distance - nxt.extra_distance, 0.0)
        speed = self._idm(desired, 0.0, ego.speed, 0.0, distance, c.idm_red_light)
        return _Cause(speed, BrakeReason.RED_LIGHT, light_number(nxt.light_id), distance)

    def _stop_sign_cause(self, ego: EgoView, desired: float) -> _Cause | None:
        """Full stop within 3 m of the sign (25 ticks below 0.1 m/s), then go; a sign left
        more than 10 m behind or ahead is forgotten (LEAD)."""
        c, r = self.config, self.route
        ppm = c.points_per_meter
        look = c.points(c.stop_sign_lookahead + c.stop_sign_proximity)
        sign = next((s for s in self.stop_signs if s.index + look >= r.index), None)
        if sign is None:
            return None
        distance = math.hypot(sign.center[0] - ego.x, sign.center[1] - ego.y)
        state = self._stop_sign if self._stop_sign is not None and self._stop_sign[0] == sign.sign_id \
            else (sign.sign_id, False, 0)
        sid, cleared, waited = state
        if distance > c.unclearing_distance_to_stop_sign:
            cleared, waited = False, 0
        elif ego.speed < c.blocked_speed and distance < c.clearing_distance_to_stop_sign:
            waited += 1
            cleared = cleared or waited > c.stop_sign_wait_ticks
        else:
            waited = 0
        self._stop_sign = (sid, cleared, waited)
        if cleared or sign.index - r.index > c.light_radius * ppm:
            return None
        speed = self._idm(desired, 0.0, ego.speed, 0.0, distance, c.idm_stop_sign)
        return _Cause(speed, BrakeReason.STOP_SIGN, light_number(sign.sign_id), distance)

    def _actor_causes(self, ego: EgoView, actors: ActorsView, desired: float, forecast: tuple,
                      near_lane_change: bool, obstacle_ids: frozenset[int]) -> list[_Cause]:
        """Leading vehicles (IDM) and forecast overlaps (stop, or IDM behind pedestrians and
        bicycles), as LEAD's compute_target_speed_wrt_leading_vehicle / _wrt_all_actors.
        `forecast`: the ego's rollout towards `desired` (locations, headings, speeds);
        `obstacle_ids`: the route obstacle being passed (reported as a static obstacle)."""
        c, r = self.config, self.route
        causes: list[_Cause] = []
        loc, head, _ = forecast
        steps = len(head)
        ego_b = ego_boxes(ego, loc, head, c)
        ego_xy = np.array([ego.x, ego.y])
        walkers = actors.category == Category.PEDESTRIAN
        others = actors.subset(~walkers)
        moving = others.category != Category.STATIC
        leading = r.leading(others.location, others.yaw) & moving
        trailing = r.trailing(others.location, others.yaw) & moving
        dist = np.linalg.norm(others.location[:, :2] - ego_xy, axis=1)
        if not near_lane_change:
            for k in np.flatnonzero(leading):
                speed = self._idm(desired, 2.0 * others.extent[k, 0], ego.speed, others.speed[k], dist[k],
                                  c.idm_leading_vehicle)
                causes.append(_Cause(speed, CATEGORY_REASON[Category(others.category[k])], int(others.ids[k]),
                                     float(dist[k])))
        checked = np.ones(len(others), dtype=bool) if near_lane_change else ~(leading | trailing)
        hits = first_overlaps(ego_b, vehicle_boxes(others, steps, near_lane_change, self.bicycle, c))
        crossing_zone = r.is_junction[r.index] or r.junction_ahead(c.junction_yield_distance)
        for k in np.flatnonzero(checked & (hits >= 0)):
            cat = Category(others.category[k])
            if cat == Category.BICYCLE:
                speed = self._idm(desired, 2.0 * others.extent[k, 0], ego.speed, others.speed[k], dist[k], c.idm_bicycle)
                causes.append(_Cause(speed, BrakeReason.BICYCLE, int(others.ids[k]), float(dist[k])))
                continue
            reason = CATEGORY_REASON[cat]
            if int(others.ids[k]) in obstacle_ids:
                reason = BrakeReason.STATIC_OBSTACLE
            elif cat == Category.VEHICLE:
                reason = BrakeReason.JUNCTION if crossing_zone else BrakeReason.SAFETY
            causes.append(_Cause(0.0, reason, int(others.ids[k]), float(dist[k])))
        peds = actors.subset(walkers)
        for k in np.flatnonzero(first_overlaps(ego_b, walker_boxes(peds, steps, c)) >= 0):
            d = float(np.linalg.norm(peds.location[k, :2] - ego_xy))
            speed = self._idm(desired, 0.5 + ego.extent[0], ego.speed, 0.0, d, c.idm_pedestrian)
            causes.append(_Cause(speed, BrakeReason.PEDESTRIAN, int(peds.ids[k]), d))
        return causes

    # ------------------------------------------------------------------ control
    def _creep_clear(self, ego: EgoView, actors: ActorsView) -> bool:
        """Nothing stands in the ego's box stretched `creep_clearance` metres forward."""
        c = self.config
        fwd = np.array([math.cos(ego.yaw_rad), math.sin(ego.yaw_rad)]) * (0.5 * c.creep_clearance)
        corridor = (np.array([ego.x + fwd[0]]), np.array([ego.y + fwd[1]]), np.array([ego.yaw_rad]),
                    np.array([ego.extent[0] + 0.5 * c.creep_clearance]), np.array([ego.extent[1]]))
        if len(actors) == 0:
            return True
        box = (actors.location[:, 0], actors.location[:, 1], np.radians(actors.yaw), actors.extent[:, 0],
               actors.extent[:, 1])
        return not bool(boxes_overlap(corridor, box).any())

    def _creep(self, ego: EgoView, actors: ActorsView, reason: BrakeReason) -> bool:
        """Never stand still for long without a reason that has to be waited out: after
        max_blocked_ticks still for an actor the forecast keeps in the way, creep on while the
        actors' real boxes leave the way ahead free, until that reason is gone."""
        c = self.config
        self._blocked_ticks = self._blocked_ticks + 1 if ego.speed < c.blocked_speed else 0
        soft = reason not in (BrakeReason.NONE, BrakeReason.RED_LIGHT, BrakeReason.STOP_SIGN, BrakeReason.ROUTE_END)
        if not soft:
            self._creeping = False
        elif self._blocked_ticks >= c.max_blocked_ticks:
            self._creeping = True
        return self._creeping and self._creep_clear(ego, actors)

    def _control(self, ego: EgoView, target: float, brake: bool) -> VehicleControl:
        c, r = self.config, self.route
        throttle, control_brake = self.longitudinal.control(target, ego.speed, hazard_brake=brake)
        steer = round(self.lateral.step(r.remaining(), ego.speed, np.array([ego.x, ego.y]), ego.yaw_rad), 3)
        steer += c.steer_noise * float(self._rng.standard_normal())
        brake_value = 1.0 if (brake or control_brake) else 0.0
        if throttle == 0.0 and ego.speed < c.minimum_speed_to_prevent_rolling_back:
            brake_value = 1.0  # no rolling back
        return VehicleControl(throttle=float(throttle), steer=float(steer), brake=brake_value).clipped()

    # ------------------------------------------------------------------ step
    def step(self, t: float, ego: Any, actors: Iterable[Any], lights: Mapping[Any, Any],
             roles: Mapping[int, str] | None = None) -> ExpertOutput:
        """One tick: `ego` with pose and speed, the other actors (the ego is skipped by id),
        traffic light states by id (OpenDRIVE id or the bridge's int id), optional role
        names by actor id. `t` (sim seconds) is part of the interface; the expert keeps time
        in ticks, as LEAD does, so one call must be one 20 Hz tick."""
        c, r = self.config, self.route
        ev = ego_view(ego)
        av = actors_view(actors, getattr(ego, "id", None), roles)
        ego_xy = np.array([ev.x, ev.y])
        if not self._started:
            r.localize(ego_xy)
            self._started = True
        r.advance(ego_xy)
        base, bend_cap = self._limit_target(ev.speed)

        decision = self.obstacles.update(r, ev, av, base)
        desired = min(decision.target_speed, bend_cap) if decision.override else base
        near = np.linalg.norm(av.location[:, :2] - ego_xy, axis=1) < c.detection_radius
        checked = near & ~np.isin(av.ids, list(decision.ignore_ids))
        near_lc = r.near_lane_change(ev.speed)
        steps = int(c.fps * (c.forecast_length_lane_change if near_lc else c.default_forecast_length))

        causes: list[_Cause] = []
        if decision.constrained:
            causes.append(_Cause(decision.target_speed, BrakeReason.STATIC_OBSTACLE, decision.actor_id,
                                 decision.distance))
        for cause in (self._light_cause(ev, desired, lights), self._stop_sign_cause(ev, desired)):
            if cause is not None:
                causes.append(cause)
        forecast = rollout_ego(ev, r, self.lateral, self.longitudinal, self.ego_model, desired, steps)
        causes += self._actor_causes(ev, av.subset(checked), desired, forecast, near_lc, decision.obstacle_ids)
        if c.stop_at_route_end and r.distance_to_end < c.light_radius:
            # stop with the ego's centre on the last route point (overshooting shrinks the gap)
            speed = self._idm(desired, 0.0, ev.speed, 0.0, r.distance_to_end + c.idm_stop_sign[0], c.idm_stop_sign)
            causes.append(_Cause(speed, BrakeReason.ROUTE_END, -1, r.distance_to_end))

        target, cause = desired, None
        for cz in causes:
            if cz.speed < target:
                target, cause = cz.speed, cz
        brake = target == 0.0
        # a cause is reported when it holds the ego below what the IDM allows on a free road
        free = self._idm(desired, 0.0, ev.speed, 0.0, math.inf, c.idm_leading_vehicle) if causes else desired
        reason = cause.reason if cause is not None and (brake or target < min(desired, free) - REDUCED) \
            else BrakeReason.NONE
        if self._creep(ev, av.subset(near), reason):
            target, brake = min(c.creep_speed, desired), False
        control = self._control(ev, target, brake)
        plan = self._plan(ev, target)
        return ExpertOutput(control, plan, self._labels(ev, plan, brake, reason, cause, decision.scenario_type))

    # ------------------------------------------------------------------ outputs
    def _plan(self, ego: EgoView, target: float) -> Plan:
        """Waypoints every 0.25 s for 2 s: where the ego gets along the route under its
        longitudinal controller and LEAD's speed model towards `target`."""
        c, r = self.config, self.route
        every = c.waypoint_interval_ticks
        covered = speed_profile(ego.speed, target, self.longitudinal, self.ego_model, every * c.num_future_waypoints)
        # the ego's own position along the route, relative to its nearest route point
        p = r.points[r.index]
        yaw = math.radians(r.yaw[r.index])
        offset = math.cos(yaw) * (ego.x - p[0]) + math.sin(yaw) * (ego.y - p[1])
        world = r.along(covered[every - 1::every], offset)
        waypoints = to_ego(world, np.array([ego.x, ego.y]), ego.yaw_rad)
        return Plan(waypoints, every / c.fps, self._checkpoints(ego), float(target))

    def _checkpoints(self, ego: EgoView) -> np.ndarray:
        c, r = self.config, self.route
        idx = r.index + c.points(c.tf_first_checkpoint_distance) + c.points_per_meter * np.arange(c.num_route_checkpoints)
        return to_ego(r.points[np.minimum(idx, len(r) - 1)], np.array([ego.x, ego.y]), ego.yaw_rad)

    def _route_scenario(self) -> str:
        """The route scenario whose trigger the ego passed last, for 60 m after it."""
        r = self.route
        passed = [kind for idx, kind in self._scenarios
                  if 0 <= r.index - idx <= self.config.points(self.config.default_max_distance_to_process_scenario + 10.0)]
        return passed[-1] if passed else ""

    def _labels(self, ego: EgoView, plan: Plan, brake: bool, reason: BrakeReason, cause: _Cause | None,
                scenario_type: str) -> ExpertLabels:
        c, r = self.config, self.route
        xy = np.array([ego.x, ego.y])
        tp = self.targets.step(xy)
        wp = self.map.get_waypoint(Location(ego.x, ego.y, ego.z))
        target = plan.target_speed
        return ExpertLabels(
            target_speed=target, target_speed_class=target_speed_class(target, c.target_speed_classes),
            brake_reason=reason, brake=brake, speed_limit=float(r.speed_limit[r.index]), ego_speed=ego.speed,
            future_waypoints=plan.waypoints, route_checkpoints=plan.route_checkpoints,
            target_point=to_ego(tp.target, xy, ego.yaw_rad), target_point_previous=to_ego(tp.previous, xy, ego.yaw_rad),
            target_point_next=to_ego(tp.next, xy, ego.yaw_rad), command=tp.command, next_command=tp.next_command,
            in_junction=bool(wp.is_junction) if wp is not None else False,
            changing_lane=bool(np.isin(r.commands[r.index], LANE_CHANGES)),
            scenario_type=scenario_type or self.obstacles.scenario_type or self._route_scenario(),
            reduced_by_id=cause.actor_id if cause is not None and reason != BrakeReason.NONE else -1,
            reduced_by_distance=cause.distance if cause is not None and reason != BrakeReason.NONE else math.inf)
