"""One low-poly mesh per actor kind, shared by the cameras (instanced) and the ray caster
(rays moved into each actor's unit box), so LiDAR, radar and images see the same silhouettes.

Each template is modelled in metres around a reference box of the kind, then normalised to
the unit box [-1, 1]^3 (x forward, y right, z up; z = -1 is the ground) so that an actor's
half-extents stretch it to its own size.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Sequence

import numpy as np

from .meshes import INHERIT_CLASS, Material, Mesh, box, frustum_box, prism
from .scene import Actor, ActorKind, actor_matrices
from .semantic import SemanticClass

_GLASS = (38, 46, 56)
_TIRE = (22, 22, 22)
_DARK = (45, 45, 48)
_SKIN = (214, 170, 140)
_TROUSERS = (48, 52, 66)
_JACKET = (70, 85, 120)
_LIGHT = (235, 232, 215)
_TAIL = (170, 20, 20)
_I = INHERIT_CLASS
_RIDER = SemanticClass.RIDER


def _parts_to_unit(parts: Sequence[Mesh], ref_half: Sequence[float]) -> Mesh:
    """Parts modelled with z = height above ground -> unit box around the reference box."""
    m = Mesh.concat(list(parts))
    ref = np.asarray(ref_half, dtype=np.float64)
    v = m.vertices.astype(np.float64)
    v[:, 2] -= ref[2]
    return Mesh(v / ref, m.triangles, m.colors, m.classes, m.materials)


def _wheels(xs: Sequence[float], y: float, radius: float, half_width: float) -> list[Mesh]:
    return [prism((x, s * y, radius), radius, half_width, 1, _TIRE, _I, 10) for x in xs for s in (-1, 1)]


def _car() -> Mesh:
    parts = [
        frustum_box((-2.40, 2.42, -1.0, 1.0, 0.28), (-2.30, 2.36, -0.97, 0.97, 0.92), _DARK, _I, Material.PAINT),
        frustum_box((-1.55, 0.95, -0.92, 0.92, 0.92), (-1.05, 0.25, -0.76, 0.76, 1.46), _GLASS, _I),
        box((-0.40, 0.0, 1.48), (0.66, 0.77, 0.03), _DARK, _I, material=Material.PAINT),
        *[box((2.43, s * 0.70, 0.74), (0.02, 0.17, 0.06), _LIGHT, _I) for s in (-1, 1)],
        *[box((-2.41, s * 0.74, 0.78), (0.02, 0.15, 0.06), _TAIL, _I) for s in (-1, 1)],
        *_wheels((1.45, -1.45), 0.88, 0.34, 0.11),
    ]
    return _parts_to_unit(parts, (2.45, 1.06, 0.76))


def _truck() -> Mesh:
    parts = [
        box((2.80, 0.0, 1.70), (0.80, 1.25, 1.20), _DARK, _I, material=Material.PAINT),
        box((3.61, 0.0, 2.25), (0.02, 1.08, 0.45), _GLASS, _I),
        box((2.95, 0.0, 2.25), (0.45, 1.27, 0.35), _GLASS, _I),
        box((-0.90, 0.0, 2.05), (2.70, 1.30, 1.35), (205, 205, 200), _I),
        box((0.0, 0.0, 0.60), (3.55, 0.95, 0.15), _DARK, _I),
        *[box((3.61, s * 0.95, 0.95), (0.02, 0.18, 0.08), _LIGHT, _I) for s in (-1, 1)],
        *_wheels((2.75, -1.55, -2.75), 1.08, 0.50, 0.17),
    ]
    return _parts_to_unit(parts, (3.6, 1.3, 1.7))


def _bus() -> Mesh:
    parts = [
        box((0.0, 0.0, 1.75), (5.50, 1.45, 1.40), _DARK, _I, material=Material.PAINT),
        box((-0.20, 0.0, 2.10), (4.90, 1.47, 0.55), _GLASS, _I),
        box((5.51, 0.0, 2.00), (0.02, 1.30, 0.80), _GLASS, _I),
        *[box((5.51, s * 1.10, 0.85), (0.02, 0.18, 0.08), _LIGHT, _I) for s in (-1, 1)],
        *_wheels((3.80, -3.40), 1.25, 0.50, 0.17),
    ]
    return _parts_to_unit(parts, (5.5, 1.45, 1.65))


def _rider(seat_x: float, seat_h: float, bar_x: float, bar_h: float, helmet: bool) -> list[Mesh]:
    """A seated rider (CARLA tags riders apart from their bikes)."""
    torso_top = seat_h + 0.58
    return [
        frustum_box((seat_x - 0.15, seat_x + 0.12, -0.18, 0.18, seat_h),
                    (seat_x + 0.05, seat_x + 0.30, -0.20, 0.20, torso_top), _JACKET, _RIDER),
        prism((seat_x + 0.2, 0.0, torso_top + 0.15), 0.11, 0.13, 2, _DARK if helmet else _SKIN, _RIDER, 8),
        *[box(((seat_x + bar_x) / 2 + 0.1, s * 0.2, (torso_top + bar_h) / 2 - 0.05),
              ((bar_x - seat_x) / 2, 0.05, 0.05), _JACKET, _RIDER) for s in (-1, 1)],
        *[box((seat_x + 0.15, s * 0.13, seat_h * 0.55), (0.08, 0.07, seat_h * 0.45), _TROUSERS, _RIDER)
          for s in (-1, 1)],
    ]


def _bicycle() -> Mesh:
    parts = [
        *[prism((x, 0.0, 0.34), 0.34, 0.03, 1, _TIRE, _I, 10) for x in (-0.55, 0.55)],
        box((0.0, 0.0, 0.55), (0.55, 0.03, 0.04), _DARK, _I, material=Material.PAINT),
        box((0.45, 0.0, 0.95), (0.03, 0.28, 0.02), _DARK, _I),
        *_rider(-0.25, 0.90, 0.45, 0.95, helmet=False),
    ]
    return _parts_to_unit(parts, (0.9, 0.35, 0.9))


def _motorcycle() -> Mesh:
    parts = [
        *[prism((x, 0.0, 0.32), 0.32, 0.07, 1, _TIRE, _I, 10) for x in (-0.72, 0.72)],
        frustum_box((-0.65, 0.65, -0.18, 0.18, 0.35), (-0.45, 0.55, -0.15, 0.15, 0.82), _DARK, _I, Material.PAINT),
        box((0.62, 0.0, 1.0), (0.04, 0.35, 0.03), _DARK, _I),
        *_rider(-0.30, 0.82, 0.60, 1.0, helmet=True),
    ]
    return _parts_to_unit(parts, (1.1, 0.45, 0.85))


def _pedestrian() -> Mesh:
    parts = [
        *[box((0.0, s * 0.09, 0.43), (0.08, 0.07, 0.43), _TROUSERS, _I) for s in (-1, 1)],
        frustum_box((-0.12, 0.12, -0.18, 0.18, 0.86), (-0.11, 0.11, -0.21, 0.21, 1.45), _DARK, _I, Material.PAINT),
        *[box((0.0, s * 0.255, 1.14), (0.05, 0.04, 0.29), _DARK, _I, material=Material.PAINT) for s in (-1, 1)],
        prism((0.0, 0.0, 1.49), 0.05, 0.04, 2, _SKIN, _I, 6),
        prism((0.0, 0.0, 1.66), 0.105, 0.13, 2, _SKIN, _I, 8),
    ]
    return _parts_to_unit(parts, (0.3, 0.3, 0.93))


def _traffic_light() -> Mesh:
    """A three-lamp head facing +x; lamps light up by state (red on top)."""
    lamps = [(Material.LAMP_RED, (255, 45, 30), 0.83), (Material.LAMP_YELLOW, (255, 190, 20), 0.60),
             (Material.LAMP_GREEN, (40, 255, 110), 0.37)]
    parts = [box((0.0, 0.0, 0.60), (0.14, 0.20, 0.58), (38, 38, 34), _I)]
    for mat, color, h in lamps:
        parts.append(prism((0.16, 0.0, h), 0.085, 0.02, 0, color, _I, 10, material=mat))
        parts.append(box((0.22, 0.0, h + 0.10), (0.06, 0.11, 0.012), (38, 38, 34), _I))
    return _parts_to_unit(parts, (0.28, 0.22, 0.6))


def _prop() -> Mesh:
    return _parts_to_unit([box((0.0, 0.0, 0.5), (0.5, 0.5, 0.5), _DARK, _I, material=Material.PAINT)],
                          (0.5, 0.5, 0.5))


_BUILDERS = {
    ActorKind.CAR: _car, ActorKind.TRUCK: _truck, ActorKind.BUS: _bus, ActorKind.BICYCLE: _bicycle,
    ActorKind.MOTORCYCLE: _motorcycle, ActorKind.PEDESTRIAN: _pedestrian,
    ActorKind.TRAFFIC_LIGHT: _traffic_light, ActorKind.PROP: _prop,
}


@lru_cache(maxsize=None)
def actor_template(kind: ActorKind) -> Mesh:
    """The kind's mesh in the unit box (classes INHERIT_CLASS where the actor's id applies)."""
    return _BUILDERS[ActorKind(kind)]()


def actors_mesh(actors: Sequence[Actor]) -> tuple[Mesh, np.ndarray]:
    """All actors as one world-frame mesh with their own classes and colours, and the index
    of the owning actor per triangle (for ray casting)."""
    mats = actor_matrices(actors)
    kinds = np.array([a.kind.value for a in actors])
    meshes, owners = [], []
    for kind in dict.fromkeys(kinds.tolist()):  # kinds in first-seen order: deterministic
        idx = np.flatnonzero(kinds == kind)
        t = actor_template(ActorKind(kind))
        k, nv = len(idx), len(t.vertices)
        v = np.einsum("kij,vj->kvi", mats[idx, :3, :3], t.vertices.astype(np.float64)) + mats[idx, None, :3, 3]
        sem = np.array([actors[i].semantic for i in idx], np.uint8)[:, None]
        paint = np.array([actors[i].color for i in idx], np.uint8)[:, None, :]
        classes = np.where(t.classes == INHERIT_CLASS, sem, t.classes)
        colors = np.where((t.materials == Material.PAINT)[None, :, None], paint, t.colors)
        tris = t.triangles[None] + (np.arange(k, dtype=np.uint32) * nv)[:, None, None]
        meshes.append(Mesh(v.reshape(-1, 3), tris.reshape(-1, 3), colors.reshape(-1, 3), classes.reshape(-1),
                           np.tile(t.materials, k)))
        owners.append(np.repeat(idx.astype(np.int32), t.n_triangles))
    if not meshes:
        return Mesh.concat([]), np.zeros(0, np.int32)
    return Mesh.concat(meshes), np.concatenate(owners)
