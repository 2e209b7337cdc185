"""RayCaster: actors cast in their unit boxes agree with a BVH over the moved meshes."""
from __future__ import annotations

import numpy as np
import pytest
from embreex import rtcore_scene
from embreex.mesh_construction import TriangleMesh

from lead.sim.embedded.sensors import Actor, ActorKind, Mesh, RayCaster, actors_mesh, box

HALF = {ActorKind.CAR: (2.45, 1.06, 0.76), ActorKind.TRUCK: (3.6, 1.3, 1.7), ActorKind.BUS: (5.5, 1.45, 1.65),
        ActorKind.BICYCLE: (0.9, 0.35, 0.9), ActorKind.MOTORCYCLE: (1.1, 0.45, 0.85),
        ActorKind.PEDESTRIAN: (0.3, 0.3, 0.93), ActorKind.TRAFFIC_LIGHT: (0.28, 0.22, 0.6),
        ActorKind.PROP: (0.4, 0.4, 0.4)}


def _crowd(rng: np.random.Generator, n: int = 40) -> list[Actor]:
    kinds = list(ActorKind)
    actors = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        h = HALF[kind]
        pose = (rng.uniform(-30, 30), rng.uniform(-30, 30), h[2] + rng.uniform(0, 0.3), rng.uniform(-5, 5),
                rng.uniform(-5, 5), rng.uniform(-180, 180))
        actors.append(Actor(kind, pose, h, actor_id=100 + i))
    return actors


def _reference(actors: list[Actor], origins: np.ndarray, dirs: np.ndarray, tmax: float):
    mesh, owner = actors_mesh(actors)
    scene = rtcore_scene.EmbreeScene()
    TriangleMesh(scene, mesh.vertices, mesh.triangles.astype(np.int32))
    r = scene.run(origins.astype(np.float32), dirs.astype(np.float32), dists=np.full(len(dirs), tmax, np.float32),
                  output=1)
    hit = r["geomID"] >= 0
    return np.where(hit, r["tfar"], np.inf), np.where(hit, owner[r["primID"]], -1), mesh.triangle_classes()[
        np.where(hit, r["primID"], 0)] * hit


# one origin with many rays (azimuth buckets), with few rays (all pairs), and many origins
@pytest.mark.parametrize("single_origin, n", [(True, 20000), (True, 2000), (False, 20000)])
def test_instanced_actors_match_a_rebuilt_bvh(single_origin, n):
    rng = np.random.default_rng(1)
    actors = _crowd(rng)
    caster = RayCaster(Mesh.concat([]))
    caster.set_actors(actors)
    dirs = rng.normal(size=(n, 3))
    dirs[:, 2] = -np.abs(dirs[:, 2]) * 0.3
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    origins = np.array([0.5, -0.5, 1.8]) if single_origin else rng.uniform(-10, 10, (n, 3)) + (0, 0, 1.5)
    got = caster.cast(origins, dirs, 60.0, normals=True)
    want_t, want_actor, want_cls = _reference(actors, np.broadcast_to(origins, (n, 3)), dirs, 60.0)
    assert np.isfinite(want_t).sum() > n // 40
    np.testing.assert_array_equal(np.isfinite(got.distance), np.isfinite(want_t))
    hit = np.isfinite(want_t)
    np.testing.assert_allclose(got.distance[hit], want_t[hit], rtol=1e-4, atol=1e-4)
    same = got.actor[hit] == want_actor[hit]
    assert same.mean() > 0.999  # ties where two actors touch may go either way
    assert np.mean(got.semantic[hit] == want_cls[hit]) > 0.999
    # normals are unit and face the ray
    assert np.allclose(np.linalg.norm(got.normal[hit], axis=1), 1.0, atol=1e-4)
    assert np.all(np.einsum("ij,ij->i", got.normal[hit], dirs[hit]) <= 1e-6)


def test_map_and_actors_nearest_wins():
    wall = box((20.0, 0.0, 2.0), (0.5, 10.0, 2.0), (120, 120, 120), 3)
    caster = RayCaster(wall)
    caster.set_actors([Actor("car", (10.0, 0.0, 0.76, 0, 0, 0), (2.45, 1.06, 0.76), actor_id=9)])
    hits = caster.cast(np.array([0.0, 0.0, 0.5]), np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.2, 0.0]]) /
                       np.array([[1.0], [1.0], [np.hypot(1.0, 0.2)]]), 100.0)
    assert hits.actor.tolist() == [0, -1, -1]
    assert hits.semantic[0] == 14 and hits.semantic[2] == 3
    assert 10.0 - 2.45 <= hits.distance[0] < 10.0 - 2.2 and np.isinf(hits.distance[1])
    assert hits.distance[2] == pytest.approx(19.5 * np.hypot(1.0, 0.2), rel=1e-5)
