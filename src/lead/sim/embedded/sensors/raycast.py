"""Ray casting against the map and the actors with Embree (embreex), for LiDAR and radar.

The map's BVH is built once. Actors are never rebuilt: each kind's mesh (lead's actor
templates, the same the cameras draw) has its own BVH in the unit box, built on first use,
and a ray that may touch an actor (bounding-sphere test) is moved into that actor's unit
box and cast there; the parameter t along the ray is unchanged by the affine map, so hit
distances stay in metres. (Building an Embree scene costs ~0.6 us a triangle in embreex:
a per-tick rebuild of ~10k actor triangles took ~7 ms; bench/render_bench.py compares.)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from embreex import rtcore, rtcore_scene
from embreex.mesh_construction import TriangleMesh

from .actors import actor_template
from .meshes import INHERIT_CLASS, Mesh
from .scene import Actor, ActorKind, actor_matrices

_KINDS = list(ActorKind)


@dataclass
class RayHits:
    distance: np.ndarray  # (N,) float32 metres along the ray; inf where nothing was hit
    normal: np.ndarray    # (N, 3) float32 unit surface normal facing the ray origin (0 where no hit)
    semantic: np.ndarray  # (N,) uint8 CARLA class id of the hit surface (0 where no hit)
    actor: np.ndarray     # (N,) int32 index into the tick's actors; -1 for the map or no hit

    @property
    def hit(self) -> np.ndarray:
        return np.isfinite(self.distance)


class _Scene:
    """One Embree scene over a mesh, with the mesh's class per triangle."""

    def __init__(self, mesh: Mesh, device: rtcore.EmbreeDevice):
        self.scene = rtcore_scene.EmbreeScene(device)
        self.tri_class = mesh.triangle_classes()
        self.empty = mesh.n_triangles == 0
        if not self.empty:
            TriangleMesh(self.scene, mesh.vertices, mesh.triangles.astype(np.int32))

    def intersect(self, origins: np.ndarray, directions: np.ndarray, tmax: np.ndarray) -> dict[str, np.ndarray] | None:
        if self.empty or not len(origins):
            return None
        # embreex writes the hit distances into the array it is given
        return self.scene.run(np.ascontiguousarray(origins, dtype=np.float32),
                              np.ascontiguousarray(directions, dtype=np.float32),
                              dists=np.array(tmax, dtype=np.float32), output=1)


