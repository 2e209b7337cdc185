"""The Leaderboard 2.0 route criteria as per-tick state machines.

Each class mirrors the same-named criterion of scenario_runner's atomic_criteria.py
(leaderboard-2.0 branch): thresholds, windows, order of checks and message texts. They read a
`Tick` instead of CarlaDataProvider and a `LaneMap` instead of carla.Map; `update` returns the
py_trees status the criterion would return, `terminate` is the end-of-route hook.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from enum import Enum

from lead.leaderboard.events import TrafficEvent, TrafficEventType
from lead.leaderboard.geometry import (
    RouteGeometry,
    Vec3,
    dist2,
    dist3,
    dot,
    forward_vector,
    rotate_yaw,
    segments_intersect,
    sub,
)
from lead.leaderboard.snapshot import LaneMap, LanePoint, StopSign, Tick, TrafficLight


class Status(Enum):
    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"


def _at(location: Sequence[float]) -> str:
    return f"(x={round(location[0], 3)}, y={round(location[1], 3)}, z={round(location[2], 3)})"


class Criterion:
    """Base: `test_status` is INIT / RUNNING / SUCCESS / FAILURE as upstream, `events` the
    traffic events so far (oldest first)."""

    def __init__(self, name: str, terminate_on_failure: bool = False) -> None:
        self.name = name
        self.terminate_on_failure = terminate_on_failure
        self.test_status = "INIT"
        self.actual_value: float = 0
        self.events: list[TrafficEvent] = []

    def update(self, tick: Tick) -> Status:
        return Status.RUNNING

    def terminate(self, tick: Tick | None) -> None:
        if self.test_status in ("RUNNING", "INIT"):
            self.test_status = "SUCCESS"

    def _failing(self) -> Status:
        return Status.FAILURE if self.terminate_on_failure and self.test_status == "FAILURE" else Status.RUNNING

    def _add(self, kind: TrafficEventType, tick: Tick | None, message: str, **kw) -> TrafficEvent:
        event = TrafficEvent(kind, tick.frame if tick else 0, tick.time if tick else 0.0, message,
                             criterion=self.name, **kw)
        self.events.append(event)
        return event


class RouteCompletionTest(Criterion):
    """Progress along the dense route; SUCCESS (the route ends on the next tick) once past 99 %
    and within 10 m of the last point."""

    WINDOWS_SIZE = 2
    DISTANCE_THRESHOLD = 10.0  # m
    PERCENTAGE_THRESHOLD = 99  # %

    def __init__(self, route: RouteGeometry, name: str = "RouteCompletionTest") -> None:
        super().__init__(name)
        self.success_value = 100
        self._route = route
        self._index = 0
        self._accum_perc = [a / route.length * 100 for a in route.accum]
        self._target = route.locations[-1]
        self._event = self._add(TrafficEventType.ROUTE_COMPLETION, None, "")
        self._publish()

    def _publish(self) -> None:
        self._event.route_completed = self.actual_value
        self._event.message = f"Agent has completed {self.actual_value} of the route"

    def update(self, tick: Tick) -> Status:
        status = Status.RUNNING
        location = tick.pose.location
        if self.test_status in ("RUNNING", "INIT"):
            for index in range(self._index, min(self._index + self.WINDOWS_SIZE + 1, len(self._route))):
                if self._route.passed(index, location):
                    self._index = index
                    self.actual_value = self._accum_perc[index]
            self.actual_value = round(self.actual_value, 2)
            self._publish()
            if (self.actual_value > self.PERCENTAGE_THRESHOLD
                    and dist3(location, self._target) < self.DISTANCE_THRESHOLD):
                self.test_status = "SUCCESS"
                self.actual_value = 100
        elif self.test_status == "SUCCESS":
            status = Status.SUCCESS
        return status

    def terminate(self, tick: Tick | None) -> None:
        self.actual_value = round(self.actual_value, 2)
        self._publish()
        if self.test_status == "INIT":
            self.test_status = "FAILURE"
        super().terminate(tick)


class OutsideRouteLanesTest(Criterion):
    """Share of the driven route length spent off driving/parking lanes or in a lane of the
    wrong direction; one event whose percentage and message are updated as the ego advances."""

    ALLOWED_OUT_DISTANCE = 0.5  # m, the mini-shoulder between lanes and sidewalks
    MAX_VEHICLE_ANGLE = 120.0
    MAX_WAYPOINT_ANGLE = 150.0
    WINDOWS_SIZE = 3

    def __init__(self, route: RouteGeometry, lane_map: LaneMap, name: str = "OutsideRouteLanesTest") -> None:
        super().__init__(name)
        self._route = route
        self._map = lane_map
        self._current_index = 0
        self._started = False
        self._last_ego_lane: LanePoint | None = None
        self._outside_lane_active = False
        self._wrong_lane_active = False
        self._last_road_id: int | None = None
        self._last_lane_id: int | None = None
        self._total_distance = 0.0
        self._wrong_distance = 0.0
        # scenarios switch the wrong-direction check off while the ego must invade the other lane
        self.wrong_direction_active = True
        self._event: TrafficEvent | None = None

    def update(self, tick: Tick) -> Status:
        location = tick.pose.location
        if not self._started:  # upstream reads it when the criterion is built, at the ego's start
            self._last_ego_lane = self._map.lane_at(*location)
            self._started = True
        self._is_outside_driving_lanes(location)
        self._is_at_wrong_lane(location, tick.pose.yaw)
        off = self._outside_lane_active or (self.wrong_direction_active and self._wrong_lane_active)
        if off:
            self.test_status = "FAILURE"
        for index in range(self._current_index + 1,
                           min(self._current_index + self.WINDOWS_SIZE + 1, len(self._route))):
            if self._route.passed(index, location):
                new_dist = dist3(self._route.locations[self._current_index], self._route.locations[index])
                self._total_distance += new_dist
                if off:
                    self._wrong_distance += new_dist
                if self._wrong_distance:
                    self._set_event(tick)
                self._current_index = index
        return Status.RUNNING

    def _set_event(self, tick: Tick) -> None:
        if self._event is None:
            self._event = self._add(TrafficEventType.OUTSIDE_ROUTE_LANES_INFRACTION, tick, "")
        percentage = self._wrong_distance / self._total_distance * 100
        self.actual_value = round(percentage, 2)
        self._event.message = (f"Agent went outside its route lanes for about {round(self._wrong_distance, 3)} "
                               f"meters ({round(percentage, 2)}% of the completed route)")
        self._event.percentage = percentage
        self._event.data = {"distance": self._wrong_distance}
        self._event.frame, self._event.time = tick.frame, tick.time
        self._event.location = tick.pose.location

    def _is_outside_driving_lanes(self, location: Vec3) -> None:
        driving = self._map.lane_at(*location, lane_type="driving")
        parking = self._map.lane_at(*location, lane_type="parking")
        driving_distance = dist3(location, driving.location) if driving else math.inf
        parking_distance = dist3(location, parking.location) if parking else math.inf
        lane = parking if driving_distance >= parking_distance else driving
        if lane is None:  # a map without lanes: nothing to be inside of
            self._outside_lane_active = True
            return
        distance = min(driving_distance, parking_distance)
        self._outside_lane_active = bool(distance > (lane.width / 2 + self.ALLOWED_OUT_DISTANCE))

    def _is_at_wrong_lane(self, location: Vec3, ego_yaw: float) -> None:
        lane = self._map.lane_at(*location, lane_type="driving")
        if lane is None:
            return
        if lane.is_junction:  # lanes are too chaotic at junctions
            self._wrong_lane_active = False
        elif self._last_road_id != lane.road_id or self._last_lane_id != lane.lane_id:
            last = self._last_ego_lane or lane
            if last.is_junction:
                # just left a junction: compare the lane's direction with the ego's
                angle = (lane.yaw % 360 - ego_yaw % 360) % 360
                self._wrong_lane_active = not (angle < self.MAX_VEHICLE_ANGLE
                                               or angle > (360 - self.MAX_VEHICLE_ANGLE))
            else:
                # lane direction is continuous along a road: a big jump means the ego crossed
                # into (or back out of) an opposite lane
                angle = (last.yaw % 360 - lane.yaw % 360) % 360
                if self.MAX_WAYPOINT_ANGLE < angle < (360 - self.MAX_WAYPOINT_ANGLE):
                    self._wrong_lane_active = not self._wrong_lane_active
        self._last_lane_id = lane.lane_id
        self._last_road_id = lane.road_id
        self._last_ego_lane = lane


class CollisionTest(Criterion):
    """Collisions from the collision sensor, classified static / vehicle / pedestrian by the
    other actor's type_id. Repeats are dropped: the same actor within 5 s, anything within 5 m
    of the last counted collision, and any collision while the ego is below 0.1 m/s."""

    COLLISION_RADIUS = 5  # m
    MAX_ID_TIME = 5  # s
    EPSILON = 0.1  # m/s

    def __init__(self, name: str = "CollisionTest") -> None:
        super().__init__(name)
        self._collision_id: int | None = None
        self._collision_time: float | None = None
        self._collision_location: Vec3 | None = None
        # the sensor callback sees the ego state cached at the previous tick, as upstream
        self._previous: Tick | None = None

    def on_collision(self, other_id: int, other_type: str, tick: Tick) -> None:
        """One collision-sensor event, before this tick's update."""
        ego = self._previous or tick
        location = ego.pose.location
        if self._collision_id == other_id:
            return
        if self._collision_location and dist3(location, self._collision_location) <= self.COLLISION_RADIUS:
            return
        if ego.speed < self.EPSILON:  # a standing ego is not at fault
            return
        self.test_status = "FAILURE"
        self.actual_value += 1
        self._collision_time = ego.time
        self._collision_location = location
        if other_id != 0:  # 0 is the static map geometry
            self._collision_id = other_id
        if ("static" in other_type or "traffic" in other_type) and "sidewalk" not in other_type:
            kind = TrafficEventType.COLLISION_STATIC
        elif "vehicle" in other_type:
            kind = TrafficEventType.COLLISION_VEHICLE
        elif "walker" in other_type:
            kind = TrafficEventType.COLLISION_PEDESTRIAN
        else:
            return
        self._add(kind, tick,
                  f"Agent collided against object with type={other_type} and id={other_id} at {_at(location)}",
                  location=location, other_actor_id=other_id, other_actor_type=other_type)

    def update(self, tick: Tick) -> Status:
        location = tick.pose.location
        if self._collision_location and dist3(location, self._collision_location) > self.COLLISION_RADIUS:
            self._collision_location = None
        if self._collision_id and tick.time - self._collision_time > self.MAX_ID_TIME:
            self._collision_id = None
        self._previous = tick
        return self._failing()


