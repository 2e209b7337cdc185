"""Background vehicles on real maps: red lights, stop signs, junction conflicts, car
following, the ego and scenario actors as obstacles, recycling and determinism."""
from __future__ import annotations

import math

import numpy as np
import pytest

from lead.sim.embedded.traffic import ActorState, DriverParams, LightState, Traffic, overlapping_pairs
from lead.sim.embedded.traffic.conflicts import CROSS
from lead.world.map import Map
from tests.conftest import REPO, shared_path

_MAPS: dict[str, Map] = {}
DT = 0.05


def load(name: str) -> Map:
    if name not in _MAPS:
        if name.startswith("Lead"):
            path = REPO / "routes" / f"{name}.xodr"
        else:
            path = shared_path("maps", "carla", f"{name}.xodr")
        _MAPS[name] = Map.from_file(path)
    return _MAPS[name]


def start_pose(tr: Traffic, lane: int, d: float) -> tuple[float, float, float]:
    xyz, h, _ = tr.graph.pose(np.array([lane]), np.array([d]))
    return float(xyz[0, 0]), float(xyz[0, 1]), math.degrees(float(h[0]))


def state(tr: Traffic, vid: int) -> ActorState:
    return next(a for a in tr.actors() if a.id == vid)


def diag(tr: Traffic, vid: int) -> dict:
    return next(d for d in tr.diagnostics() if d["id"] == vid)


def front_past(a: ActorState, point: tuple[float, float], heading_deg: float) -> float:
    """How far the front bumper of `a` is past `point` along `heading_deg` (negative: short of it)."""
    yaw = math.radians(a.yaw)
    fx, fy = a.transform[0] + a.extent[0] * math.cos(yaw), a.transform[1] + a.extent[0] * math.sin(yaw)
    h = math.radians(heading_deg)
    return (fx - point[0]) * math.cos(h) + (fy - point[1]) * math.sin(h)


def ego(aid: int, x: float, y: float, yaw: float, speed: float = 0.0) -> ActorState:
    c, s = math.cos(math.radians(yaw)), math.sin(math.radians(yaw))
    return ActorState(aid, "vehicle.lincoln.mkz_2020", "vehicle", (x, y, 0.0, 0.0, 0.0, yaw),
                      (speed * c, speed * s, 0.0), (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), (2.45, 1.06, 0.76))


# ---------------------------------------------------------------------- lights and signs

def test_stops_at_a_red_light_before_the_stop_line_and_goes_on_green():
    m = load("Town10HD")
    tr = Traffic(m, seed=0)
    g, rules = tr.graph, tr.rules
    # an incoming lane whose every way into the junction is signalised
    lane = next(p for (p, c) in sorted(rules.light_at)
                if g.length[p] > 40 and all((p, s) in rules.light_at for s in g.succ[p]))
    nxt = g.succ[lane][0]
    lights = {rules.light_at[(lane, s)] for s in g.succ[lane]}
    for lid in lights:
        tr.set_light_state(lid, LightState.Red)
    stop = next(w for tl in m.get_traffic_lights() if tl.id in lights for w in tl.stop_waypoints
                if w.key == g.keys[lane])
    stop_xy, stop_yaw = (stop.transform.location.x, stop.transform.location.y), stop.transform.rotation.yaw
    vid = tr.add_vehicle(*start_pose(tr, lane, 5.0), target_speed=9.0, route=[g.keys[lane], g.keys[nxt]])
    for _ in range(round(40.0 / DT)):
        tr.step(DT)
        assert diag(tr, vid)["lane"] == g.keys[lane]            # never into the junction on red
        assert front_past(state(tr, vid), stop_xy, stop_yaw) <= 0.05
    a = state(tr, vid)
    assert a.speed < 0.05
    assert -4.0 < front_past(a, stop_xy, stop_yaw) <= 0.05       # waits right at the line
    for lid in lights:
        tr.set_light_state(lid, LightState.Green)
    for _ in range(round(10.0 / DT)):
        tr.step(DT)
    assert diag(tr, vid)["lane"] != g.keys[lane]
    assert front_past(state(tr, vid), stop_xy, stop_yaw) > 10.0 or \
        math.dist(state(tr, vid).transform[:2], a.transform[:2]) > 15.0


