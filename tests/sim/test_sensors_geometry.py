"""Mesh builders, poses, actor meshes and the semantic palette."""
from __future__ import annotations

import numpy as np
import pytest

from lead.sim.embedded.sensors import (CITYSCAPES_PALETTE, INHERIT_CLASS, Actor, ActorKind, Mesh, RayCaster,
                                       SemanticClass, actor_template, actors_mesh, extruded_polygon, flat_polygon,
                                       polyline_strip, pose_matrix, ribbon, rotation_matrix, semantic_to_cityscapes,
                                       stop_sign, tree, world_matrix)
from lead.world.transform import Location, Rotation, Transform


def _area(mesh: Mesh) -> float:
    v = mesh.vertices.astype(np.float64)[mesh.triangles]
    return float(0.5 * np.linalg.norm(np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0]), axis=1).sum())


def test_rotation_matches_carla_transform():
    rng = np.random.default_rng(0)
    for roll, pitch, yaw in rng.uniform(-180, 180, (20, 3)):
        t = Transform(Location(1.0, -2.0, 3.0), Rotation(pitch=pitch, yaw=yaw, roll=roll))
        np.testing.assert_allclose(pose_matrix((1.0, -2.0, 3.0, roll, pitch, yaw)), t.get_matrix(), atol=1e-12)
    # yaw +90 turns forward (+x) to the right (+y); pitch +90 points forward up
    np.testing.assert_allclose(rotation_matrix(0, 0, 90) @ [1, 0, 0], [0, 1, 0], atol=1e-12)
    np.testing.assert_allclose(rotation_matrix(0, 90, 0) @ [1, 0, 0], [0, 0, 1], atol=1e-12)
    # a sensor pose composes with its parent as CARLA attaches it
    m = world_matrix((2.0, 0.0, 1.0, 0, 0, 0), (10.0, 5.0, 0.0, 0, 0, 90.0))
    np.testing.assert_allclose(m[:3, 3], [10.0, 7.0, 1.0], atol=1e-12)


def test_concave_polygon_area_and_extrusion():
    l_shape = np.array([[0, 0], [10, 0], [10, 4], [4, 4], [4, 10], [0, 10]], dtype=float)
    for poly in (l_shape, l_shape[::-1]):
        m = flat_polygon(poly, (1, 2, 3), SemanticClass.SIDEWALKS, z=0.15)
        assert m.n_triangles == 4 and _area(m) == pytest.approx(64.0)
        assert np.all(m.vertices[:, 2] == np.float32(0.15)) and np.all(m.classes == SemanticClass.SIDEWALKS)
    # collinear points along the edges (as sampled map outlines have) are fine too
    square = np.array([[0, 0], [5, 0], [10, 0], [10, 5], [10, 10], [5, 10], [0, 10], [0, 5]], dtype=float)
    assert _area(flat_polygon(square, (1, 2, 3), SemanticClass.ROADS)) == pytest.approx(100.0)
    b = extruded_polygon(l_shape, 0.0, 12.0, (150, 120, 100), SemanticClass.BUILDINGS)
    assert _area(b) == pytest.approx(64.0 + 40.0 * 12.0)
    # watertight but for the open bottom: once coincident vertices are merged, every edge is
    # shared by two triangles except the footprint's own edges on the ground
    verts, inv = np.unique(b.vertices.round(6), axis=0, return_inverse=True)
    t = inv.reshape(-1)[b.triangles]
    edges, counts = np.unique(np.sort(np.concatenate([t[:, [0, 1]], t[:, [1, 2]], t[:, [2, 0]]]), axis=1),
                              axis=0, return_counts=True)
    assert set(counts.tolist()) == {1, 2}
    assert np.all(verts[edges[counts == 1]][..., 2] == 0.0) and (counts == 1).sum() == len(l_shape)