class ActorBlockedTest(Criterion):
    """FAILURE (and the route ends) after the ego stayed below `min_speed` for `max_time`."""

    def __init__(self, min_speed: float, max_time: float, terminate_on_failure: bool = True,
                 name: str = "AgentBlockedTest") -> None:
        super().__init__(name, terminate_on_failure)
        self._min_speed = min_speed
        self._max_time = max_time
        self._time_last_valid_state: float | None = None
        self._active = True
        self._switch: bool | None = None

    def switch(self, active: bool) -> None:
        """Scenario timeouts turn the check off while they run (AC_SwitchActorBlockedTest); the
        clock restarts when the switch is read at the next update."""
        self._switch = active

    def update(self, tick: Tick) -> Status:
        if self._switch is not None:
            self._active = self._switch
            self._time_last_valid_state = tick.time
            self._switch = None
        if self._active:
            # a last-valid time of None (or 0.0, as upstream tests truthiness) restarts the clock
            if tick.speed < self._min_speed and self._time_last_valid_state:
                if tick.time - self._time_last_valid_state > self._max_time and self.test_status != "FAILURE":
                    self.test_status = "FAILURE"
                    location = tick.pose.location
                    self._add(TrafficEventType.VEHICLE_BLOCKED, tick, f"Agent got blocked at {_at(location)}",
                              location=location)
            else:
                self._time_last_valid_state = tick.time
        return self._failing()


