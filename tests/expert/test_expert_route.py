"""The expert's dense route, its traffic lights and stop signs, and the target points, on
real maps and the leaderboard's interpolated routes."""
from __future__ import annotations

import math

import numpy as np
import pytest

from lead.expert import ExpertConfig
from lead.expert.route import DenseRoute
from lead.expert.signals import light_state, route_lights, route_stop_signs
from lead.expert.targets import TargetPointPlanner
from lead.world.planner import RoadOption
from lead.world.routes import read_routes

from .harness import dense_route

ROUTES = "routes/LeadGrid001_routes.xml"

def _arrays(route):
    return (np.array([[t.location.x, t.location.y, t.location.z] for t, _ in route]), [int(o) for _, o in route])


def test_dense_route_resamples_extends_and_keeps_commands(grid, repo):
    r0 = read_routes(repo / ROUTES)[0]
    route = dense_route(grid, [k[:2] for k in r0.keypoints])
    pts, opts = _arrays(route)
    c = ExpertConfig()
    dense = DenseRoute(grid, pts, opts, c)
    step = np.linalg.norm(np.diff(dense.points[:, :2], axis=0), axis=1)
    assert step.max() < 0.1 + 1e-6 and np.median(step) == pytest.approx(0.1) and step.min() > 0.09  # 10 per metre
    # 50 m of lane before the start and after the end
    assert dense.start_index == pytest.approx(500, abs=25)
    assert len(dense) - 1 - dense.end_index == pytest.approx(500, abs=25)
    assert np.linalg.norm(dense.points[dense.start_index, :2] - pts[0, :2]) < 0.1
    assert np.linalg.norm(dense.points[dense.end_index, :2] - pts[-1, :2]) < 0.1
    # every original point has a dense point within 10 cm carrying its command
    for p, o in zip(pts[::7], opts[::7]):
        i = int(np.argmin(np.linalg.norm(dense.points[:, :2] - p[:2], axis=1)))
        assert np.linalg.norm(dense.points[i, :2] - p[:2]) < 0.1
        assert o in dense.commands[max(i - 10, 0):i + 10]
    turns = set(opts) - {int(RoadOption.LANEFOLLOW)}
    assert turns and turns <= set(dense.commands.tolist())
    # per-point annotations from the map
    assert dense.is_junction.any() and not dense.is_junction.all()
    kmh = {grid.get_waypoint_xodr(k[0], k[2], 1.0).speed_limit for k in dense.keys if not grid.network.roads[k[0]].is_junction}
    assert set(np.round(dense.speed_limit * 3.6, 6)) <= {round(float(v), 6) for v in kmh}
    straight = ~dense.is_junction
    assert np.median(dense.curvature[straight]) < 0.01 and dense.curvature[dense.is_junction].max() > 0.05


def test_route_index_follows_and_shift_moves_onto_the_neighbour_lane(grid):
    wp = grid.get_waypoint_xodr(1, -1, 3.0)
    route = dense_route(grid, [wp.xyz[:2], wp.next(100)[0].xyz[:2]])
    dense = DenseRoute(grid, *_arrays(route), ExpertConfig())
    dense.localize(wp.xyz[:2])
    for d in (1.0, 3.0, 3.9):  # the search window is 4 m
        target = wp.next(d)[0].xyz
        dense.advance(target[:2])
        assert np.linalg.norm(dense.points[dense.index, :2] - np.array(target[:2])) < 0.06
    jump = wp.next(30.0)[0].xyz
    before = dense.index
    dense.advance(jump[:2])
    assert dense.index - before == 39  # the last of the 40 points searched (4 m), as LEAD
    start, end = dense.index + 100, dense.index + 400
    dense.shift_smoothly(start, end, True, 80)
    left = wp.get_left_lane()
    offset = np.linalg.norm(dense.points[start + 150, :2] - dense.original[start + 150, :2])
    assert offset == pytest.approx(np.linalg.norm(np.array(left.xyz[:2]) - np.array(wp.xyz[:2])), abs=0.05)
    assert np.allclose(dense.points[:start], dense.original[:start])
    assert np.allclose(dense.points[end:], dense.original[end:])
    assert dense.commands[start + 10] == RoadOption.CHANGELANELEFT
    assert dense.commands[end - 10] == RoadOption.CHANGELANERIGHT
    assert dense.near_lane_change(5.0)
    # the ramp is smooth: no step between neighbouring points above the resampling
    assert np.linalg.norm(np.diff(dense.points[start:end, :2], axis=0), axis=1).max() < 0.2


def test_lights_stop_before_the_junction_and_signs_at_their_trigger(grid):
    c = ExpertConfig()
    wp, end = grid.get_waypoint_xodr(3, -1, 5.0), grid.get_waypoint_xodr(5, -1, 40.0)
    dense = DenseRoute(grid, *_arrays(dense_route(grid, [wp.xyz[:2], end.xyz[:2]])), c)
    lights = [L for L in route_lights(dense, grid, c) if L.index > dense.start_index]
    assert len(lights) == 1
    i = lights[0].index
    entry = i + int(np.argmax(dense.is_junction[i:]))
    assert (entry - i) / c.points_per_meter == pytest.approx(c.light_stop_offset, abs=0.15)
    light = next(t for t in grid.get_traffic_lights() if t.id == lights[0].light_id)
    assert dense.keys[i] in {w.key for w in light.stop_waypoints}
    assert light_state({lights[0].light_id: 0}, light.id) == 0
    assert light_state({int(light.id): 2}, light.id) == 2
    assert light_state({}, light.id) is None

    sign = next(s for s in grid.get_stop_signs() if s.id == "192")
    box = sign.trigger_volumes[0]
    at = grid.get_waypoint(box.location)
    dense = DenseRoute(grid, *_arrays(dense_route(grid, [at.previous(40)[0].xyz[:2], at.next(40)[0].xyz[:2]])), c)
    signs = [s for s in route_stop_signs(dense, grid, c) if s.sign_id == "192"]
    assert len(signs) == 1
    first = dense.points[signs[0].index, :2]
    d = math.hypot(first[0] - box.location.x, first[1] - box.location.y)
    assert c.stop_sign_proximity - 0.2 < d <= c.stop_sign_proximity  # the first point within reach


def test_target_points_pop_within_reach_and_keep_two(grid, repo):
    r0 = read_routes(repo / ROUTES)[0]
    route = dense_route(grid, [k[:2] for k in r0.keypoints])
    pts, opts = _arrays(route)
    tp = TargetPointPlanner(pts, opts, 3.25, 50.0, 200.0)
    plan = [p.copy() for p, _ in tp.route]
    assert len(plan) >= 3 and np.allclose(plan[0], pts[0]) and np.allclose(plan[-1], pts[-1])
    seen = []
    for p in pts[::3]:
        t = tp.step(p[:2])
        assert np.linalg.norm(t.target[:2] - p[:2]) > 3.25 or np.allclose(t.target, plan[-1])
        seen.append(tuple(np.round(t.target[:2], 3)))
        assert t.command in opts and t.next_command in opts
    order = list(dict.fromkeys(seen))
    idx = [int(np.argmin([np.linalg.norm(q[:2] - np.array(s)) for q in plan])) for s in order]
    assert idx == sorted(idx) and idx[-1] == len(plan) - 1  # targets advance along the plan to its end
    assert len(tp.route) == 2
