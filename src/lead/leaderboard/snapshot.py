"""What the criteria read each tick, and the small map protocol they need. All in CARLA's
frame (left-handed, x fwd, y right, z up, metres, degrees). The route manager fills these
from the world's topics; nothing here imports ROS or the map library."""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from lead.leaderboard.geometry import Pose, Vec3, rotate_yaw, transform_point


@dataclass(frozen=True)
class LanePoint:
    """A lane-centre point, like a carla.Waypoint: ids, type ('driving', 'parking', ...),
    junction flag, centre location, lane direction (yaw, pitch) and lane width. `ref` is the
    map's own waypoint behind it (for `lane_ahead`), None where there is none."""

    road_id: int
    lane_id: int
    lane_type: str
    is_junction: bool
    x: float
    y: float
    z: float
    yaw: float
    width: float
    pitch: float = 0.0
    ref: Any = field(default=None, compare=False, repr=False)

    @property
    def location(self) -> Vec3:
        return (self.x, self.y, self.z)


class LaneMap(Protocol):
    """Map access of the criteria. A CARLA-like map satisfies it with two short methods:
    `lane_at` = map.get_waypoint(location, project_to_road=True, lane_type=...) (the nearest
    lane centre of that type, None when the map has no lane of it), and
    `lane_ahead` = waypoint.next(distance)[0] (None at a dead end)."""

    def lane_at(self, x: float, y: float, z: float, lane_type: str = "driving") -> LanePoint | None: ...

    def lane_ahead(self, lane: LanePoint, distance: float) -> LanePoint | None: ...


class WaypointLanes:
    """LaneMap over a CARLA-like map (carla.Map or lead.world.map.Map): `location(x, y, z)`
    builds the map's location type, `lane_types` maps 'driving' / 'parking' to its lane-type
    flags, e.g. WaypointLanes(m, Location, {"driving": LaneType.Driving, "parking": LaneType.Parking})."""

    def __init__(self, map_: Any, location: Callable[[float, float, float], Any], lane_types: Mapping[str, Any]):
        self._map = map_
        self._location = location
        self._types = dict(lane_types)

    def _point(self, wp: Any, lane_type: str) -> LanePoint:
        tf = wp.transform
        return LanePoint(wp.road_id, wp.lane_id, lane_type, bool(wp.is_junction), tf.location.x, tf.location.y,
                         tf.location.z, tf.rotation.yaw, wp.lane_width, tf.rotation.pitch, ref=wp)

    def lane_at(self, x: float, y: float, z: float, lane_type: str = "driving") -> LanePoint | None:
        if lane_type not in self._types:
            raise ValueError(f"lane type {lane_type!r} has no map flag: known {sorted(self._types)}")
        wp = self._map.get_waypoint(self._location(x, y, z), project_to_road=True, lane_type=self._types[lane_type])
        return None if wp is None else self._point(wp, lane_type)

    def lane_ahead(self, lane: LanePoint, distance: float) -> LanePoint | None:
        if lane.ref is None:
            raise ValueError(f"lane point of road {lane.road_id} lane {lane.lane_id} has no map waypoint")
        nxt = lane.ref.next(distance)
        return self._point(nxt[0], lane.lane_type) if nxt else None


@dataclass(frozen=True)
class Collision:
    """One event of the ego's collision sensor: the other actor's id (0 = map geometry) and
    CARLA type_id ('vehicle.tesla.model3', 'walker.pedestrian.0001', 'static.prop.barrel', ...)."""

    other_id: int
    other_type: str


@dataclass(frozen=True)
class TrafficLight:
    """A traffic light as RunningRedLightTest sees it: its actor location (for the message),
    the trigger volume's centre in the world, and the stop lanes it governs (see
    `traffic_light_stop_lanes`)."""

    id: int
    location: Vec3
    trigger_center: Vec3
    stop_lanes: tuple[LanePoint, ...]


@dataclass(frozen=True)
class StopSign:
    """A stop sign: actor location (message), trigger volume centre in the world
    (`transform_point(sign pose, trigger_volume.location)`) and the volume's half extents x, y
    (RunningStopTest treats the area as axis-aligned, as upstream does)."""

    id: int
    location: Vec3
    trigger_center: Vec3
    trigger_extent: tuple[float, float]


@dataclass(frozen=True)
class Tick:
    """One simulation tick as the criteria consume it.

    time: game time of the route (s, 0 when the route starts); velocity: ego velocity in the
    world (m/s); extent: ego bounding-box half extents (m); speed_limit: the road's limit at
    the ego (km/h, carla.Vehicle.get_speed_limit) for the route timeout; collisions: the
    collision sensor's events of this tick; light_states: traffic light id -> 'Red' | 'Yellow'
    | 'Green' | 'Off' | 'Unknown'; background_speeds: speeds (m/s) of the background-traffic
    vehicles (role_name 'background') for the min-speed test; actors: poses of actors a
    scenario criterion watches (the emergency vehicle), by id."""

    frame: int
    time: float
    pose: Pose
    velocity: Vec3
    extent: Vec3
    speed_limit: float
    collisions: tuple[Collision, ...] = ()
    light_states: Mapping[int, str] = field(default_factory=dict)
    background_speeds: tuple[float, ...] = ()
    actors: Mapping[int, Pose] = field(default_factory=dict)

    @property
    def speed(self) -> float:
        """Horizontal speed, as CarlaDataProvider.get_velocity computes it."""
        return math.hypot(self.velocity[0], self.velocity[1])


def traffic_light_stop_lanes(
    lane_map: LaneMap,
    light_pose: Pose,
    trigger_location: Vec3,
    trigger_extent: Vec3,
) -> tuple[Vec3, tuple[LanePoint, ...]]:
    """(trigger centre in the world, stop lanes) of a light, as RunningRedLightTest's
    get_traffic_light_waypoints computes them: sample the trigger box's x axis every metre
    within 90 % of its extent, project each sample to its driving lane (consecutive duplicates
    dropped), and advance each lane 0.5 m at a time until the step before the junction.

    `trigger_location` / `trigger_extent` are the light's trigger volume in its local frame."""
    center = transform_point(light_pose, trigger_location)
    ext_x = trigger_extent[0]
    lanes: list[LanePoint] = []
    for x in np.arange(-0.9 * ext_x, 0.9 * ext_x, 1.0):  # 0.9: keep off the neighbour lanes
        px, py = rotate_yaw(float(x), 0.0, light_pose.yaw)
        lane = lane_map.lane_at(center[0] + px, center[1] + py, center[2])
        if lane is None:
            continue
        if not lanes or lanes[-1].road_id != lane.road_id or lanes[-1].lane_id != lane.lane_id:
            lanes.append(lane)
    advanced = []
    for lane in lanes:
        while not lane.is_junction:
            nxt = lane_map.lane_ahead(lane, 0.5)
            if nxt is None or nxt.is_junction:
                break
            lane = nxt
        advanced.append(lane)
    return center, tuple(advanced)