class RunningRedLightTest(Criterion):
    """A red light is run when the segment from 0.8 extent to extent + 1 m behind the ego's
    centre crosses a stop lane of a red light within 15 m, in the lane's direction."""

    DISTANCE_LIGHT = 15  # m

    def __init__(self, lights: Sequence[TrafficLight], lane_map: LaneMap, name: str = "RunningRedLightTest") -> None:
        super().__init__(name)
        self._lights = list(lights)
        self._map = lane_map
        self._last_red_light_id: int | None = None

    def update(self, tick: Tick) -> Status:
        location = tick.pose.location
        yaw = tick.pose.yaw
        ext = tick.extent[0]
        cx, cy = rotate_yaw(-0.8 * ext, 0.0, yaw)
        fx, fy = rotate_yaw(-ext - 1, 0.0, yaw)
        tail_close = (location[0] + cx, location[1] + cy, location[2])
        tail_far = (location[0] + fx, location[1] + fy, location[2])
        ego_dir = tick.pose.forward()
        tail_lane: LanePoint | None = None
        tail_lane_known = False
        for light in self._lights:
            if self._last_red_light_id and self._last_red_light_id == light.id:
                continue
            if dist3(light.trigger_center, location) > self.DISTANCE_LIGHT:
                continue
            if tick.light_states.get(light.id) != "Red":
                continue
            for lane in light.stop_lanes:
                if not tail_lane_known:
                    tail_lane, tail_lane_known = self._map.lane_at(*tail_far), True
                if tail_lane is None:
                    break
                lane_dir = forward_vector(lane.yaw, lane.pitch)
                if (tail_lane.road_id == lane.road_id and tail_lane.lane_id == lane.lane_id
                        and dot(ego_dir, lane_dir) > 0):
                    lx, ly = rotate_yaw(0.6 * lane.width, 0.0, lane.yaw + 90)
                    rx, ry = rotate_yaw(0.6 * lane.width, 0.0, lane.yaw - 90)
                    left = (lane.x + lx, lane.y + ly)
                    right = (lane.x + rx, lane.y + ry)
                    if segments_intersect(tail_close, tail_far, left, right):
                        self.test_status = "FAILURE"
                        self.actual_value += 1
                        self._add(TrafficEventType.TRAFFIC_LIGHT_INFRACTION, tick,
                                  f"Agent ran a red light {light.id} at {_at(light.location)}",
                                  location=light.location, other_actor_id=light.id,
                                  other_actor_type="traffic.traffic_light")
                        self._last_red_light_id = light.id
                        break
        return self._failing()