class RayCaster:
    """Casts rays against a static mesh (BVH built once) and the actors of the current tick."""

    def __init__(self, static_mesh: Mesh):
        self._device = rtcore.EmbreeDevice()
        self._static = _Scene(static_mesh, self._device)
        self._templates: dict[ActorKind, _Scene] = {}
        self.set_actors(())

    def set_actors(self, actors: Sequence[Actor]) -> None:
        """This tick's actors (cheap: no BVH is rebuilt)."""
        self.actors = list(actors)
        m = actor_matrices(self.actors)
        self._centers = m[:, :3, 3]
        self._to_unit = np.linalg.inv(m[:, :3, :3]) if len(m) else np.zeros((0, 3, 3))
        # templates overhang their unit box by a few per cent
        self._radii = np.array([np.linalg.norm(a.half_extents) for a in self.actors]) * 1.1
        self._kinds = np.array([_KINDS.index(a.kind) for a in self.actors], np.int8)
        self._semantic = np.array([a.semantic for a in self.actors], np.uint8)
        # hit actor index -> actor id; index -1 (the map, or no hit) reads the trailing 0
        self.actor_ids = np.array([a.actor_id for a in self.actors] + [0], np.uint32)
        for kind in {a.kind for a in self.actors}:  # built here, not lazily by concurrent casts
            self._template(kind)

    def _template(self, kind: ActorKind) -> _Scene:
        if kind not in self._templates:
            self._templates[kind] = _Scene(actor_template(kind), self._device)
        return self._templates[kind]

    def cast(self, origins: np.ndarray, directions: np.ndarray, max_distance: float | np.ndarray,
             normals: bool = False) -> RayHits:
        """Nearest hit along each ray within max_distance. `directions` must be unit vectors
        (distances are then metres); origins (N, 3) or (3,), world frame. Surface normals are
        computed only when asked for."""
        d = np.ascontiguousarray(directions, dtype=np.float32).reshape(-1, 3)
        n = len(d)
        origins = np.asarray(origins, dtype=np.float64)
        o = np.ascontiguousarray(np.broadcast_to(origins.astype(np.float32), (n, 3)))
        tmax = np.array(np.broadcast_to(np.asarray(max_distance, dtype=np.float32), (n,)))
        dist = np.full(n, np.inf, np.float32)
        semantic = np.zeros(n, np.uint8)
        actor = np.full(n, -1, np.int32)
        ng = np.zeros((n, 3), np.float32)
        self._cast_actors(origins, d, tmax, dist, semantic, actor, ng if normals else None)
        r = self._static.intersect(o, d, np.minimum(tmax, dist))  # actor hits bound the map's traversal
        if r is not None:
            h = r["geomID"] >= 0
            dist[h] = r["tfar"][h]
            semantic[h] = self._static.tri_class[r["primID"][h]]
            actor[h] = -1
            if normals:
                ng[h] = r["Ng"][h]
        if normals:
            ng /= np.maximum(np.linalg.norm(ng, axis=1, keepdims=True), 1e-30)
            ng *= -np.sign(np.einsum("ij,ij->i", ng, d))[:, None]  # face the sensor
        return RayHits(dist, ng, semantic, actor)

    def _candidates(self, origin: np.ndarray, d: np.ndarray, tmax: np.ndarray) -> list[tuple[int, np.ndarray]]:
        """Per actor, the rays (from one origin) that pass through its bounding sphere. Few rays
        (radar): all pairs at once. Many (LiDAR): rays are bucketed by azimuth and each actor
        tests only the rays pointing its way (the sphere's shadow on the ground bounds the
        azimuths that can hit it)."""
        rel = self._centers - origin
        dist2 = np.sum(rel * rel, axis=1)
        near = np.flatnonzero(np.sqrt(dist2) - self._radii <= tmax.max())
        if len(d) * len(near) <= 100_000:
            along = d @ rel[near].T.astype(np.float32)
            r = self._radii[near]
            ok = (dist2[near] - along * along <= r * r) & (along >= -r) & (along - r <= tmax[:, None])
            return [(int(near[j]), np.flatnonzero(ok[:, j])) for j in np.flatnonzero(ok.any(axis=0))]
        bins = 360
        b = np.minimum(((np.arctan2(d[:, 1], d[:, 0]) + np.pi) * (bins / (2 * np.pi))).astype(np.int16), bins - 1)
        order = np.argsort(b, kind="stable")  # radix sort on int16
        starts = np.searchsorted(b[order], np.arange(bins + 1))
        hd = np.hypot(rel[:, 0], rel[:, 1])
        caz = np.arctan2(rel[:, 1], rel[:, 0])
        out = []
        for k in near:
            r = self._radii[k]
            if hd[k] <= r:
                cand = np.arange(len(d))
            else:
                half = np.arcsin(r / hd[k])
                lo = int(np.floor((caz[k] - half + np.pi) * bins / (2 * np.pi)))
                hi = int(np.floor((caz[k] + half + np.pi) * bins / (2 * np.pi)))
                cand = np.concatenate([order[starts[i % bins]:starts[i % bins + 1]] for i in range(lo, hi + 1)])
            along = d[cand] @ rel[k].astype(np.float32)
            cand = cand[(dist2[k] - along * along <= r * r) & (along >= -r) & (along - r <= tmax[cand])]
            if len(cand):
                out.append((int(k), cand))
        return out

    def _candidates_general(self, origins: np.ndarray, d: np.ndarray, tmax: np.ndarray) -> list[tuple[int, np.ndarray]]:
        """Per actor, the rays (from many origins) through its bounding sphere."""
        out = []
        for k in range(len(self._centers)):
            rel = self._centers[k] - origins
            along = np.einsum("ij,ij->i", rel, d)
            r = self._radii[k]
            cand = np.flatnonzero((np.einsum("ij,ij->i", rel, rel) - along * along <= r * r) & (along >= -r)
                                  & (along - r <= tmax))
            if len(cand):
                out.append((k, cand))
        return out

    def _cast_actors(self, origins: np.ndarray, d: np.ndarray, tmax: np.ndarray, dist: np.ndarray,
                     semantic: np.ndarray, actor: np.ndarray, ng: np.ndarray | None) -> None:
        """Fill the nearest actor hit per ray into the output arrays."""
        if not self.actors:
            return
        single = origins.ndim == 1
        groups = self._candidates(origins, d, tmax) if single else self._candidates_general(origins, d, tmax)
        # per kind: every (ray, actor) pair moved into the actor's unit box, cast in one call
        by_kind: dict[int, list] = {}
        for k, rays in groups:
            to_unit = self._to_unit[k]
            o = (origins if single else origins[rays]) - self._centers[k]
            lo = np.broadcast_to(o @ to_unit.T, (len(rays), 3))
            by_kind.setdefault(int(self._kinds[k]), []).append((k, rays, lo, d[rays] @ to_unit.T.astype(np.float32)))
        for kind, parts in by_kind.items():
            rays = np.concatenate([p[1] for p in parts])
            acts = np.concatenate([np.full(len(p[1]), p[0]) for p in parts])
            scene = self._template(_KINDS[kind])
            res = scene.intersect(np.concatenate([p[2] for p in parts]), np.concatenate([p[3] for p in parts]),
                                  np.minimum(tmax[rays], dist[rays]))  # nearer than what is already hit
            h = np.flatnonzero(res["geomID"] >= 0)
            if not len(h):
                continue
            # nearest pair per ray: sort by distance, keep each ray's first
            h = h[np.argsort(res["tfar"][h], kind="stable")]
            h = h[np.unique(rays[h], return_index=True)[1]]
            r, t, a = rays[h], res["tfar"][h], acts[h]
            closer = t < dist[r]
            h, r, t, a = h[closer], r[closer], t[closer], a[closer]
            dist[r] = t
            actor[r] = a
            tcls = scene.tri_class[res["primID"][h]]
            semantic[r] = np.where(tcls == INHERIT_CLASS, self._semantic[a], tcls)
            if ng is not None:
                # normals map with the inverse transpose of unit box -> world
                ng[r] = np.einsum("pji,pj->pi", self._to_unit[a], res["Ng"][h].astype(np.float64))
