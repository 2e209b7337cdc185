"""CARLA 0.9.15 vehicle and walker blueprints the embedded simulator spawns.

Sources (facts, not code):
- extents: actor.bounding_box.extent measured on a CARLA 0.9.15 server (Scenic's
  blueprint snapshot, tools/carla/snapshots); except the ego vehicle.lincoln.mkz_2020,
  which carries LEAD's ego_extent (config_base.py: 2.4508 x 1.0642 x 0.7554 m; on a
  0.9.15 server the 2020 MKZ itself measures 2.4462 x 0.9184 x 0.7451 and these numbers
  are the 2017 MKZ's box, but LEAD's boxes, labels and safety checks all use them);
- base_type: the blueprint's CARLA `base_type` attribute (car, truck, van, bus,
  motorcycle, bicycle); emergency: LEAD's EMERGENCY_MESHES (constants.py);
- wheelbase / rear axle: source "carla" = measured from the wheel positions of spawned
  CARLA actors (deepsense-ai/carla-real-traffic-scenarios vehicles.py; the 2020 MKZ:
  py123d's CARLA metadata 2.86048 m and LEAD's CARLA_REAR_AXLE -1.389 m); source "spec" =
  the manufacturer's figure of the modelled vehicle or, for firetruck, european_hgv and
  fusorosa, an estimate from the body length, with the rear axle assumed half a
  wheelbase behind the centre;
- max_steer_deg: CARLA's WheelPhysicsControl default front-wheel angle (70 deg); the
  blueprints' own values were not available offline.
Half-extents are from the box centre, in metres, x forward, y right, z up.
"""
from __future__ import annotations

from dataclasses import dataclass

EGO_BLUEPRINT = "vehicle.lincoln.mkz_2020"
BASE_TYPES = ("car", "truck", "van", "bus", "motorcycle", "bicycle")
EMERGENCY_BLUEPRINTS = frozenset(
    {
        "vehicle.dodge.charger_police",
        "vehicle.dodge.charger_police_2020",
        "vehicle.ford.ambulance",
        "vehicle.carlamotors.firetruck",
    }
)


@dataclass(frozen=True)
class VehicleBlueprint:
    blueprint_id: str
    base_type: str
    extent: tuple[float, float, float]  # half-extents x, y, z (m)
    wheelbase: float  # m
    rear_axle: float  # distance from the box centre back to the rear axle (m)
    wheelbase_source: str  # "carla" (measured in CARLA) or "spec"
    max_steer_deg: float = 70.0
    emergency: bool = False

    @property
    def two_wheeled(self) -> bool:
        return self.base_type in ("motorcycle", "bicycle")

    @property
    def number_of_wheels(self) -> int:
        return 2 if self.two_wheeled else 4

    @property
    def length(self) -> float:
        return 2.0 * self.extent[0]

    @property
    def width(self) -> float:
        return 2.0 * self.extent[1]


@dataclass(frozen=True)
class WalkerBlueprint:
    blueprint_id: str
    extent: tuple[float, float, float]  # half-extents x, y, z (m)

    @property
    def child(self) -> bool:
        return self.extent[2] < 0.6


def _v(
    bp: str, base: str, extent: tuple[float, float, float], wheelbase: float, rear: float, src: str
) -> VehicleBlueprint:
    return VehicleBlueprint(bp, base, extent, wheelbase, rear, src, emergency=bp in EMERGENCY_BLUEPRINTS)