class RunningStopTest(Criterion):
    """A stop sign affects the ego when one of its lane points (its own and 8 more, 0.5 m
    apart ahead) lies in the sign's trigger area; leaving that area without having gone below
    0.1 m/s inside it is an infraction (once per sign in a row)."""

    PROXIMITY_THRESHOLD = 4.0  # m
    SPEED_THRESHOLD = 0.1  # m/s
    WAYPOINT_STEP = 0.5  # m

    def __init__(self, stop_signs: Sequence[StopSign], lane_map: LaneMap, name: str = "RunningStopTest") -> None:
        super().__init__(name)
        self._stops = list(stop_signs)
        self._map = lane_map
        self._target: StopSign | None = None
        self._stop_completed = False
        self._last_failed_stop: int | None = None

    @staticmethod
    def point_inside_boundingbox(point: Sequence[float], center: Sequence[float], extent: Sequence[float],
                                 multiplier: float = 1.2) -> bool:
        """Strictly inside the axis-aligned box (upstream ignores the sign's yaw here)."""
        ax, ay = center[0] - multiplier * extent[0], center[1] - multiplier * extent[1]
        bx, by = center[0] + multiplier * extent[0], center[1] - multiplier * extent[1]
        dx, dy = center[0] - multiplier * extent[0], center[1] + multiplier * extent[1]
        abx, aby, adx, ady = bx - ax, by - ay, dx - ax, dy - ay
        amx, amy = point[0] - ax, point[1] - ay
        am_ab = amx * abx + amy * aby
        ab_ab = abx * abx + aby * aby
        am_ad = amx * adx + amy * ady
        ad_ad = adx * adx + ady * ady
        return 0 < am_ab < ab_ab and 0 < am_ad < ad_ad

    def is_affected(self, lanes: Sequence[LanePoint], stop: StopSign) -> bool:
        if dist3(stop.trigger_center, lanes[0].location) > self.PROXIMITY_THRESHOLD:
            return False
        return any(self.point_inside_boundingbox(p.location, stop.trigger_center, stop.trigger_extent)
                   for p in lanes)

    def _lanes(self, tick: Tick) -> list[LanePoint]:
        lane = self._map.lane_at(*tick.pose.location)
        if lane is None:
            return []
        lanes = [lane]
        for _ in range(int(self.PROXIMITY_THRESHOLD / self.WAYPOINT_STEP)):
            lane = self._map.lane_ahead(lane, self.WAYPOINT_STEP)
            if lane is None:
                break
            lanes.append(lane)
        return lanes

    def _scan(self, tick: Tick, lanes: Sequence[LanePoint]) -> StopSign | None:
        ego_dir = tick.pose.forward()
        if dot(tick.velocity, ego_dir) < -0.17:  # reversing: ignore stops
            return None
        if dot(ego_dir, forward_vector(lanes[0].yaw, lanes[0].pitch)) < -0.17:  # opposite lane
            return None
        for stop in self._stops:
            if self.is_affected(lanes, stop):
                return stop
        return None

    def update(self, tick: Tick) -> Status:
        lanes = self._lanes(tick)
        if not lanes:  # off the map: nothing to judge this tick
            return self._failing()
        if self._target is None:
            self._target = self._scan(tick, lanes)
            return Status.RUNNING
        if not self._stop_completed and tick.speed < self.SPEED_THRESHOLD:
            self._stop_completed = True
        if not self.is_affected(lanes, self._target):
            if not self._stop_completed and self._last_failed_stop != self._target.id:
                self.actual_value += 1
                self.test_status = "FAILURE"
                stop = self._target
                self._add(TrafficEventType.STOP_INFRACTION, tick,
                          f"Agent ran a stop with id={stop.id} at {_at(stop.location)}",
                          location=stop.location, other_actor_id=stop.id, other_actor_type="traffic.stop")
                self._last_failed_stop = stop.id
            self._target = None
            self._stop_completed = False
        return self._failing()


