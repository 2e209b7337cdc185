"""Blueprints scenario actors use: CARLA's static props (extents), and the blueprint
filters of scenario_runner (`'vehicle.*'` with attribute filters, `'walker.*'`).

Prop sizes are CARLA 0.9.15 bounding boxes as measured on a server (Scenic's blueprint
snapshot, tools/carla/snapshots/blueprints_0.9.15.json: length = 2·extent.x, width =
2·extent.y, height = 2·extent.z); stored here as half extents (x, y, z) in metres.

Vehicle attribute filters follow CARLA 0.9.15's blueprint attributes: `base_type`
(car, truck, van, ...), `special_type` ('emergency' for police, ambulance, fire truck),
`generation` (2 for the 2020+ models), `has_dynamic_doors` (the generation-2 cars whose
doors open). These sets are facts of the blueprint library, kept as small tables.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from lead.sim.embedded.vehicles import EMERGENCY_BLUEPRINTS, VEHICLES, WALKERS, vehicle, walker


def _half(length: float, width: float, height: float) -> tuple[float, float, float]:
    return (round(length / 2, 4), round(width / 2, 4), round(height / 2, 4))


# (length, width, height) in metres, CARLA 0.9.15
_PROP_SIZES: dict[str, tuple[float, float, float]] = {
    "static.prop.advertisement": (1.5492, 0.2868, 2.4428),
    "static.prop.atm": (0.7132, 0.8738, 2.2758),
    "static.prop.barrel": (0.4596, 0.4714, 0.8067),
    "static.prop.bench01": (1.5441, 0.7359, 0.9698),
    "static.prop.bench02": (1.5637, 0.5446, 0.5091),
    "static.prop.bench03": (1.5835, 0.5127, 0.5127),
    "static.prop.bin": (0.5482, 0.6382, 1.0591),
    "static.prop.box01": (0.6522, 0.6522, 0.6916),
    "static.prop.box02": (0.6486, 0.6486, 0.6486),
    "static.prop.box03": (0.6609, 0.6701, 0.6486),
    "static.prop.busstop": (3.8761, 1.8936, 2.7389),
    "static.prop.busstoplb": (1.8936, 3.8761, 2.7389),
    "static.prop.chainbarrier": (1.4942, 0.2386, 0.8887),
    "static.prop.clothcontainer": (1.2394, 1.8865, 1.8102),
    "static.prop.constructioncone": (0.3441, 0.3441, 0.5858),
    "static.prop.container": (1.9318, 1.0124, 1.7142),
    "static.prop.creasedbox01": (0.8088, 0.7129, 0.1178),
    "static.prop.creasedbox02": (0.8088, 0.7129, 0.1178),
    "static.prop.creasedbox03": (1.6687, 0.7129, 0.0217),
    "static.prop.dirtdebris01": (1.8574, 1.5139, 0.1490),
    "static.prop.dirtdebris02": (1.8574, 1.5139, 0.1490),
    "static.prop.dirtdebris03": (1.8574, 1.5139, 0.1884),
    "static.prop.doghouse": (1.0791, 1.2721, 1.0937),
    "static.prop.foodcart": (2.2847, 4.6384, 3.5731),
    "static.prop.glasscontainer": (1.9548, 2.0088, 1.7884),
    "static.prop.gnome": (0.3666, 0.3756, 0.8830),
    "static.prop.haybale": (1.2477, 1.1933, 1.1950),
    "static.prop.ironplank": (1.4519, 1.1744, 0.0205),
    "static.prop.kiosk_01": (1.6252, 1.6541, 3.2454),
    "static.prop.mailbox": (0.5266, 0.4384, 1.1573),
    "static.prop.plasticchair": (0.7305, 0.7504, 1.2713),
    "static.prop.plastictable": (2.4822, 2.4822, 2.4798),
    "static.prop.shoppingcart": (0.6694, 1.2075, 1.0793),
    "static.prop.shoppingtrolley": (0.5056, 0.3311, 1.0937),
    "static.prop.streetbarrier": (1.2149, 0.3717, 1.0691),
    "static.prop.streetsign": (1.0643, 0.1252, 2.1544),
    "static.prop.streetsign01": (2.4704, 0.3029, 3.8780),
    "static.prop.streetsign04": (1.1708, 0.1248, 2.7729),
    "static.prop.table": (2.1563, 2.1518, 0.8465),
    "static.prop.trafficcone01": (0.8828, 0.8822, 1.1333),
    "static.prop.trafficcone02": (0.4556, 0.3946, 1.1829),
    "static.prop.trafficwarning": (2.3734, 2.8706, 3.5695),
    "static.prop.trashbag": (0.3780, 0.4296, 0.7021),
    "static.prop.trashcan01": (0.6353, 0.5679, 0.8482),
    "static.prop.trashcan02": (0.5238, 0.5136, 1.0455),
    "static.prop.trashcan03": (0.6293, 0.5453, 0.9336),
    "static.prop.trashcan04": (0.7887, 0.5804, 1.0163),
    "static.prop.trashcan05": (0.7887, 0.5804, 1.0163),
    "static.prop.travelcase": (0.5673, 0.3276, 1.2626),
    "static.prop.vendingmachine": (0.8729, 1.1020, 2.1082),
    "static.prop.warningaccident": (1.3050, 1.0551, 1.8602),
    "static.prop.warningconstruction": (1.3050, 1.0551, 1.8602),
}
PROPS: dict[str, tuple[float, float, float]] = {k: _half(*v) for k, v in _PROP_SIZES.items()}

# Flat props a vehicle drives over (CARLA gives them no collision for the ego's sensor in
# practice: ControlLoss makes the ego drive across them).
FLAT_PROPS = frozenset({"static.prop.dirtdebris01", "static.prop.dirtdebris02", "static.prop.dirtdebris03",
                        "static.prop.creasedbox03", "static.prop.ironplank"})

# CARLA 0.9.15 `generation` = 2 cars (base_type car), and those of them with dynamic doors
GENERATION2_CARS = (
    "vehicle.dodge.charger_2020", "vehicle.dodge.charger_police_2020", "vehicle.ford.crown",
    "vehicle.lincoln.mkz_2020", "vehicle.mercedes.coupe_2020", "vehicle.micro.microlino",
    "vehicle.mini.cooper_s_2021", "vehicle.nissan.patrol_2021",
)
DYNAMIC_DOOR_CARS = (
    "vehicle.dodge.charger_2020", "vehicle.dodge.charger_police_2020", "vehicle.lincoln.mkz_2020",
    "vehicle.mercedes.coupe_2020", "vehicle.mini.cooper_s_2021", "vehicle.nissan.patrol_2021",
)
BICYCLES = ("vehicle.bh.crossbike", "vehicle.diamondback.century", "vehicle.gazelle.omafiets")


def prop(type_id: str) -> tuple[float, float, float]:
    """Half extents of a static prop; unknown names fail with the list of known ones."""
    try:
        return PROPS[type_id]
    except KeyError:
        raise KeyError(f"unknown static prop {type_id!r}; known: {', '.join(sorted(PROPS))}") from None


def kind_of(type_id: str) -> str:
    """'vehicle', 'walker' or 'static' from a blueprint id."""
    if type_id.startswith("vehicle."):
        return "vehicle"
    if type_id.startswith("walker."):
        return "walker"
    if type_id.startswith("static."):
        return "static"
    raise ValueError(f"blueprint {type_id!r} is neither a vehicle, a walker nor a static prop")


def extent_of(type_id: str) -> tuple[float, float, float]:
    """Half extents of any blueprint scenarios spawn."""
    k = kind_of(type_id)
    if k == "vehicle":
        return tuple(vehicle(type_id).extent)
    if k == "walker":
        return tuple(walker(type_id).extent)
    return prop(type_id)


def vehicle_choices(base_type: Sequence[str] | str | None = ("car",), generation: int | None = None,
                    special_type: str | None = "", has_dynamic_doors: bool = False) -> list[str]:
    """Blueprint ids matching scenario_runner's `attribute_filter` on 'vehicle.*', sorted.
    special_type '' excludes emergency vehicles, 'emergency' keeps only them, None any."""
    if isinstance(base_type, str):
        base_type = (base_type,)
    out = []
    for bp in sorted(VEHICLES):
        v = VEHICLES[bp]
        if base_type is not None and v.base_type not in base_type:
            continue
        if special_type == "" and v.emergency or special_type == "emergency" and not v.emergency:
            continue
        if generation == 2 and bp not in GENERATION2_CARS:
            continue
        if has_dynamic_doors and bp not in DYNAMIC_DOOR_CARS:
            continue
        out.append(bp)
    if not out:
        raise ValueError(f"no vehicle blueprint matches base_type={base_type} generation={generation} "
                         f"special_type={special_type!r} has_dynamic_doors={has_dynamic_doors}")
    return out


def emergency_vehicles() -> list[str]:
    return sorted(EMERGENCY_BLUEPRINTS)


def pick(rng: np.random.Generator, choices: Sequence[str]) -> str:
    return choices[int(rng.integers(len(choices)))]


def random_walker(rng: np.random.Generator) -> str:
    return pick(rng, sorted(WALKERS))