def test_comes_to_a_full_stop_at_a_stop_sign_then_crosses():
    tr = Traffic(load("LeadGrid001"), seed=0)
    g, rules = tr.graph, tr.rules
    lane, nxt = next((p, c) for (p, c) in sorted(rules.stop_at) if g.length[p] > 30)
    vid = tr.add_vehicle(*start_pose(tr, lane, 5.0), target_speed=10.0, route=[g.keys[lane], g.keys[nxt]])
    stopped_at, entered_at = None, None
    for k in range(round(40.0 / DT)):
        tr.step(DT)
        d = diag(tr, vid)
        if d["lane"] == g.keys[lane]:
            front = d["d"] + state(tr, vid).extent[0]
            if stopped_at is None:
                assert front <= g.length[lane] + 1e-6          # not past the line before stopping
                if d["speed"] < 0.1 and front > g.length[lane] - 3.0:
                    stopped_at = k * DT                         # a full stop within 3 m of it
        elif entered_at is None:
            entered_at = k * DT
    assert stopped_at is not None and entered_at is not None and stopped_at < entered_at < 25.0


# ---------------------------------------------------------------------- junction conflicts

def _conflict_pairs(tr: Traffic, n: int) -> list[tuple[int, int, int, int]]:
    """(P1, C1, P2, C2): two incoming lanes whose junction lanes cross."""
    g, table = tr.graph, tr.vehicles.table
    out = []
    for c1 in range(len(g.keys)):
        for ov in table.overlaps[c1]:
            c2 = ov.other
            if ov.kind != CROSS or c2 < c1:
                continue
            p1 = [p for p in g.pred[c1] if g.junction[p] < 0 and g.length[p] > 23]
            p2 = [p for p in g.pred[c2] if g.junction[p] < 0 and g.length[p] > 23]
            if p1 and p2 and p1[0] != p2[0]:
                out.append((p1[0], c1, p2[0], c2))
    rng = np.random.default_rng(0)
    return [out[i] for i in rng.choice(len(out), size=min(n, len(out)), replace=False)]


@pytest.mark.parametrize("name", ["Town10HD", "LeadIrregular007"])
def test_vehicles_on_crossing_paths_never_overlap(name):
    m = load(name)
    pairs = _conflict_pairs(Traffic(m, seed=0), 6)
    assert len(pairs) == 6
    for p1, c1, p2, c2 in pairs:
        tr = Traffic(m, seed=0)
        g = tr.graph
        for lid in tr.lights():
            tr.set_light_state(lid, LightState.Green)
        ids = []
        for p, c in ((p1, c1), (p2, c2)):   # both 20 m before their line at the same speed
            x, y, yaw = start_pose(tr, p, g.length[p] - 20.0)
            ids.append(tr.add_vehicle(x, y, yaw, target_speed=7.0, speed=7.0, route=[g.keys[p], g.keys[c]]))
        passed = set()
        for _ in range(round(30.0 / DT)):
            tr.step(DT)
            a = [state(tr, i) for i in ids]
            assert not overlapping_pairs([s.transform[0] for s in a], [s.transform[1] for s in a],
                                         [s.yaw for s in a], [s.extent[0] for s in a], [s.extent[1] for s in a])
            lanes = [diag(tr, i)["lane"] for i in ids]
            assert not (lanes[0] == g.keys[c1] and lanes[1] == g.keys[c2])
            passed |= {i for i, ln in zip(ids, lanes) if ln not in (g.keys[p1], g.keys[p2], g.keys[c1], g.keys[c2])}
        assert passed == set(ids), (name, g.keys[c1], g.keys[c2])


# ---------------------------------------------------------------------- speeds

