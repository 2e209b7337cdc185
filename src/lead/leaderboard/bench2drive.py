"""Bench2Drive's metrics on leaderboard results: success rate, driving score, driving
efficiency, comfortness and multi-ability, computed as Thinklab-SJTU/Bench2Drive's
tools/merge_route_json.py, efficiency_smoothness_benchmark.py and ability_benchmark.py do.

Records are the `_checkpoint.records` dicts of a (merged) checkpoint. Nothing here needs a
map: the ability tool's junction rule takes the route's first junction index from a callable.
"""
from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
from scipy.signal import savgol_filter

from lead.leaderboard.results import write_json_atomic

TOTAL_ROUTES = 220  # bench2drive220.xml

# Scenario types per ability, spelled as in the route XML (the tool's v0.0.3 lists; v0.0.1
# misspelled three names). Traffic_Signs overlaps Merging and Emergency_Brake.
ABILITIES: dict[str, tuple[str, ...]] = {
    "Overtaking": (
        "Accident", "AccidentTwoWays", "ConstructionObstacle", "ConstructionObstacleTwoWays",
        "HazardAtSideLaneTwoWays", "HazardAtSideLane", "ParkedObstacleTwoWays", "ParkedObstacle",
        "VehicleOpensDoorTwoWays"),
    "Merging": (
        "CrossingBicycleFlow", "EnterActorFlow", "HighwayExit", "InterurbanActorFlow", "HighwayCutIn",
        "InterurbanAdvancedActorFlow", "MergerIntoSlowTrafficV2", "MergerIntoSlowTraffic",
        "NonSignalizedJunctionLeftTurn", "NonSignalizedJunctionRightTurn",
        "NonSignalizedJunctionLeftTurnEnterFlow", "ParkingExit", "SequentialLaneChange",
        "SignalizedJunctionLeftTurn", "SignalizedJunctionRightTurn", "SignalizedJunctionLeftTurnEnterFlow"),
    "Emergency_Brake": (
        "BlockedIntersection", "DynamicObjectCrossing", "HardBreakRoute", "OppositeVehicleTakingPriority",
        "OppositeVehicleRunningRedLight", "ParkingCutIn", "PedestrianCrossing", "ParkingCrossingPedestrian",
        "StaticCutIn", "VehicleTurningRoute", "VehicleTurningRoutePedestrian", "ControlLoss"),
    "Give_Way": ("InvadingTurn", "YieldToEmergencyVehicle"),
    "Traffic_Signs": (
        "BlockedIntersection", "OppositeVehicleTakingPriority", "OppositeVehicleRunningRedLight",
        "PedestrianCrossing", "VehicleTurningRoute", "VehicleTurningRoutePedestrian", "EnterActorFlow",
        "CrossingBicycleFlow", "NonSignalizedJunctionLeftTurn", "NonSignalizedJunctionRightTurn",
        "NonSignalizedJunctionLeftTurnEnterFlow", "SignalizedJunctionLeftTurn", "SignalizedJunctionRightTurn",
        "SignalizedJunctionLeftTurnEnterFlow", "T_Junction", "VanillaNonSignalizedTurn",
        "VanillaSignalizedTurnEncounterGreenLight", "VanillaSignalizedTurnEncounterRedLight",
        "VanillaNonSignalizedTurnEncounterStopsign"),
}

# comfort bounds (nuPlan's), as the tool hard-codes them
MAX_ABS_MAG_JERK = 8.37  # m/s^3
MAX_ABS_LAT_ACCEL = 4.89  # m/s^2
MAX_LON_ACCEL = 2.40  # m/s^2
MIN_LON_ACCEL = -4.05  # m/s^2
MAX_ABS_YAW_ACCEL = 1.93  # rad/s^2
MAX_ABS_LON_JERK = 4.13  # m/s^3
MAX_ABS_YAW_RATE = 0.95  # rad/s
COMFORT_TIME_STEP = 0.1  # s, as the tool assumes
COMFORT_CHUNK = 20  # frames
METRIC_KEYS = ("acceleration", "angular_velocity", "forward_vector", "right_vector", "location", "rotation")

_PERCENT = re.compile(r"\b\d+\.?\d*%")


def is_success(record: Mapping[str, Any]) -> bool:
    """Completed or Perfect, and no infraction of any kind except min-speed ones."""
    if record["status"] not in ("Completed", "Perfect"):
        return False
    return not any(v for k, v in record["infractions"].items() if k != "min_speed_infractions")


def summary(records: Sequence[Mapping[str, Any]], total: int = TOTAL_ROUTES) -> dict[str, float]:
    """merge_route_json.py's numbers: mean score_composed and success share over `total` routes."""
    return {
        "driving score": sum(r["scores"]["score_composed"] for r in records) / total,
        "success rate": sum(is_success(r) for r in records) / total,
        "eval num": len(records),
    }