# Leaderboard 2.0's BackgroundActivity (scenario_runner) keeps its vehicles around the ego: full
# speed within 30 m (2 vehicles ahead x 15 m), slowing to a stop at 45 m, both radii growing by
# 1.7 m per m/s of ego speed. Its 'background' vehicles are therefore the ego's surroundings.
BA_MAX_RADIUS_M = 45.0
BA_RADIUS_PER_MPS = 1.7


def surrounding_speeds(ego_xy: tuple[float, float], ego_speed: float,
                       vehicles: Iterable[tuple[float, float, float]]) -> tuple[float, ...]:
    """Speeds of the (x, y, speed) vehicles inside BackgroundActivity's radius of the ego: the
    min-speed test's population for a world whose traffic fills the whole town (the embedded
    world), where 'every background vehicle' would compare the ego with traffic kilometres away
    that does not wait when the ego waits."""
    r = BA_MAX_RADIUS_M + BA_RADIUS_PER_MPS * ego_speed
    ex, ey = ego_xy
    return tuple(v for x, y, v in vehicles if (x - ex) ** 2 + (y - ey) ** 2 <= r * r)


class MinimumSpeedRouteTest(Criterion):
    """Per route segment (length / checkpoints), the ego's mean speed as a percentage of the
    background traffic's mean speed; below 100 % is a MIN_SPEED_INFRACTION (Bench2Drive: every
    checkpoint is recorded)."""

    WINDOWS_SIZE = 2
    RATIO = 1

    def __init__(self, route: RouteGeometry, checkpoints: int = 1, every_checkpoint_event: bool = False,
                 name: str = "MinSpeedTest") -> None:
        super().__init__(name)
        if checkpoints < 1:
            raise ValueError(f"MinimumSpeedRouteTest needs checkpoints >= 1, got {checkpoints}")
        self.success_value = 100
        self.actual_value = 100
        self._route = route
        self._accum = route.accum
        self._checkpoint_dist = self._accum[-1] / checkpoints
        self._every = every_checkpoint_event
        self._mean_speed = 0.0
        self._actor_speed = 0.0
        self._speed_points = 0
        self._current_dist = 0.0
        self._checkpoint_values: list[float] = []
        self._index = 0
        self._last_tick: Tick | None = None

    def update(self, tick: Tick) -> Status:
        location = tick.pose.location
        for index in range(self._index, min(self._index + self.WINDOWS_SIZE + 1, len(self._route))):
            if self._route.passed(index, location):
                self._index = index
        if self._accum[self._index] - self._current_dist > self._checkpoint_dist:
            self._set_event(tick)
            self._current_dist = self._accum[self._index]
            self._mean_speed = 0.0
            self._actor_speed = 0.0
            self._speed_points = 0
        if tick.background_speeds:
            self._mean_speed += sum(tick.background_speeds) / len(tick.background_speeds)
            self._actor_speed += tick.speed
            self._speed_points += 1
        self._last_tick = tick
        return self._failing()

    def _set_event(self, tick: Tick | None) -> None:
        if self._speed_points > 0 and self._mean_speed:
            self._mean_speed /= self._speed_points
            self._actor_speed /= self._speed_points
            value = round(self._actor_speed / (self.RATIO * self._mean_speed) * 100, 2)
        else:
            value = 100
        if value >= self.success_value and not self._every:
            self.test_status = "SUCCESS"
        else:
            self.test_status = "FAILURE"
            self._add(TrafficEventType.MIN_SPEED_INFRACTION, tick,
                      f"Average speed is {value}% of the surrounding traffic's one", percentage=value,
                      location=tick.pose.location if tick else None)
        self._checkpoint_values.append(value)

    def terminate(self, tick: Tick | None) -> None:
        # routes end at about 99 %: record the last, partial checkpoint
        if self._accum[self._index] / self._accum[-1] > 0.95:
            self._set_event(tick or self._last_tick)
        if self._checkpoint_values:
            self.actual_value = round(sum(self._checkpoint_values) / len(self._checkpoint_values), 2)
        super().terminate(tick)