@pytest.mark.parametrize("map_limits", [True, False])
def test_cruises_at_traffic_managers_share_of_the_speed_limit(map_limits):
    m = load("LeadIrregular007")
    params = DriverParams(speed_spread=0.0, map_speed_limits=map_limits)
    tr = Traffic(m, seed=0, params=params)
    g = tr.graph
    def cruise(i: int) -> float:   # TM: 30 % below the limit
        return (g.speed_kmh[i] if map_limits else 30.0) / 3.6 * (1.0 - 30.0 / 100.0)

    # a long lane whose bends all allow that speed at the lateral acceleration cap
    lanes = [i for i in range(len(g.keys)) if g.junction[i] < 0 and not math.isnan(g.speed_kmh[i])
             and g.length[i] > 150 and all(k < params.lateral_accel / cruise(i) ** 2 for *_, k in g.curves[i])]
    lane = max(lanes, key=lambda i: g.length[i])
    vid = tr.add_vehicle(*start_pose(tr, lane, 2.0), route=[g.keys[lane]])
    top = 0.0
    while diag(tr, vid)["lane"] == g.keys[lane] and diag(tr, vid)["d"] < g.length[lane] - 60.0:
        tr.step(DT)
        top = max(top, diag(tr, vid)["speed"])
    assert top == pytest.approx(cruise(lane), abs=0.15)


# ---------------------------------------------------------------------- following

def _chain(tr: Traffic, first: int, length: float) -> list[int]:
    g, out, total = tr.graph, [first], 0.0
    while total < length and g.succ[out[-1]]:
        total += g.length[out[-1]]
        out.append(g.succ[out[-1]][0])
    return out


def test_follows_a_slow_leader_keeping_the_min_gap():
    tr = Traffic(load("LeadIrregular007"), seed=0)
    g = tr.graph
    lane = g.index[(20, 0, -1)]          # a 377 m lane
    route = [g.keys[i] for i in _chain(tr, lane, 400.0)]
    lead = tr.add_vehicle(*start_pose(tr, lane, 60.0), target_speed=3.0, speed=3.0, route=route)
    follow = tr.add_vehicle(*start_pose(tr, lane, 5.0), target_speed=12.0, route=route)
    gaps, speeds = [], []
    for _ in range(round(60.0 / DT)):
        tr.step(DT)
        a, b = diag(tr, lead), diag(tr, follow)
        assert a["lane"] == b["lane"] == g.keys[lane]
        gaps.append(a["d"] - b["d"] - state(tr, lead).extent[0] - state(tr, follow).extent[0])
        speeds.append(b["speed"])
    assert max(speeds) > 6.0                               # it did catch up
    assert min(gaps) >= tr.params.min_gap - 0.2            # IDM never closes below the min gap
    assert speeds[-1] == pytest.approx(3.0, abs=0.3)       # settled behind the leader
    assert gaps[-1] == pytest.approx(tr.params.min_gap + 3.0 * tr.params.time_headway, abs=1.0)


def test_stops_behind_the_ego_and_a_scenario_actor_then_drives_on():
    tr = Traffic(load("LeadIrregular007"), seed=0)
    g = tr.graph
    lane = g.index[(20, 0, -1)]
    route = [g.keys[i] for i in _chain(tr, lane, 400.0)]
    vid = tr.add_vehicle(*start_pose(tr, lane, 5.0), target_speed=10.0, route=route)
    x, y, yaw = start_pose(tr, lane, 80.0)
    the_ego = ego(1, x, y, yaw)
    for _ in range(round(30.0 / DT)):
        tr.step(DT, ego_state=the_ego)
    gap = 80.0 - diag(tr, vid)["d"] - 2.45 - state(tr, vid).extent[0]
    assert diag(tr, vid)["speed"] < 0.05 and tr.params.min_gap - 0.2 <= gap <= tr.params.min_gap + 1.5
    x, y, yaw = start_pose(tr, lane, 160.0)                # the ego drives off; a parked scenario car
    tr.add_actor(ego(2, x, y, yaw))
    for _ in range(round(30.0 / DT)):
        tr.step(DT, ego_state=ego(1, 500.0, 500.0, 0.0))
    gap = 160.0 - diag(tr, vid)["d"] - 2.45 - state(tr, vid).extent[0]
    assert diag(tr, vid)["speed"] < 0.05 and gap >= tr.params.min_gap - 0.2
    assert tr.remove_actor(2)
    for _ in range(round(10.0 / DT)):
        tr.step(DT)
    assert diag(tr, vid)["d"] > 170.0


