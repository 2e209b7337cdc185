"""The expert's constants: LEAD's (lead/expert/config_expert.py, PDM-Lite lineage) as defaults,
overridable from a YAML file (config/expert.yaml).

Units are SI (m, s, m/s). LEAD counts many distances in dense-route points (10 per metre);
here they are metres and converted where the route is indexed.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

# Obstacle-scenario families LEAD handles by shifting the route (expert.py _solve_obstacle_scenarios).
OBSTACLE_SCENARIOS = (
    "Accident", "ConstructionObstacle", "ParkedObstacle",
    "AccidentTwoWays", "ConstructionObstacleTwoWays", "ParkedObstacleTwoWays", "VehicleOpensDoorTwoWays",
)


@dataclass(frozen=True)
class ShiftParams:
    """How LEAD shifts the route around one obstacle family (metres, lane fraction)."""
    transition: float  # length of the cosine transition into / out of the other lane
    add_before: float  # extra length before the first obstacle
    add_after: float  # extra length after the last obstacle
    factor: float = 1.0  # share of the way to the neighbour lane's centre
    add_after_slow: float | None = None  # replaces add_after when the speed limit is < 15 m/s


def _default_shifts() -> dict[str, ShiftParams]:
    # LEAD's numbers; its "0.5" add_after on slow roads is in route points (0.05 m).
    return {
        "Accident": ShiftParams(10.0, 1.5, 1.2, 1.0, 0.05),
        "ConstructionObstacle": ShiftParams(10.5, 1.5, 1.5, 1.12),
        "ParkedObstacle": ShiftParams(10.0, 1.0, 1.0, 1.0, 0.05),
        "AccidentTwoWays": ShiftParams(4.5, -1.0, -1.0, 1.0),
        "ConstructionObstacleTwoWays": ShiftParams(5.0, 1.5, 1.0, 1.12),
        "ParkedObstacleTwoWays": ShiftParams(4.0, -0.5, 0.5, 1.0),
        "VehicleOpensDoorTwoWays": ShiftParams(5.0, -1.0, -1.0, 0.75),
    }


@dataclass(frozen=True)
class ExpertConfig:
    # --- time and route ---------------------------------------------------------------
    fps: float = 20.0
    points_per_meter: int = 10  # density of the expert's route
    extra_route_length: float = 50.0  # m of lane added before and after the route
    route_point_search_distance: float = 4.0  # m ahead searched for the nearest route point
    stop_at_route_end: bool = True  # LEAD drives on past the end; a stack stops there

    # --- target speed -------------------------------------------------------------------
    ratio_target_speed_limit: float = 0.72
    default_speed_limit: float = 30.0 / 3.6  # where the map has no speed record
    max_target_speed: float = 20.0
    max_speed_in_junction_urban: float = 25.0 / 3.6
    urban_speed_limit: float = 40.0 / 3.6  # junction cap only on roads limited below this
    max_lookahead_to_check_for_junction: float = 30.0
    curvature_lateral_acceleration: float = 20.0  # m/s^2 of the curvature limit (before the ratio)
    curvature_braking_deceleration: float = 3.72  # approach deceleration into a curve
    curvature_lookahead: float = 40.0

    # --- IDM (per obstacle kind: minimum gap s0 and time headway T) --------------------
    idm_maximum_acceleration: float = 24.0
    idm_comfortable_braking_deceleration_low_speed: float = 8.7
    idm_comfortable_braking_deceleration_high_speed: float = 3.72
    idm_comfortable_braking_deceleration_threshold: float = 6.02
    idm_acceleration_exponent: float = 4.0
    idm_t_bound: float = 0.05
    idm_leading_vehicle: tuple[float, float] = (4.0, 0.25)
    idm_pedestrian: tuple[float, float] = (4.5, 0.125)
    idm_bicycle: tuple[float, float] = (6.0, 0.5)
    idm_red_light: tuple[float, float] = (3.0, 0.5)
    idm_stop_sign: tuple[float, float] = (2.0, 0.5)
    idm_two_way_scenarios: tuple[float, float] = (2.0, 0.1)
    idm_europe_red_light_minimum_distance: float = 6.0
    idm_overhead_red_light_minimum_distance: float = 9.0
    europe_light_towns: tuple[str, ...] = ("Town01", "Town02", "Town03", "Town04", "Town05", "Town06",
                                           "Town07", "Town10HD")
    overhead_light_towns: tuple[str, ...] = ("Town11", "Town12", "Town13", "Town15")
    light_pole_near_stop_line: float = 4.0  # m along the lane: the light stands at the stop line

    # --- traffic lights and stop signs --------------------------------------------------
    light_radius: float = 64.0
    light_stop_offset: float = 1.5  # m before the junction entry (LEAD: 4th 0.5 m step back)
    stop_sign_proximity: float = 4.0
    stop_sign_lookahead: float = 4.0
    stop_sign_min_extent: float = 1.0
    stop_sign_box_multiplier: float = 1.2
    clearing_distance_to_stop_sign: float = 3.0
    unclearing_distance_to_stop_sign: float = 10.0
    stop_sign_wait_ticks: int = 25

    # --- forecasting and collision checks ----------------------------------------------
    detection_radius: float = 50.0
    default_forecast_length: float = 2.0
    forecast_length_lane_change: float = 1.1
    extent_ego_bbs_speed_threshold: float = 5.0
    high_speed_extent_factor_ego_x: float = 1.3
    high_speed_extent_factor_ego_y: float = 1.2
    extent_other_vehicles_bbs_speed_threshold: float = 1.0
    high_speed_min_extent_x_other_vehicle: float = 1.2
    high_speed_min_extent_x_other_vehicle_lane_change: float = 2.0
    high_speed_min_extent_y_other_vehicle: float = 1.0
    high_speed_extent_y_factor_other_vehicle: float = 1.3
    pedestrian_minimum_extent: float = 1.5
    min_walker_speed: float = 0.5
    braking_distance_calculation_safety_distance: float = 10.0
    minimum_lookahead_distance_to_compute_near_lane_change: float = 20.0
    check_previous_distance_for_lane_change: float = 15.0
    leading_vehicles_max_route_distance: float = 2.5
    leading_vehicles_max_route_angle_distance: float = 35.0
    leading_vehicles_maximum_detection_radius: float = 80.0
    trailing_vehicles_max_route_distance: float = 3.0
    trailing_vehicles_max_route_distance_lane_change: float = 6.0
    trailing_vehicles_max_route_angle_distance: float = 30.0
    tailing_vehicles_maximum_detection_radius: float = 80.0
    max_distance_lane_change_trailing_vehicles: float = 15.0
    junction_yield_distance: float = 15.0  # crossing traffic this close to a junction: JUNCTION

    # --- route obstacles and emergency vehicles -----------------------------------------
    default_max_distance_to_process_scenario: float = 50.0
    obstacle_cluster_length: float = 30.0  # obstacles this far beyond the first belong to it
    obstacle_lane_margin: float = 0.3  # an obstacle blocks the lane if it reaches this far into it
    check_path_free_safety_distance: float = 10.0
    check_path_free_safety_time: float = 0.2
    previous_road_lane_retrieve_distance: int = 100
    default_overtake_speed: float = 40.0 / 3.6
    overtake_speed_vehicle_opens_door_two_ways: float = 8.75
    max_distance_to_overtake_two_way_scenarios: float = 8.0
    distance_to_delete_scenario_in_two_ways: float = 2.0
    two_ways_merge_offset: float = 1.0  # m past the shift start where the ego waits
    # lead's own: LEAD's TwoWays shifts (4-5 m ramps starting ~0.5 m before the obstacle) leave
    # the embedded car 0.2 m; this much more before and after gives ~0.7 m
    two_ways_shift_margin: float = 1.0
    min_target_speed_limit: float = 6.75  # LEAD's approach speed near obstacles on slow roads
    compute_min_time_to_cover_distance_params: tuple[float, ...] = (0.00904221, 0.00733342, -0.03744807, 0.0235038)
    transition_smoothness_distance: float = 8.0
    lane_shift_extension_length_for_yield_to_emergency_vehicle: float = 20.0
    emergency_yield_start: float = 30.0  # m ahead where the shift aside begins
    emergency_yield_length: float = 20.0
    max_distance_to_process_hazard_at_side_lane: float = 25.0  # to the last bicycle
    max_distance_to_process_hazard_at_side_lane_two_ways: float = 10.0  # to the first bicycle
    hazard_two_ways_pass_beyond: float = 17.0  # the TwoWays shift ends this far past the last bicycle
    shifts: dict[str, ShiftParams] = field(default_factory=_default_shifts)

    # --- control --------------------------------------------------------------------------
    steer_noise: float = 1e-3
    seed: int = 0
    minimum_speed_to_prevent_rolling_back: float = 0.5
    max_blocked_ticks: int = 170
    blocked_speed: float = 0.1
    creep_speed: float = 1.5  # m/s while creeping past a forecast-only obstruction
    creep_clearance: float = 3.0  # m ahead of the bumper that must be free to creep

    # --- plan and labels ------------------------------------------------------------------
    tf_first_checkpoint_distance: float = 2.5
    num_route_checkpoints: int = 10
    num_future_waypoints: int = 8
    waypoint_interval_ticks: int = 5  # 4 Hz at 20 Hz
    target_speed_classes: tuple[float, ...] = (0.0, 4.0, 8.0, 10.0, 13.88888888, 16.0, 17.77777777, 20.0)
    target_point_pop_distance: float = 3.25  # LEAD's tp_pop_distance for TFv6
    route_planner_max_distance: float = 50.0
    plan_sample_factor: float = 200.0  # leaderboard's set_global_plan downsampling, m

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, float) and not math.isfinite(v):
                raise ValueError(f"ExpertConfig.{f.name} must be finite, got {v}")
        if self.points_per_meter < 1 or self.fps <= 0:
            raise ValueError("ExpertConfig: points_per_meter must be >= 1 and fps > 0")
        if not 0.0 < self.ratio_target_speed_limit <= 1.5:
            raise ValueError(f"ExpertConfig.ratio_target_speed_limit must be in (0, 1.5], got {self.ratio_target_speed_limit}")
        ts = self.target_speed_classes
        if not ts or ts[0] != 0.0 or any(b <= a for a, b in zip(ts, ts[1:])):
            raise ValueError(f"ExpertConfig.target_speed_classes must start at 0 and increase, got {ts}")
        unknown = set(self.shifts) - set(OBSTACLE_SCENARIOS)
        if unknown:
            raise ValueError(f"ExpertConfig.shifts: unknown scenario types {sorted(unknown)}")

    @property
    def dt(self) -> float:
        return 1.0 / self.fps

    def points(self, metres: float) -> int:
        """A distance in dense-route points."""
        return int(round(metres * self.points_per_meter))


def load_expert_config(path: str | Path | None = None, **overrides: Any) -> ExpertConfig:
    """ExpertConfig from a YAML mapping of field names (unknown keys and wrong types are
    errors naming the file and key); `overrides` win over the file."""
    values: dict[str, Any] = {}
    source = "<overrides>"
    if path is not None:
        import yaml

        source = str(path)
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ValueError(f"{source}: cannot read expert config: {exc}") from None
        if not isinstance(data, dict):
            raise ValueError(f"{source}: expected a mapping of ExpertConfig fields, got {type(data).__name__}")
        values.update(data)
    values.update(overrides)
    known = {f.name: f for f in fields(ExpertConfig)}
    defaults = ExpertConfig()
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key not in known:
            raise ValueError(f"{source}: unknown expert config key {key!r}")
        kwargs[key] = _coerce(source, key, value, getattr(defaults, key))
    try:
        return ExpertConfig(**kwargs)
    except ValueError as exc:
        raise ValueError(f"{source}: {exc}") from None


def _coerce(source: str, key: str, value: Any, default: Any) -> Any:
    """The YAML value in the type of the default."""
    bad = ValueError(f"{source}: expert config key {key!r} expects {type(default).__name__}, got {value!r}")
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise bad
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        return float(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise bad
        return value
    if isinstance(default, tuple):
        if not isinstance(value, (list, tuple)):
            raise bad
        item = default[0] if default else None
        return tuple(_coerce(source, f"{key}[{i}]", v, item) if item is not None else v for i, v in enumerate(value))
    if isinstance(default, dict):  # shifts: {scenario: {transition, add_before, ...}}
        if not isinstance(value, dict):
            raise bad
        out = dict(default)
        for name, params in value.items():
            base = default.get(name, ShiftParams(0.0, 0.0, 0.0))
            if not isinstance(params, dict) or not all(
                    v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in params.values()):
                raise ValueError(f"{source}: expert config key {key}.{name} expects a mapping of numbers, got {params!r}")
            try:
                out[name] = dataclasses.replace(base, **params)
            except TypeError as exc:
                raise ValueError(f"{source}: expert config key {key}.{name}: {exc}") from None
        return out
    raise bad
