"""The embedded benchmark (routes/embedded_bench/): Leaderboard 2.0 routes of 150-600 m on
generated towns, one scenario each as in Bench2Drive, split into a training set (data
collection) and a held-out evaluation set on other towns.

Each route gets one scenario type from a fixed rotation, placed where that type makes
sense on the route: "segment" types on a stretch of road with no junction for the
scenario's distance plus a margin ahead, "junction" types a few metres before a junction
the route crosses (a turn where the type needs one, the right control: traffic light or
stop sign). A type that does not fit a route is tried on the next route; every placement
is checked the way RouteParser does (trigger within 2 m / 10 deg of the dense route).
Deterministic: the same towns and seeds give byte-identical files.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lead.world.routes import RouteConfig, ScenarioConfig, TriggerPoint

# (town name, kind, seed, routes) — training towns and held-out evaluation towns
TRAIN_TOWNS = (("LeadGrid001", "grid", 1, 12), ("LeadIrregular007", "irregular", 7, 12),
               ("LeadGrid003", "grid", 3, 12), ("LeadIrregular009", "irregular", 9, 12))
EVAL_TOWNS = (("LeadGrid002", "grid", 2, 8), ("LeadIrregular005", "irregular", 5, 8))
# a second training set, added after the first model was trained on train.xml: generated after
# the evaluation set so that train.xml and eval.xml stay as they were; its route ids continue
# train.xml's, so bags of both sets can share one folder
EXTRA_TOWNS = (("LeadGrid004", "grid", 4, 12), ("LeadIrregular011", "irregular", 11, 12))
SPLITS = (("train", TRAIN_TOWNS), ("eval", EVAL_TOWNS), ("train_extra", EXTRA_TOWNS))
MIN_LENGTH, MAX_LENGTH = 150.0, 600.0
LEAD_IN = 20.0            # no segment trigger in the route's first metres (the ego is still starting)
JUNCTION_GAP = 8.0        # junction triggers this far before the junction's first route point


@dataclass(frozen=True)
class Placement:
    kind: str                              # segment | junction
    clear: float = 0.0                     # segment: metres of junction-free road after the trigger
    turn: str = ""                         # junction: "" any movement, "turn" left/right, "left", "right", "straight"
    control: str = ""                      # junction: "" any, "signal" or "stop"
    two_way: bool = False                  # needs an oncoming lane next to the route's lane
    same_way: bool = False                 # needs a lane of the route's direction on its left
    params: dict[str, dict[str, str]] = field(default_factory=dict)


def _v(x: object) -> dict[str, str]:
    return {"value": str(x)}


# Bench2Drive's types that exist on two-way urban streets, with distances scaled to blocks of
# ~100-150 m (upstream's defaults of 100-140 m assume longer roads).
PLACEMENTS: dict[str, Placement] = {
    "Accident": Placement("segment", 70.0, same_way=True, params={"distance": _v(45)}),
    "AccidentTwoWays": Placement("segment", 70.0, two_way=True,
                                 params={"distance": _v(45), "frequency": {"from": "40", "to": "90"}}),
    "ParkedObstacle": Placement("segment", 70.0, same_way=True, params={"distance": _v(45)}),
    "ParkedObstacleTwoWays": Placement("segment", 70.0, two_way=True,
                                       params={"distance": _v(45), "frequency": {"from": "40", "to": "90"}}),
    "ConstructionObstacle": Placement("segment", 70.0, same_way=True, params={"distance": _v(45)}),
    "ConstructionObstacleTwoWays": Placement("segment", 70.0, two_way=True,
                                             params={"distance": _v(45), "frequency": {"from": "40", "to": "90"}}),
    # the bicycles ride bicycle_drive_distance from where they stand and then stop:
    # they must stop short of the junction with room for the ego to pass them and cut back in
    "HazardAtSideLane": Placement("segment", 100.0, same_way=True,
                                  params={"distance": _v(35), "bicycle_drive_distance": _v(30)}),
    "DynamicObjectCrossing": Placement("segment", 35.0, params={"distance": _v(15), "blocker_model":
                                                               _v("static.prop.vendingmachine")}),
    "ParkingCrossingPedestrian": Placement("segment", 35.0, params={"distance": _v(15)}),
    "ParkingCutIn": Placement("segment", 45.0, params={"direction": _v("right")}),
    "VehicleOpensDoorTwoWays": Placement("segment", 60.0, two_way=True, params={"distance": _v(35)}),
    "HardBreakRoute": Placement("segment", 40.0),
    "ControlLoss": Placement("segment", 60.0),
    "YieldToEmergencyVehicle": Placement("segment", 60.0, params={"distance": _v(60)}),
    "SignalizedJunctionLeftTurn": Placement("junction", turn="left", control="signal",
                                            params={"flow_speed": _v(10),
                                                    "source_dist_interval": {"from": "25", "to": "50"}}),
    "SignalizedJunctionRightTurn": Placement("junction", turn="right", control="signal",
                                             params={"flow_speed": _v(10),
                                                     "source_dist_interval": {"from": "25", "to": "50"}}),
    "NonSignalizedJunctionLeftTurn": Placement("junction", turn="left", control="stop",
                                               params={"flow_speed": _v(10),
                                                       "source_dist_interval": {"from": "25", "to": "50"}}),
    "NonSignalizedJunctionRightTurn": Placement("junction", turn="right", control="stop",
                                                params={"flow_speed": _v(10),
                                                        "source_dist_interval": {"from": "25", "to": "50"}}),
    "OppositeVehicleRunningRedLight": Placement("junction", control="signal"),
    "OppositeVehicleTakingPriority": Placement("junction", control="stop"),
    "VehicleTurningRoute": Placement("junction", turn="turn"),
    "VehicleTurningRoutePedestrian": Placement("junction", turn="turn"),
    "BlockedIntersection": Placement("junction"),
    "PedestrianCrossing": Placement("junction"),
    "T_Junction": Placement("junction", turn="turn"),
    "VanillaSignalizedTurnEncounterGreenLight": Placement("junction", turn="turn", control="signal"),
    "VanillaSignalizedTurnEncounterRedLight": Placement("junction", turn="turn", control="signal"),
    "VanillaNonSignalizedTurnEncounterStopsign": Placement("junction", turn="turn", control="stop"),
    "InvadingTurn": Placement("junction", turn="turn", params={"distance": _v(30), "offset": _v(0.25)}),
}
ROTATION = tuple(PLACEMENTS)

_TURN_OPTIONS = {"left": {"LEFT"}, "right": {"RIGHT"}, "straight": {"STRAIGHT"}, "turn": {"LEFT", "RIGHT"},
                 "": {"LEFT", "RIGHT", "STRAIGHT"}}


def _trigger(t) -> TriggerPoint:
    loc, yaw = t.location, t.rotation.yaw
    return TriggerPoint(round(loc.x, 3), round(loc.y, 3), round(loc.z, 3), round(yaw, 3))


def _dense_info(map_, dense):
    """Per dense route point: cumulative distance (m), junction id (-1 outside), road option,
    whether an oncoming driving lane lies to the left, and whether a driving lane of the same
    direction does."""
    s = [0.0]
    for (a, _), (b, _) in zip(dense[:-1], dense[1:]):
        s.append(s[-1] + a.location.distance(b.location))
    junction, options, two_way, same_way = [], [], [], []
    for t, opt in dense:
        wp = map_.get_waypoint(t.location)
        junction.append(wp.junction_id if wp is not None and wp.is_junction else -1)
        options.append(opt.name if hasattr(opt, "name") else str(opt))
        left = wp.get_left_lane() if wp is not None else None
        two_way.append(bool(left is not None and left.lane_id * wp.lane_id < 0))
        same_way.append(bool(left is not None and left.lane_id * wp.lane_id > 0 and left.lane_type == wp.lane_type))
    return np.array(s), junction, options, two_way, same_way


def place(type_: str, map_, dense, controls: dict[int, str], index: int) -> ScenarioConfig | None:
    """The scenario `type_` on this dense route, or None where it does not fit."""
    p = PLACEMENTS[type_]
    s, junction, options, two_way, same_way = _dense_info(map_, dense)
    n = len(dense)
    if p.kind == "segment":
        for k in range(n):
            if s[k] < LEAD_IN:
                continue
            end = np.searchsorted(s, s[k] + p.clear)
            if end >= n:
                return None
            if any(j != -1 for j in junction[max(0, k - 3):end + 1]):
                continue
            if p.two_way and not all(two_way[k:end + 1]):
                continue
            if p.same_way and not all(same_way[k:end + 1]):
                continue
            return ScenarioConfig(f"{type_}_{index}", type_, [_trigger(dense[k][0])], dict(p.params))
        return None
    # junction: the first junction on the route that matches, entered at route index k
    k = 1
    while k < n:
        if junction[k] != -1 and junction[k - 1] == -1:
            jid, first = junction[k], k
            while k < n and junction[k] == jid:
                k += 1
            opt = next((o for o in options[first:k] if o in ("LEFT", "RIGHT", "STRAIGHT")), "STRAIGHT")
            ok_turn = opt in _TURN_OPTIONS[p.turn]
            ok_control = not p.control or controls.get(jid) == p.control
            t = int(np.searchsorted(s, s[first] - JUNCTION_GAP))
            if ok_turn and ok_control and s[first] - JUNCTION_GAP >= 5.0 and junction[t] == -1:
                return ScenarioConfig(f"{type_}_{index}", type_, [_trigger(dense[t][0])], dict(p.params))
        k += 1
    return None


def scenario_problem(world, town: str, dense, sc: ScenarioConfig, seed: int = 0) -> str | None:
    """Set the scenario up in the embedded world and move the ego along the route (1 m a
    tick, no traffic, no rendering) until it starts: None if it does, else why not (a type
    whose actors find no place on this road, e.g. no lane to the left for a flow)."""
    from lead.sim.embedded.scenarios import ScenarioManager
    from lead.sim.embedded.scenarios.base import SKIPPED, STARTED

    world.load(town, seed=seed, num_vehicles=0, num_pedestrians=0)
    t0 = dense[0][0]
    world.spawn_ego((t0.location.x, t0.location.y, t0.location.z, 0.0, 0.0, t0.rotation.yaw))
    try:
        manager = ScenarioManager(world, dense, [sc], seed=seed)
    except Exception as e:  # noqa: BLE001 - any setup failure disqualifies the placement
        return f"{type(e).__name__}: {e}"
    for t, _ in dense[::2]:
        world.ego.reset(t.location.x, t.location.y, t.rotation.yaw, z=t.location.z)
        for e in manager.step(world.tick()):
            if e.kind == SKIPPED:
                return e.message or "skipped"
            if e.kind == STARTED:
                return None
    return "never triggered"


def build_bench(out_dir: Path, towns_dir: Path) -> dict:
    """Write <towns_dir>/<Town>.xodr for new towns and <out_dir>/{train,eval,train_extra}.xml."""
    from lead.world.map import Map
    from lead.world.planner import interpolate_trajectory
    from lead.world.routes import write_routes
    from lead.world.towngen.generate import build
    from lead.world.towngen.routegen import generate_routes
    from lead.world.towngen.xodr import town_to_xodr
    from lead.world.transform import Location

    from lead.sim.embedded.world import EmbeddedWorld, WorldConfig

    out_dir.mkdir(parents=True, exist_ok=True)
    towns_dir.mkdir(parents=True, exist_ok=True)
    world = EmbeddedWorld(WorldConfig(rig="minimal", render=False, num_vehicles=0, num_pedestrians=0,
                                      maps_dirs=[str(towns_dir)]))
    rejected: list[str] = []
    summary: dict = {"sets": {}}
    # types in rotation order; a type that does not fit a route keeps its place at the front
    # and is tried first on the next route, so every type gets its share of routes
    queue = list(ROTATION)
    first_id = {"train": 0, "eval": 0, "train_extra": sum(t[3] for t in TRAIN_TOWNS)}
    for split, towns in SPLITS:
        routes: list[RouteConfig] = []
        for name, kind, seed, count in towns:
            town = build(seed, kind, name)
            xodr_path = towns_dir / f"{name}.xodr"
            text = town_to_xodr(town)
            if not xodr_path.exists() or xodr_path.read_text(encoding="utf-8") != text:
                xodr_path.write_text(text, encoding="utf-8")
            map_ = Map.from_file(xodr_path, name)
            controls = {j.id: j.control for j in town.junctions}
            # more candidates than needed: a type that does not fit one route goes to the next
            cands = generate_routes(town, np.random.default_rng([seed, 2]), count * 2, MIN_LENGTH, MAX_LENGTH)
            taken = 0
            for r in cands:
                if taken == count:
                    break
                _, dense = interpolate_trajectory(map_, [Location(*k) for k in r.keypoints], 1.0)
                sc = None
                for type_ in list(queue):
                    sc = place(type_, map_, dense, controls, 1)
                    problem = sc and scenario_problem(world, name, dense, sc, seed)
                    if problem:
                        rejected.append(f"{name}:{r.id} {type_}: {problem}")
                        sc = None
                    if sc is not None:
                        queue.remove(type_)
                        queue.append(type_)
                        break
                if sc is None:
                    continue
                rid = str(first_id[split] + len(routes))
                routes.append(RouteConfig(rid, name, r.keypoints, [sc], r.weathers,
                                          {"split": split, "source_route": f"{name}:{r.id}"}))
                taken += 1
            if taken < count:
                raise RuntimeError(f"{name}: only {taken} of {count} routes could take a scenario")
        path = write_routes(out_dir / f"{split}.xml", routes)
        types: dict[str, int] = {}
        for r in routes:
            for sc in r.scenarios:
                types[sc.type] = types.get(sc.type, 0) + 1
        summary["sets"][split] = {"file": str(path), "routes": len(routes), "towns": [t[0] for t in towns],
                                  "scenario_types": dict(sorted(types.items()))}
    summary["rejected_placements"] = rejected
    return summary