def test_ribbon_and_dashed_strip():
    xs = np.linspace(0.0, 100.0, 51)
    left = np.column_stack([xs, np.full(51, -3.5), np.zeros(51)])
    right = np.column_stack([xs, np.zeros(51), np.zeros(51)])
    lane = ribbon(left, right, (90, 90, 90), SemanticClass.ROADS, tolerance=0.0)
    assert lane.n_triangles == 100 and _area(lane) == pytest.approx(350.0)
    # a straight lane needs one quad; a curved one keeps its points where it bends
    straight = ribbon(left, right, (90, 90, 90), SemanticClass.ROADS)
    assert straight.n_triangles == 2 and _area(straight) == pytest.approx(350.0)
    bend = 0.002 * (xs - 50.0) ** 2
    curved = ribbon(left + np.column_stack([0 * xs, bend, 0 * xs]), right + np.column_stack([0 * xs, bend, 0 * xs]),
                    (90, 90, 90), SemanticClass.ROADS, tolerance=0.01)
    assert 2 < curved.n_triangles < 100
    kept = curved.vertices[: len(curved.vertices) // 2].astype(np.float64)
    # every dropped point lies within the tolerance of the kept polyline
    dense = np.interp(xs, kept[:, 0], kept[:, 1])
    assert np.abs(dense - (-3.5 + bend)).max() < 0.011
    dashed = polyline_strip(right, 0.15, (230, 230, 230), SemanticClass.ROAD_LINES, dash=(3.0, 6.0))
    painted = sum(min(3.0, 100.0 - s0) for s0 in np.arange(0.0, 100.0, 9.0))  # the last dash is cut at the end
    assert _area(dashed) == pytest.approx(0.15 * painted, rel=1e-3)
    assert np.all(dashed.vertices[:, 2] > 0.0)  # lifted above the road
    with pytest.raises(ValueError):
        ribbon(left, right[:-1], (0, 0, 0), 1)


def test_props_carry_carla_classes():
    sign = stop_sign((0, 0, 0), yaw=180.0)
    assert set(np.unique(sign.classes).tolist()) == {SemanticClass.POLES, SemanticClass.TRAFFIC_SIGNS}
    plate = sign.vertices[sign.classes == SemanticClass.TRAFFIC_SIGNS]
    assert plate[:, 0].max() < 0.0  # faces -x when yawed 180
    assert set(np.unique(tree((0, 0, 0)).classes).tolist()) == {SemanticClass.VEGETATION}


@pytest.mark.parametrize("kind", list(ActorKind))
def test_actor_templates_fill_their_box(kind):
    t = actor_template(kind)
    lo, hi = t.vertices.min(axis=0), t.vertices.max(axis=0)
    assert np.all(lo >= -1.02) and np.all(hi <= 1.02), (lo, hi)
    assert lo[2] < -0.95  # stands on the ground
    assert max(hi[0] - lo[0], hi[1] - lo[1]) > 1.5 and hi[2] - lo[2] > 1.5
    assert INHERIT_CLASS in t.classes


def test_actors_mesh_places_and_tags_actors():
    actors = [Actor("car", (10.0, 5.0, 0.76, 0, 0, 90.0), (2.45, 1.06, 0.76), (255, 0, 0), actor_id=1),
              Actor("bicycle", (0.0, -4.0, 0.9, 0, 0, 0), (0.9, 0.35, 0.9), actor_id=2),
              Actor("car", (-20.0, 0.0, 0.8, 0, 0, 0), (2.3, 1.0, 0.8), semantic_id=SemanticClass.TRUCK, actor_id=3)]
    mesh, owner = actors_mesh(actors)
    assert len(owner) == mesh.n_triangles
    for i, a in enumerate(actors):
        v = mesh.vertices[np.unique(mesh.triangles[owner == i])].astype(np.float64)
        local = (v - a.pose[:3]) @ rotation_matrix(0, 0, a.pose[5])
        assert np.all(np.abs(local) <= np.asarray(a.half_extents) * 1.02 + 1e-6)
    tri_cls = mesh.triangle_classes()
    assert set(tri_cls[owner == 0].tolist()) == {SemanticClass.CAR}
    assert set(tri_cls[owner == 1].tolist()) == {SemanticClass.BICYCLE, SemanticClass.RIDER}
    assert set(tri_cls[owner == 2].tolist()) == {SemanticClass.TRUCK}
    # a ray down onto the first car's roof hits it
    caster = RayCaster(Mesh.concat([]))
    caster.set_actors(actors)
    hit = caster.cast(np.array([10.0, 5.0, 10.0]), np.array([[0.0, 0.0, -1.0]]), 50.0, normals=True)
    assert hit.actor[0] == 0 and hit.semantic[0] == SemanticClass.CAR
    assert 8.4 < hit.distance[0] < 8.6 and hit.normal[0, 2] == pytest.approx(1.0)


def test_cityscapes_palette():
    ids = np.array([[SemanticClass.ROADS, SemanticClass.CAR], [SemanticClass.SKY, 200]], np.uint8)
    rgb = semantic_to_cityscapes(ids)
    assert rgb.shape == (2, 2, 3)
    assert rgb[0, 0].tolist() == CITYSCAPES_PALETTE[1].tolist() and rgb[1, 1].tolist() == [0, 0, 0]
    assert len(CITYSCAPES_PALETTE) == len(SemanticClass) and len({tuple(c) for c in CITYSCAPES_PALETTE}) > 25
    with pytest.raises(TypeError):
        semantic_to_cityscapes(np.zeros(3, np.float32))


def test_face_normals_sit_on_each_triangles_provoking_vertex():
    """The cameras light a face at its last (provoking) vertex: after with_face_normals that
    vertex carries the face's normal, the triangles keep their corners and winding, and a
    duplicated vertex keeps its colour, class and material."""
    from lead.sim.embedded.sensors.meshes import box, with_face_normals

    mesh = Mesh.concat([box((0, 0, 1), (2, 1, 1), (10, 20, 30), SemanticClass.BUILDINGS, yaw=30.0),
                        tree((5, 5, 0), 6.0), ribbon(np.array([[0, 0, 0], [5, 0, 0.5], [9, 2, 1.5]]),
                                                     np.array([[0, 3, 0], [5, 3, 0.5], [9, 5, 1.0]]),
                                                     (90, 90, 90), SemanticClass.ROADS)])
    out, normals = with_face_normals(mesh)
    assert len(out.triangles) == len(mesh.triangles) and len(normals) == len(out.vertices) > len(mesh.vertices)
    before = mesh.vertices.astype(np.float64)[mesh.triangles]
    after = out.vertices.astype(np.float64)[out.triangles]
    n_before = np.cross(before[:, 1] - before[:, 0], before[:, 2] - before[:, 0])
    n_after = np.cross(after[:, 1] - after[:, 0], after[:, 2] - after[:, 0])
    assert np.allclose(n_before, n_after, atol=1e-5)  # same face, same winding
    assert np.array_equal(np.sort(before.reshape(-1, 9), axis=1), np.sort(after.reshape(-1, 9), axis=1))
    unit = n_after / np.linalg.norm(n_after, axis=1, keepdims=True)
    cos = np.einsum("ij,ij->i", normals[out.triangles[:, 2]], unit)
    assert np.all(np.abs(cos) > 1 - 1e-6)
    src = mesh.triangles.ravel()
    for name in ("colors", "classes", "materials"):  # every corner keeps its attributes
        assert np.array_equal(getattr(out, name)[out.triangles].reshape(len(out.triangles), 3, -1).sum(axis=1),
                              getattr(mesh, name)[src].reshape(len(mesh.triangles), 3, -1).sum(axis=1))
