"""Background traffic of the embedded simulator: vehicles, pedestrians, traffic lights.

    traffic = Traffic(Map.from_file("Town10HD.xodr"), seed=7, num_vehicles=30, num_pedestrians=20)
    traffic.step(0.05, ego_state=ego, extra_actors=scenario_actors)
    traffic.actors()            # [ActorState] of the vehicles and pedestrians it drives
    traffic.lights()            # {OpenDRIVE signal id: LightState}
    traffic.set_light_state("944", LightState.Red)

A plain library (no ROS, no rendering), deterministic for a seed and the same inputs.
Vehicles follow lane centres kinematically (CARLA's Traffic Manager with physics off
teleports its vehicles along lanes the same way); see vehicles.py, walkers.py and
lights.py for the behaviour and the CARLA facts it follows.
"""
from __future__ import annotations

import random
from typing import Any, Iterable, Sequence

import numpy as np

from lead.world.map import Map

from .actors import ActorState, overlapping_pairs, read_actor
from .conflicts import ConflictTable, conflict_table
from .lanes import LaneGraph, lane_graph
from .lights import LightState, TrafficLights
from .rules import Rules, signal_rules
from .spawn import DEFAULT_VEHICLES, DEFAULT_WALKERS, Blueprint, as_blueprints, lane_slots, pick_spread
from .vehicles import DriverParams, Occupancy, Vehicle, Vehicles
from .walkers import SIDEWALK, Walkers, walk_net

__all__ = ["Traffic", "ActorState", "LightState", "DriverParams", "Blueprint", "overlapping_pairs"]

_TABLES: dict[tuple[int, float], tuple[Map, Rules, ConflictTable]] = {}