def efficiency_values(messages: Iterable[str]) -> list[float]:
    """The percentage in each min-speed message; values above 1000 % are dropped."""
    values = []
    for m in messages:
        found = _PERCENT.search(m)
        if found is None:
            raise ValueError(f"min_speed_infractions message has no percentage: {m!r}")
        v = float(found.group().rstrip("%"))
        if v <= 1000:
            values.append(v)
    return values


def driving_efficiency(records: Sequence[Mapping[str, Any]]) -> float | None:
    """Mean over routes (those with min-speed messages) of each route's mean percentage;
    None when no route has one. A route whose every value exceeds 1000 % is skipped (the tool
    would divide by zero)."""
    per_route = []
    for r in records:
        values = efficiency_values(r["infractions"].get("min_speed_infractions", []))
        if values:
            per_route.append(sum(values) / len(values))
    return sum(per_route) / len(per_route) if per_route else None


def _phase_unwrap(headings: np.ndarray) -> np.ndarray:
    adjustments = np.zeros_like(headings)
    adjustments[1:] = np.cumsum(np.round(np.diff(headings) / (2.0 * np.pi)))
    return headings - 2.0 * np.pi * adjustments


def _within(values: np.ndarray, low: float, high: float) -> bool:
    return bool(np.all((values > low) & (values < high)))


def is_comfortable(acceleration: np.ndarray, angular_velocity: np.ndarray, forward_vector: np.ndarray,
                   right_vector: np.ndarray, window_size: int = 7, poly_order: int = 2,
                   time_step: float = COMFORT_TIME_STEP) -> bool:
    """Whether every sample of a chunk is strictly inside all six comfort bounds, after
    Savitzky-Golay smoothing (window 7 capped at the chunk length, order 2)."""
    window = min(window_size, len(acceleration))
    if not poly_order < window:
        raise ValueError(f"comfort needs more than {poly_order} frames, got {len(acceleration)}")
    acc = np.asarray(acceleration, dtype=float)[:, :2]
    lon = np.einsum("ij,ij->i", acc, np.asarray(forward_vector, dtype=float)[:, :2])
    lat = np.einsum("ij,ij->i", acc, np.asarray(right_vector, dtype=float)[:, :2])
    mag = np.hypot(acc[:, 0], acc[:, 1])
    yaw_rate = _phase_unwrap(np.asarray(angular_velocity, dtype=float)[:, 2])

    def smooth(x: np.ndarray, deriv: int = 0) -> np.ndarray:
        return savgol_filter(x, window_length=window, polyorder=poly_order, deriv=deriv, delta=time_step)

    # the tool's "yaw acceleration" is the smoothed yaw rate, not its derivative: kept as is
    yaw_acc = smooth(yaw_rate)
    yaw_rate = smooth(yaw_rate)
    lon, lat, mag = smooth(lon), smooth(lat), smooth(mag)
    mag_jerk = smooth(mag, deriv=1)
    lon_jerk = smooth(lon, deriv=1)
    return (_within(lon, MIN_LON_ACCEL, MAX_LON_ACCEL)
            and _within(lat, -MAX_ABS_LAT_ACCEL, MAX_ABS_LAT_ACCEL)
            and _within(mag_jerk, -MAX_ABS_MAG_JERK, MAX_ABS_MAG_JERK)
            and _within(lon_jerk, -MAX_ABS_LON_JERK, MAX_ABS_LON_JERK)
            and _within(yaw_acc, -MAX_ABS_YAW_ACCEL, MAX_ABS_YAW_ACCEL)
            and _within(yaw_rate, -MAX_ABS_YAW_RATE, MAX_ABS_YAW_RATE))


def route_comfort(metric: Mapping[str, np.ndarray], chunk: int = COMFORT_CHUNK) -> float:
    """Share of comfortable full chunks of `chunk` frames (the trailing partial one dropped);
    an episode of at most `chunk` frames is judged whole (1.0 or 0.0)."""
    n = len(metric["angular_velocity"])
    keys = ("acceleration", "angular_velocity", "forward_vector", "right_vector")
    if n <= chunk:
        return 1.0 if is_comfortable(*(metric[k] for k in keys)) else 0.0
    flags = [is_comfortable(*(metric[k][s:s + chunk] for k in keys)) for s in range(0, n - chunk + 1, chunk)]
    return flags.count(True) / len(flags)