class InRouteTest(Criterion):
    """ROUTE_DEVIATION (the route ends) when the ego is `offroad_max` m or more from the route
    points in its window, or has driven more than 30 % of the route length farther than
    `offroad_max` / 2 from it."""

    MAX_ROUTE_PERCENTAGE = 30  # %
    WINDOWS_SIZE = 5

    def __init__(self, route: RouteGeometry, offroad_max: float = 30, terminate_on_failure: bool = True,
                 name: str = "InRouteTest") -> None:
        super().__init__(name, terminate_on_failure)
        self._route = route
        self._offroad_max = offroad_max
        self._offroad_min = offroad_max / 2
        self._current_index = 0
        self._out_route_distance = 0.0
        self._in_safe_route = True

    def update(self, tick: Tick) -> Status:
        status = Status.RUNNING
        location = tick.pose.location
        if self.terminate_on_failure and self.test_status == "FAILURE":
            return Status.FAILURE
        if self.test_status not in ("RUNNING", "INIT"):
            return status
        off_route = True
        shortest, closest = math.inf, -1
        for index in range(self._current_index, min(self._current_index + self.WINDOWS_SIZE + 1, len(self._route))):
            d = dist2(location, self._route.locations[index])
            if d <= shortest:
                closest, shortest = index, d
        if closest == -1 or shortest == math.inf:
            return status
        if shortest < self._offroad_max:
            off_route = False
            self._in_safe_route = bool(shortest < self._offroad_min)
        if self._current_index != closest:
            new_dist = self._route.accum[closest] - self._route.accum[self._current_index]
            if not self._in_safe_route:
                self._out_route_distance += new_dist
                if 100 * self._out_route_distance / self._route.accum[-1] > self.MAX_ROUTE_PERCENTAGE:
                    off_route = True
            self._current_index = closest
        if off_route:
            self._add(TrafficEventType.ROUTE_DEVIATION, tick, f"Agent deviated from the route at {_at(location)}",
                      location=location)
            self.test_status = "FAILURE"
            self.actual_value += 1
            status = Status.FAILURE
        return status