class Traffic:
    """Background vehicles, pedestrians and traffic lights of one map.

    `num_vehicles` vehicles start at rest on spawn slots outside junctions and
    `num_pedestrians` pedestrians on sidewalks, chosen from `seed`; blueprints default to
    the simulator's CARLA table. `cross_factor` is CARLA's pedestrian crossing factor,
    the light times CARLA's controller stage times; `first_id` is the first actor id
    handed out; `ego_state`, if given, keeps spawns away from the ego.

    External actors (the ego, scenario actors) are never moved here; traffic treats them
    as obstacles. Pass them per tick (`ego_state`, `extra_actors`) or register them
    once with `add_actor` and keep them current with `update_actor`.
    """

    def __init__(self, map: Map, seed: int = 0, num_vehicles: int = 0, num_pedestrians: int = 0,
                 vehicle_blueprints: Iterable[Any] | None = None, walker_blueprints: Iterable[Any] | None = None,
                 params: DriverParams | None = None, cross_factor: float = 0.0,
                 green_time: float = 10.0, yellow_time: float = 3.0, red_time: float = 2.0,
                 first_id: int = 1000, ego_state: Any | None = None):
        if num_vehicles < 0 or num_pedestrians < 0:
            raise ValueError(f"vehicle and pedestrian counts must be >= 0, got {num_vehicles}, {num_pedestrians}")
        if not 0.0 <= cross_factor <= 1.0:
            raise ValueError(f"cross_factor must be within [0, 1], got {cross_factor}")
        self.map, self.seed, self.time, self._last_dt = map, int(seed), 0.0, 0.05
        self.params = params or DriverParams()
        self.vehicle_blueprints = as_blueprints(vehicle_blueprints or DEFAULT_VEHICLES)
        self.walker_blueprints = as_blueprints(walker_blueprints or DEFAULT_WALKERS)
        hw_max = max(b.extent[1] for b in self.vehicle_blueprints)
        self.graph: LaneGraph = lane_graph(map)
        self.rules, table = _tables(map, self.graph, hw_max)
        self.light_system = TrafficLights(map, seed, green_time, yellow_time, red_time)
        self.vehicles = Vehicles(self.graph, table, self.rules, self.light_system, self.params, hw_max)
        self.walkers = Walkers(walk_net(map, self.graph, self.rules), self.rules, self.light_system)
        self._rng = np.random.default_rng(np.random.SeedSequence([self.seed, 0x7AF]))
        self._next_id = int(first_id)
        self._externals: dict[int, Any] = {}
        self._ego = ego_state
        self._slots = lane_slots(self.graph)
        xyz, _, _ = self.graph.pose(*self._slots) if len(self._slots[0]) else (np.zeros((0, 3)), None, None)
        self._slot_xy = xyz[:, :2]
        self._spawn_vehicles(num_vehicles)
        self._spawn_walkers(num_pedestrians, cross_factor)

    # ------------------------------------------------------------------ stepping
    def step(self, dt: float, ego_state: Any | None = None, extra_actors: Iterable[Any] = ()) -> None:
        """Advance lights, vehicles and pedestrians by dt seconds."""
        if dt <= 0:
            raise ValueError(f"dt must be positive, got {dt}")
        if ego_state is not None:
            self._ego = ego_state
        self._last_dt = dt
        others = self._others(ego_state, extra_actors)
        self.light_system.step(dt)
        occ: Occupancy = {}
        for aid, x, y, _, yaw, vel, ext in others:
            self.vehicles.register_box(occ, aid, x, y, yaw, vel[0], vel[1], ext[0], ext[1])
        for lane, d, hl, wid in self.walkers.obstacles(self.vehicles.hw_max + self.params.lateral_margin):
            occ.setdefault(lane, []).append((d, hl, 0.0, wid))
        self.vehicles.step(dt, self.time, occ, set(self.walkers.ids))
        self._recycle()
        vs = self.vehicles.vehicles
        known = [(v.pose[0], v.pose[1], v.vel[0], v.vel[1], v.hl, v.hw, v.pose[3]) for v in vs]
        known += [(x, y, vel[0], vel[1], ext[0], ext[1], np.radians(yaw)) for _, x, y, _, yaw, vel, ext in others]
        self.walkers.step(dt, np.array(known, dtype=float).reshape(-1, 7))
        self.time += dt

    def _others(self, ego: Any | None, extra: Iterable[Any]) -> list[tuple]:
        out, seen = [], set()
        for a in ([ego] if ego is not None else []) + list(self._externals.values()) + list(extra):
            r = read_actor(a)
            if r[0] not in seen:
                seen.add(r[0])
                out.append(r)
        return out

    # ------------------------------------------------------------------ states
    def actors(self) -> list[ActorState]:
        """States of every vehicle and pedestrian traffic drives, in id order."""
        out = []
        for v in self.vehicles.vehicles:
            x, y, z, h, pt = v.pose
            out.append(ActorState(v.id, v.bp.type_id, "vehicle", (x, y, z, 0.0, float(np.degrees(pt)), _deg(h)),
                                  v.vel, v.acc, (0.0, 0.0, v.yaw_rate), v.bp.extent))
        w = self.walkers
        for i, wid in enumerate(w.ids):
            x, y, z, h = (float(c) for c in w.pose[i])
            ext = w.bps[i].extent
            yaw_rate = float(np.degrees((h - w.prev_heading[i] + np.pi) % (2 * np.pi) - np.pi)) / self._last_dt
            out.append(ActorState(wid, w.bps[i].type_id, "walker", (x, y, z + ext[2], 0.0, 0.0, _deg(h)),
                                  tuple(float(c) for c in w.vel[i]),
                                  tuple(float(c) for c in (w.vel[i] - w.prev_vel[i]) / self._last_dt),
                                  (0.0, 0.0, yaw_rate), ext))
        out.sort(key=lambda a: a.id)
        return out

    def lights(self) -> dict[str, LightState]:
        """{traffic light id (OpenDRIVE signal id): state}."""
        return self.light_system.states()

    def set_light_state(self, light_id: str, state: LightState | int) -> None:
        """Force a light to a state until `release_light` (scenarios: e.g. a red light)."""
        self.light_system.set_state(light_id, state)

    def release_light(self, light_id: str | None = None) -> None:
        """Give a forced light (or every forced light) back to its junction's cycle."""
        self.light_system.release(light_id)

    def freeze_lights(self, frozen: bool = True) -> None:
        """Stop or restart every light cycle (CARLA's freeze_all_traffic_lights)."""
        self.light_system.freeze(frozen)

    # ------------------------------------------------------------------ external actors
    def add_actor(self, state: Any) -> None:
        """Register an actor that traffic must respect but never moves (a scenario actor,
        or one the scenario scripts itself). Its state stays as given until updated."""
        self._externals[read_actor(state)[0]] = state

    update_actor = add_actor

    def remove_actor(self, actor_id: int) -> bool:
        """Forget an external actor, or despawn a traffic vehicle or pedestrian."""
        if self._externals.pop(actor_id, None) is not None:
            return True
        if self.vehicles.remove(actor_id) is not None:
            return True
        return self.walkers.remove(actor_id)

    def release(self, vehicle_id: int) -> ActorState:
        """Hand a traffic vehicle to a scenario: traffic stops moving it and from now on
        treats it as an external actor with the returned state (update it with
        `update_actor`)."""
        state = next((a for a in self.actors() if a.id == vehicle_id and a.kind == "vehicle"), None)
        if state is None:
            raise KeyError(f"no traffic vehicle with id {vehicle_id}")
        self.vehicles.remove(vehicle_id)
        self._externals[vehicle_id] = state
        return state

    def add_vehicle(self, x: float, y: float, yaw: float | None = None, blueprint: Any | None = None,
                    target_speed: float | None = None, speed: float = 0.0,
                    route: Sequence[tuple[int, int, int]] | None = None) -> int:
        """Put a traffic vehicle on the driving lane nearest to (x, y) (heading within 90°
        of `yaw` when given), or on the first lane of `route` (lane keys (road, section,
        lane) it follows before choosing at random again). It drives at `target_speed`
        m/s if given, else at its share of the speed limit. Returns its id."""
        lanes = self._route_lanes(route) if route else None
        best = None
        for lane, d, lat, h in self.graph.project(x, y, 5.0):
            if (lanes and lane != lanes[0]) or (yaw is not None and np.cos(h - np.radians(yaw)) < 0.0):
                continue
            if best is None or abs(lat) < abs(best[2]):
                best = (lane, d, lat)
        if best is None:
            raise ValueError(f"no driving lane within 5 m of ({x:.1f}, {y:.1f})"
                             + (f" heading {yaw:.0f} deg" if yaw is not None else "")
                             + (f" on lane {route[0]}" if route else ""))
        bp = as_blueprints([blueprint])[0] if blueprint is not None else self.vehicle_blueprints[0]
        v = self._new_vehicle(bp, best[0], best[1])
        v.target_speed, v.v = target_speed, float(speed)
        if lanes:
            v.route = list(lanes)
        self.vehicles.add(v)
        return v.id

    def _route_lanes(self, route: Sequence[tuple[int, int, int]]) -> list[int]:
        idx = self.graph.index
        missing = [k for k in route if tuple(k) not in idx]
        if missing:
            raise ValueError(f"route: {missing[0]} is not a driving lane of {self.map.name}")
        lanes = [idx[tuple(k)] for k in route]
        for a, b in zip(lanes, lanes[1:]):
            if b not in self.graph.succ[a]:
                raise ValueError(f"route: {self.graph.keys[b]} does not follow {self.graph.keys[a]}")
        return lanes

    # ------------------------------------------------------------------ diagnostics
    def diagnostics(self) -> list[dict]:
        """Per traffic vehicle: id, lane key, d, speed, seconds stationary (in total and
        while not held by a red/yellow light) and whether it holds a junction."""
        g = self.graph
        return [{"id": v.id, "lane": g.keys[v.route[0]], "d": v.d, "speed": v.v, "stationary": v.stationary,
                 "green_stationary": v.green_stationary, "held_by_light": v.held_by_light,
                 "in_junction": bool(v.passage)} for v in self.vehicles.vehicles]

    @property
    def respawns(self) -> dict[str, int]:
        """How many vehicles were moved elsewhere: at a dead end, or blocked too long."""
        return dict(self.vehicles.respawns)

    # ------------------------------------------------------------------ spawning
    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    def _new_vehicle(self, bp: Blueprint, lane: int, d: float) -> Vehicle:
        vid = self._new_id()
        seq = np.random.SeedSequence([self.seed, 0x5E, vid])
        p = self.params
        pct = p.speed_difference + float(self._rng.uniform(-p.speed_spread, p.speed_spread))
        return Vehicle(vid, bp, [lane], float(d), 0.0, 1.0 - pct / 100.0,
                       random.Random(int(seq.generate_state(1)[0])), limit=p.default_speed_limit)

    def _taken(self) -> list[tuple[float, float]]:
        pts = [(v.pose[0], v.pose[1]) for v in self.vehicles.vehicles]
        pts += [(x, y) for _, x, y, *_ in self._others(self._ego, ())]
        return pts

    def _spawn_vehicles(self, n: int) -> None:
        if n == 0:
            return
        lanes, ds = self._slots
        for i in pick_spread(self._rng, self._slot_xy, n, 10.0, self._taken()):
            bp = self.vehicle_blueprints[int(self._rng.integers(len(self.vehicle_blueprints)))]
            self.vehicles.add(self._new_vehicle(bp, int(lanes[i]), float(ds[i])))

    def _spawn_walkers(self, n: int, cross_factor: float) -> None:
        net = self.walkers.net
        side = [k for k, e in enumerate(net.edges) if e.kind == SIDEWALK and e.length > 1.0]
        if n == 0 or not side:
            return
        lengths = np.array([net.edges[k].length for k in side])
        picks, placed = 0, []
        for _ in range(50 * n):
            if picks >= n:
                break
            k = side[int(self._rng.choice(len(side), p=lengths / lengths.sum()))]
            e = net.edges[k]
            s = float(self._rng.uniform(0.0, e.length))
            xy = np.array([np.interp(s, e.cum, e.pts[:, 0]), np.interp(s, e.cum, e.pts[:, 1])])
            if placed and np.min(np.linalg.norm(np.asarray(placed) - xy, axis=1)) < 2.0:
                continue
            placed.append(xy)
            wid = self._new_id()
            bp = self.walker_blueprints[int(self._rng.integers(len(self.walker_blueprints)))]
            direction = 1 if self._rng.random() < 0.5 else -1
            self.walkers.add(wid, bp, k, s if direction > 0 else e.length - s, direction,
                             float(self._rng.uniform(1.2, 1.5)), float(self._rng.uniform(0.3, 0.8)),
                             bool(self._rng.random() < cross_factor),
                             np.random.default_rng(np.random.SeedSequence([self.seed, 0x3A1, wid])))
            picks += 1

    def _recycle(self) -> None:
        """Move vehicles at a dead end, or blocked longer than Traffic Manager allows,
        to a free spawn slot far from the ego."""
        p = self.params
        for v in list(self.vehicles.vehicles):
            lane = v.route[0]
            if len(v.route) == 1 and not self.graph.succ[lane] and v.v < 0.1 and \
                    v.d + v.hl >= self.graph.length[lane] - p.stop_gap - 0.5:   # stopped at a dead end
                reason = "dead_end"
            elif v.stationary > (p.red_blocked_respawn if v.held_by_light else p.blocked_respawn):
                reason = "blocked"
            else:
                continue
            slot = self._free_slot(v)
            if slot is not None:
                self.vehicles.place(v, *slot)
                self.vehicles.respawns[reason] += 1

    def _free_slot(self, v: Vehicle) -> tuple[int, float] | None:
        lanes, ds = self._slots
        if len(lanes) == 0:
            return None
        taken = np.array([t for t in self._taken() if t != (v.pose[0], v.pose[1])], dtype=float).reshape(-1, 2)
        xy = self._slot_xy
        free = np.ones(len(xy), dtype=bool)
        if len(taken):
            d2 = ((xy[:, None, :] - taken[None, :, :]) ** 2).sum(2)
            free = d2.min(1) > 10.0 ** 2
        if not free.any():
            return None
        if self._ego is not None:
            ex, ey = read_actor(self._ego)[1:3]
            far = np.hypot(xy[:, 0] - ex, xy[:, 1] - ey)
            ok = free & (far >= self.params.respawn_distance)
            if not ok.any():   # small map: the free slot farthest from the ego
                return int(lanes[np.argmax(np.where(free, far, -1.0))]), float(ds[np.argmax(np.where(free, far, -1.0))])
            free = ok
        i = int(self._rng.choice(np.nonzero(free)[0]))
        return int(lanes[i]), float(ds[i])


def _deg(h: float) -> float:
    return float((np.degrees(h) + 180.0) % 360.0 - 180.0)


def _tables(m: Map, g: LaneGraph, hw: float) -> tuple[Rules, ConflictTable]:
    key = (id(m), round(hw, 3))
    hit = _TABLES.get(key)
    if hit is None or hit[0] is not m:
        hit = (m, signal_rules(m, g), conflict_table(g, hw))
        _TABLES[key] = hit
    return hit[1], hit[2]