def test_a_released_vehicle_is_no_longer_moved_but_still_respected():
    tr = Traffic(load("LeadIrregular007"), seed=0)
    g = tr.graph
    lane = g.index[(20, 0, -1)]
    route = [g.keys[i] for i in _chain(tr, lane, 400.0)]
    held = tr.add_vehicle(*start_pose(tr, lane, 60.0), route=route)
    follow = tr.add_vehicle(*start_pose(tr, lane, 5.0), target_speed=10.0, route=route)
    frozen = tr.release(held)
    assert held not in {a.id for a in tr.actors()}
    for _ in range(round(30.0 / DT)):
        tr.step(DT)
    assert diag(tr, follow)["speed"] < 0.05 and diag(tr, follow)["d"] < 60.0 - 2 * 2.0
    assert frozen.transform == tr._externals[held].transform
    with pytest.raises(KeyError):
        tr.release(held)


def test_a_blocked_vehicle_is_moved_far_from_the_ego():
    params = DriverParams(blocked_respawn=5.0, respawn_distance=80.0)
    tr = Traffic(load("LeadIrregular007"), seed=0, params=params)
    g = tr.graph
    lane = g.index[(20, 0, -1)]
    vid = tr.add_vehicle(*start_pose(tr, lane, 5.0), target_speed=8.0)
    x, y, yaw = start_pose(tr, lane, 40.0)
    for _ in range(round(20.0 / DT)):
        tr.step(DT, ego_state=ego(1, x, y, yaw))
    assert tr.respawns["blocked"] == 1
    a = state(tr, vid)
    assert math.hypot(a.transform[0] - x, a.transform[1] - y) >= 80.0


def test_vehicles_at_dead_ends_reappear_far_from_the_ego():
    m = Map.from_file(shared_path("maps", "opendrive-samples", "Issue189.xodr"))   # 27 dead-end lanes
    tr = Traffic(m, seed=0, num_vehicles=30)
    x, y, yaw = start_pose(tr, 0, 1.0)
    the_ego = ego(1, x, y, yaw)
    last = {a.id: a.transform for a in tr.actors()}
    jumps = []
    for _ in range(round(90.0 / DT)):
        tr.step(DT, ego_state=the_ego)
        actors = tr.actors()
        assert not overlapping_pairs([a.transform[0] for a in actors], [a.transform[1] for a in actors],
                                     [a.yaw for a in actors], [a.extent[0] for a in actors],
                                     [a.extent[1] for a in actors])
        for a in actors:
            if math.dist(a.transform[:2], last[a.id][:2]) > 5.0:
                jumps.append(math.dist(a.transform[:2], (x, y)))
            last[a.id] = a.transform
    assert tr.respawns["dead_end"] == len(jumps) > 0
    assert min(jumps) >= tr.params.respawn_distance


# ---------------------------------------------------------------------- determinism

def _run(seed: int, steps: int) -> list[tuple]:
    m = load("Town10HD")
    tr = Traffic(m, seed=seed, num_vehicles=30, num_pedestrians=20)
    g = tr.graph
    lane = g.index[(10, 0, -1)]
    out = []
    for k in range(steps):
        x, y, yaw = start_pose(tr, lane, 2.0 + 0.3 * k)       # a scripted ego driving down a lane
        tr.step(DT, ego_state=ego(1, x, y, yaw, speed=6.0))
        out.append(tuple(tr.actors()))
        out.append(tuple(sorted(tr.lights().items())))
    return out


def test_same_seed_and_inputs_give_identical_states():
    a, b, c = _run(4, 300), _run(4, 300), _run(5, 300)
    assert a == b
    assert a != c
