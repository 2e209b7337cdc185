"""The sensor agent's target points from the GPS plan, on a real town route (LeadGrid001, whose
geoReference is not the leaderboard's default, so the lat/lon reference must be estimated)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from lead.inference.route_planner import (TargetPointSource, command_one_hot, estimate_gps_reference, to_ego)
from lead.leaderboard.campaign import PLAN_SAMPLE_FACTOR
from lead.world.gps import downsample_route, location_to_gps

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def grid_route():
    from lead.world.map import Map
    from lead.world.planner import interpolate_trajectory
    from lead.world.routes import read_routes
    from lead.world.transform import Location

    m = Map.from_file(REPO / "routes" / "LeadGrid001.xodr")
    route = next(r for r in read_routes(REPO / "routes" / "LeadGrid001_routes.xml") if str(r.id) == "0")
    gps, dense = interpolate_trajectory(m, [Location(*k) for k in route.keypoints], 1.0)
    pts = [(t.location.x, t.location.y, t.location.z) for t, _ in dense]
    ids = downsample_route(pts, [int(o) for _, o in dense], PLAN_SAMPLE_FACTOR)
    return m, gps, dense, ids


def test_gps_reference_is_recovered_from_one_point():
    for ref in ((42.0, 2.0), (48.52, 9.06), (-33.9, 151.2)):
        for x, y in ((0.0, 0.0), (1234.5, -987.6), (-40.0, 5000.0)):
            g = location_to_gps(*ref, x, y, 0.0)
            lat_ref, lon_ref = estimate_gps_reference(x, y, g["lat"], g["lon"])
            assert abs(lat_ref - ref[0]) < 1e-9 and abs(lon_ref - ref[1]) < 1e-9


def test_ego_frame_and_command_encoding():
    # CARLA frame: x forward, y right; yaw 90 deg faces +y
    np.testing.assert_allclose(to_ego((10.0, 0.0), (0.0, 0.0), 0.0), (10.0, 0.0), atol=1e-6)
    np.testing.assert_allclose(to_ego((0.0, 10.0), (0.0, 0.0), 0.0), (0.0, 10.0), atol=1e-6)   # right
    np.testing.assert_allclose(to_ego((0.0, 10.0), (0.0, 0.0), math.pi / 2), (10.0, 0.0), atol=1e-5)
    np.testing.assert_allclose(to_ego((5.0, 5.0), (5.0, 0.0), math.pi / 2), (5.0, 0.0), atol=1e-5)
    assert command_one_hot(1).argmax() == 0 and command_one_hot(6).argmax() == 5
    assert command_one_hot(-1).argmax() == 3 and command_one_hot(9).argmax() == 3  # VOID / unknown: LANEFOLLOW
    assert command_one_hot(4).sum() == 1.0


def test_targets_follow_the_plan_along_a_real_route(grid_route):
    m, gps, dense, ids = grid_route
    lat_ref, lon_ref = m.lat_lon_ref
    assert (round(lat_ref, 2), round(lon_ref, 2)) == (48.52, 9.06)
    t0 = dense[0][0].location
    plan = [(gps[i][0]["lat"], gps[i][0]["lon"], gps[i][0]["z"], int(dense[i][1])) for i in ids]
    src = TargetPointSource.from_route((t0.x, t0.y, gps[0][0]["lat"], gps[0][0]["lon"]), plan)
    world_plan = np.array([[dense[i][0].location.x, dense[i][0].location.y] for i in ids])
    np.testing.assert_allclose(src.world_plan[:, :2], world_plan, atol=1e-6)  # estimated reference is exact
    seen_commands, popped = set(), 0
    for k in range(0, len(dense), 3):  # drive along the route, 3 m a tick
        tr = dense[k][0]
        g = location_to_gps(lat_ref, lon_ref, tr.location.x, tr.location.y, tr.location.z)
        yaw = math.radians(tr.rotation.yaw)
        t = src.step(g["lat"], g["lon"], g["z"], yaw)
        pos = np.array([tr.location.x, tr.location.y])
        np.testing.assert_allclose(t.position, pos, atol=1e-6)
        # back to the world: the target point is a plan point, ahead of every popped one
        c, s = math.cos(yaw), math.sin(yaw)
        world = pos + np.array([c * t.target_point[0] - s * t.target_point[1],
                                s * t.target_point[0] + c * t.target_point[1]])
        j = int(np.argmin(np.linalg.norm(world_plan - world, axis=1)))
        assert np.linalg.norm(world_plan[j] - world) < 1e-3
        popped = max(popped, j - 1)
        assert j >= 1
        if j < len(world_plan) - 1:
            # everything before the previous target point was within 5 m at some tick; the target is not yet
            assert np.linalg.norm(t.target_point) > 4.0 - 1e-6
        seen_commands.add(t.command)
        assert t.tensors()["command"].argmax() == command_one_hot(t.command).argmax()
        if np.linalg.norm(t.target_point) < 30:
            assert t.target_point[0] > -5.0  # on this route the target never lies far behind
    assert popped >= len(world_plan) - 3  # the planner worked through the whole plan
    assert {1, 2} & seen_commands and 4 in seen_commands  # turns and lane follow on route 0


def test_distant_next_target_point_is_replaced():
    ref = (42.0, 2.0)
    pts = [(0.0, 0.0), (20.0, 0.0), (200.0, 0.0)]
    plan = [(*(location_to_gps(*ref, x, y, 0.0)[k] for k in ("lat", "lon", "z")), 4) for x, y in pts]
    src = TargetPointSource(plan_gps=[p[:3] for p in plan], commands=[p[3] for p in plan], reference=ref)
    g = location_to_gps(*ref, 1.0, 0.0, 0.0)
    t = src.step(g["lat"], g["lon"], 0.0, 0.0)
    np.testing.assert_allclose(t.target_point, (19.0, 0.0), atol=1e-4)
    np.testing.assert_allclose(t.target_point_next, t.target_point)  # 199 m away: skipped
    src = TargetPointSource([p[:3] for p in plan], [p[3] for p in plan], ref, skip_distant_next=None)
    np.testing.assert_allclose(src.step(g["lat"], g["lon"], 0.0, 0.0).target_point_next, (199.0, 0.0), atol=1e-4)