class RouteTimeout:
    """The route's timeout (scenario_runner timer.py RouteTimeoutBehavior, Leaderboard 2.0):
    300 s, plus for every metre the ego advances along the route the time to drive it at 10 %
    of the road's speed limit. `timeout` turns True once the elapsed game time exceeds it."""

    MIN_TIMEOUT = 300  # s
    TIMEOUT_ROUTE_PERC = 10  # %
    WINDOWS_SIZE = 3

    def __init__(self, route: RouteGeometry) -> None:
        self._route = route
        self._start_time: float | None = None
        self.timeout_value: float = self.MIN_TIMEOUT
        self.timeout = False
        self._current_index = 0

    def update(self, tick: Tick) -> Status:
        if self._start_time is None:
            self._start_time = tick.time
        location = tick.pose.location
        new_index = self._current_index
        for index in range(self._current_index, min(self._current_index + self.WINDOWS_SIZE + 1, len(self._route))):
            if self._route.passed(index, location):
                new_index = index
        if new_index > self._current_index:
            if tick.speed_limit <= 0:
                raise ValueError(f"frame {tick.frame}: speed_limit must be positive (km/h), got {tick.speed_limit}")
            dist = self._route.accum[new_index] - self._route.accum[self._current_index]
            timeout_speed = tick.speed_limit / 3.6 * self.TIMEOUT_ROUTE_PERC / 100
            self.timeout_value += dist / timeout_speed
            self._current_index = new_index
        if tick.time - self._start_time > self.timeout_value:
            self.timeout = True
            return Status.SUCCESS
        return Status.RUNNING


class YieldToEmergencyVehicleTest(Criterion):
    """Scenario criterion: FAILURE while the ego is in front of the emergency vehicle; the event
    is recorded when the scenario (or the route) ends in that state."""

    def __init__(self, ev_id: int, name: str = "YieldToEmergencyVehicleTest") -> None:
        super().__init__(name)
        self._ev_id = ev_id
        self._terminated = False

    def update(self, tick: Tick) -> Status:
        ev = tick.actors.get(self._ev_id)
        if ev is None:
            return Status.RUNNING
        ev_to_ego = sub(tick.pose.location, ev.location)
        self.test_status = "FAILURE" if dot(ev.forward(), ev_to_ego) > 0 else "SUCCESS"
        return Status.RUNNING

    def terminate(self, tick: Tick | None) -> None:
        if not self._terminated:
            if self.test_status == "FAILURE":
                self._add(TrafficEventType.YIELD_TO_EMERGENCY_VEHICLE, tick,
                          "Agent failed to yield to an emergency vehicle",
                          location=tick.pose.location if tick else None, other_actor_id=self._ev_id)
            self._terminated = True
        super().terminate(tick)


class ScenarioTimeoutTest(Criterion):
    """Scenario criterion: records SCENARIO_TIMEOUT when its scenario ended by its own timeout
    (the ScenarioTimeout behaviour's blackboard flag, here `timed_out`)."""

    def __init__(self, scenario_name: str, name: str = "ScenarioTimeoutTest") -> None:
        super().__init__(name)
        self.scenario_name = scenario_name
        self.timed_out = False
        self._terminated = False

    def terminate(self, tick: Tick | None) -> None:
        if not self._terminated:
            if self.timed_out:
                self.actual_value = 1
                self.test_status = "FAILURE"
                self._add(TrafficEventType.SCENARIO_TIMEOUT, tick, "Agent timed out a scenario",
                          location=tick.pose.location if tick else None)
            self._terminated = True
        super().terminate(tick)