def read_metric_info(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """metric_info.json -> one (frames, 3) array per key, frames in file order."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: cannot read metric_info ({e})") from None
    out: dict[str, list] = {k: [] for k in METRIC_KEYS}
    for frame, values in data.items():
        for k in METRIC_KEYS:
            if k not in values:
                raise ValueError(f"{path}: frame {frame} lacks '{k}'")
            out[k].append(values[k])
    return {k: np.asarray(v, dtype=float).reshape(-1, 3) for k, v in out.items()}


def comfortness(records: Sequence[Mapping[str, Any]], metric_dir: str | os.PathLike) -> float | None:
    """Mean route comfort over records, reading <metric_dir>/<save_name>/metric_info.json."""
    scores = [route_comfort(read_metric_info(Path(metric_dir) / r["save_name"] / "metric_info.json"))
              for r in records]
    return sum(scores) / len(scores) if scores else None


def first_junction(is_junction: Sequence[bool]) -> tuple[int, int]:
    """(1-based index of the first junction point, number of points) of a route traced at 1 m,
    the tool's `count` and `len(waypoint_route)`."""
    for i, flag in enumerate(is_junction):
        if flag:
            return i + 1, len(is_junction)
    raise ValueError("this route does not contain any junction waypoint")


def scenario_types_from_xml(path: str | os.PathLike) -> dict[str, str]:
    """Route id -> type of its first scenario (what the tools read), from a route XML."""
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        raise ValueError(f"{path}: cannot read route file ({e})") from None
    types = {}
    for route in root.findall("route"):
        scenario = route.find("scenarios/scenario")
        if scenario is None or scenario.get("type") is None:
            raise ValueError(f"{path}: route {route.get('id')} has no scenario type")
        types[route.get("id")] = scenario.get("type")
    return types


def ability(
    records: Sequence[Mapping[str, Any]],
    route_types: Mapping[str, str],
    junction: Callable[[str], tuple[int, int]] | None = None,
    variant: Literal["v0.0.3", "v0.0.4"] = "v0.0.3",
) -> dict[str, Any]:
    """Multi-ability scores as ability_benchmark.py computes them.

    route_types: route id -> scenario type (the route set). junction: route id -> (1-based
    index of the first junction point, number of points) of the route traced at 1 m; needed
    for Traffic_Signs routes. A route passes the junction rule when score_route / 100 >
    (count + 8) / n with no stop and no red-light infraction.
    'v0.0.3' (the published tool up to v0.0.3): a Traffic_Signs route is counted twice in that
    ability, once by success and once by the junction rule. 'v0.0.4': counted once, a failed
    route may still pass by the junction rule.
    An ability without routes in the set scores None (the tool would divide by zero); `mean`
    is the sum over the five divided by 5, None unless all five have routes."""
    if variant not in ("v0.0.3", "v0.0.4"):
        raise ValueError(f"unknown ability variant {variant!r}")
    stats = {k: [0, 0] for k in ABILITIES}
    crashed = []
    by_id: dict[str, Mapping[str, Any]] = {}
    for r in records:
        by_id.setdefault(r["route_id"].split("_")[1], r)
    for route_id, kind in route_types.items():
        record = by_id.get(str(route_id))
        if record is None:
            crashed.append([kind, route_id])
            continue
        success = is_success(record)
        for name, kinds in ABILITIES.items():
            if kind in kinds:
                stats[name][1] += 1
                stats[name][0] += success
        if kind not in ABILITIES["Traffic_Signs"] or (variant == "v0.0.4" and success):
            continue
        if junction is None:
            raise ValueError(f"route {route_id} ({kind}) needs its first junction index: pass `junction`")
        count, n = junction(str(route_id))
        passes = (record["scores"]["score_route"] / 100.0 > (count + 8) / n
                  and not record["infractions"]["stop_infraction"] and not record["infractions"]["red_light"])
        stats["Traffic_Signs"][0] += passes
        if variant == "v0.0.3":
            stats["Traffic_Signs"][1] += 1
    result: dict[str, Any] = {k: (s / t if t else None) for k, (s, t) in stats.items()}
    scores = [result[k] for k in ABILITIES]
    result["mean"] = sum(scores) / len(ABILITIES) if None not in scores else None
    result["crashed"] = crashed
    return result


def ability_path(result_file: str | os.PathLike) -> Path:
    """<result>_ability.json next to the result file (its last suffix replaced)."""
    p = Path(result_file)
    return p.with_name(p.stem + "_ability.json")


def write_ability(result_file: str | os.PathLike, result: Mapping[str, Any]) -> Path:
    path = ability_path(result_file)
    write_json_atomic(path, dict(result), sort_keys=False)
    return path


def save_name(route_id: str, town: str, scenario_name: str, weather_id: str | None, when: datetime) -> str:
    """The record's save_name (folder of its metric_info.json) as Bench2Drive's evaluator
    builds it: <route_id>_<town>_<scenario>_<weather id>_<mm_dd_HH_MM_SS>."""
    return f"{route_id}_{town}_{scenario_name}_{weather_id}_{when.strftime('%m_%d_%H_%M_%S')}"