_VEHICLES = (
    _v("vehicle.audi.a2", "car", (1.8527, 0.8943, 0.7745), 2.506, 1.257, "carla"),
    _v("vehicle.audi.etron", "car", (2.4279, 1.0164, 0.8247), 2.900, 1.386, "carla"),
    _v("vehicle.audi.tt", "car", (2.0906, 0.9971, 0.6926), 2.653, 1.406, "carla"),
    _v("vehicle.bh.crossbike", "bicycle", (0.7547, 0.4330, 0.8062), 1.050, 0.525, "spec"),
    _v("vehicle.bmw.grandtourer", "car", (2.3055, 1.1209, 0.8336), 2.935, 1.443, "carla"),
    _v("vehicle.carlamotors.carlacola", "truck", (2.6019, 1.3135, 1.2337), 2.665, 1.206, "carla"),
    _v("vehicle.carlamotors.european_hgv", "truck", (3.9679, 1.4455, 1.7310), 4.500, 2.250, "spec"),
    _v("vehicle.carlamotors.firetruck", "truck", (4.2340, 1.4455, 1.9137), 4.900, 2.450, "spec"),
    _v("vehicle.chevrolet.impala", "car", (2.6787, 1.0166, 0.7053), 2.982, 1.330, "carla"),
    _v("vehicle.citroen.c3", "car", (1.9938, 0.9254, 0.8086), 2.684, 1.410, "carla"),
    _v("vehicle.diamondback.century", "bicycle", (0.8281, 0.2912, 0.8099), 1.000, 0.500, "spec"),
    _v("vehicle.dodge.charger_2020", "car", (2.5039, 0.9408, 0.7674), 3.052, 1.526, "spec"),
    _v("vehicle.dodge.charger_police", "car", (2.4871, 1.0192, 0.7711), 3.010, 1.526, "carla"),
    _v("vehicle.dodge.charger_police_2020", "car", (2.6188, 0.9649, 0.8192), 3.052, 1.526, "spec"),
    _v("vehicle.ford.ambulance", "van", (3.1828, 1.1756, 1.2157), 4.040, 2.020, "spec"),
    _v("vehicle.ford.crown", "car", (2.6828, 0.9004, 0.7875), 2.913, 1.456, "spec"),
    _v("vehicle.ford.mustang", "car", (2.3588, 0.9474, 0.6505), 2.886, 1.324, "carla"),
    _v("vehicle.gazelle.omafiets", "bicycle", (0.9217, 0.3295, 0.8879), 1.120, 0.560, "spec"),
    _v("vehicle.harley-davidson.low_rider", "motorcycle", (1.1751, 0.3831, 0.8247), 1.615, 0.807, "spec"),
    _v("vehicle.jeep.wrangler_rubicon", "car", (1.9331, 0.9526, 0.9390), 2.308, 1.017, "carla"),
    _v("vehicle.kawasaki.ninja", "motorcycle", (1.0218, 0.3985, 0.7616), 1.370, 0.685, "spec"),
    _v("vehicle.lincoln.mkz_2017", "car", (2.4508, 1.0642, 0.7554), 2.871, 1.394, "carla"),
    _v("vehicle.lincoln.mkz_2020", "car", (2.4508, 1.0642, 0.7554), 2.860, 1.389, "carla"),
    _v("vehicle.mercedes.coupe", "car", (2.5134, 1.0758, 0.8253), 3.289, 1.522, "carla"),
    _v("vehicle.mercedes.coupe_2020", "car", (2.3368, 0.9059, 0.7210), 2.840, 1.420, "spec"),
    _v("vehicle.mercedes.sprinter", "van", (2.9576, 0.9942, 1.2803), 3.665, 1.833, "spec"),
    _v("vehicle.micro.microlino", "car", (1.1036, 0.7405, 0.6880), 1.473, 0.737, "spec"),
    _v("vehicle.mini.cooper_s", "car", (1.9029, 0.9851, 0.7375), 2.511, 1.367, "carla"),
    _v("vehicle.mini.cooper_s_2021", "car", (2.2763, 1.0485, 0.8836), 2.670, 1.335, "spec"),
    _v("vehicle.mitsubishi.fusorosa", "bus", (5.1363, 1.9721, 2.1264), 5.600, 2.800, "spec"),
    _v("vehicle.nissan.micra", "car", (1.8167, 0.9226, 0.7506), 2.490, 1.316, "carla"),
    _v("vehicle.nissan.patrol", "car", (2.3023, 0.9658, 0.9274), 2.764, 1.344, "carla"),
    _v("vehicle.nissan.patrol_2021", "car", (2.7829, 1.0750, 1.0226), 3.075, 1.538, "spec"),
    _v("vehicle.seat.leon", "car", (2.0964, 0.9081, 0.7369), 2.736, 1.420, "carla"),
    _v("vehicle.tesla.cybertruck", "truck", (3.1368, 1.1948, 1.0491), 3.807, 1.903, "spec"),
    _v("vehicle.tesla.model3", "car", (2.3959, 1.0817, 0.7438), 3.000, 1.415, "carla"),
    _v("vehicle.toyota.prius", "car", (2.2568, 1.0034, 0.7624), 2.820, 1.400, "carla"),
    _v("vehicle.vespa.zx125", "motorcycle", (0.9086, 0.4330, 0.7950), 1.334, 0.667, "spec"),
    _v("vehicle.volkswagen.t2", "van", (2.2402, 1.0347, 1.0189), 2.444, 1.276, "carla"),
    _v("vehicle.volkswagen.t2_2021", "van", (2.2211, 0.8873, 0.9936), 2.400, 1.200, "spec"),
    _v("vehicle.yamaha.yzf", "motorcycle", (1.0954, 0.4330, 0.7652), 1.375, 0.688, "spec"),
)
VEHICLES: dict[str, VehicleBlueprint] = {v.blueprint_id: v for v in _VEHICLES}

# CARLA 0.9.15 walkers 0001-0051: adults 0.1877 x 0.1877 x 0.93, children 0.25 x 0.25 x 0.55,
# and three (0012-0014) 0.65 high.
_CHILDREN = {9, 10, 11, 48, 49}
_SHORT = {12, 13, 14}


def _walker(i: int) -> WalkerBlueprint:
    extent = (0.25, 0.25, 0.55) if i in _CHILDREN else (0.1877, 0.1877, 0.65 if i in _SHORT else 0.93)
    return WalkerBlueprint(f"walker.pedestrian.{i:04d}", extent)


WALKERS: dict[str, WalkerBlueprint] = {w.blueprint_id: w for w in (_walker(i) for i in range(1, 52))}


def vehicle(blueprint_id: str) -> VehicleBlueprint:
    try:
        return VEHICLES[blueprint_id]
    except KeyError:
        raise KeyError(f"unknown vehicle blueprint {blueprint_id!r}; known: {', '.join(sorted(VEHICLES))}") from None


def walker(blueprint_id: str) -> WalkerBlueprint:
    try:
        return WALKERS[blueprint_id]
    except KeyError:
        raise KeyError(f"unknown walker blueprint {blueprint_id!r}; known: walker.pedestrian.0001-0051") from None


def vehicles_of(*base_types: str) -> list[VehicleBlueprint]:
    """Blueprints of the given CARLA base types, sorted by id."""
    unknown = set(base_types) - set(BASE_TYPES)
    if unknown:
        raise ValueError(f"unknown base_type(s) {sorted(unknown)}; known: {BASE_TYPES}")
    return [v for v in _VEHICLES if v.base_type in base_types]
