"""Traffic events, named and numbered as scenario_runner's `TrafficEventType` (Leaderboard 2.0)."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class TrafficEventType(Enum):
    NORMAL_DRIVING = 0
    COLLISION_STATIC = 1
    COLLISION_VEHICLE = 2
    COLLISION_PEDESTRIAN = 3
    ROUTE_DEVIATION = 4
    ROUTE_COMPLETION = 5
    ROUTE_COMPLETED = 6
    TRAFFIC_LIGHT_INFRACTION = 7
    WRONG_WAY_INFRACTION = 8
    ON_SIDEWALK_INFRACTION = 9
    STOP_INFRACTION = 10
    OUTSIDE_LANE_INFRACTION = 11
    OUTSIDE_ROUTE_LANES_INFRACTION = 12
    VEHICLE_BLOCKED = 13
    MIN_SPEED_INFRACTION = 14
    YIELD_TO_EMERGENCY_VEHICLE = 15
    SCENARIO_TIMEOUT = 16


@dataclass
class TrafficEvent:
    """One event of a criterion. Mutable on purpose: like upstream, the route-completion and
    outside-route-lanes criteria keep one event and update its message and values each tick.

    `location` is where it happened (CARLA frame, metres): the ego's position, or the traffic
    light / stop sign for those infractions, as upstream stores it. `percentage` is set for the
    percentage-based events (outside route lanes, min speed); `route_completed` only for
    ROUTE_COMPLETION."""

    type: TrafficEventType
    frame: int
    time: float = 0.0
    message: str = ""
    location: tuple[float, float, float] | None = None
    other_actor_id: int = 0
    other_actor_type: str = ""
    percentage: float | None = None
    route_completed: float | None = None
    data: dict[str, Any] = field(default_factory=dict)
    criterion: str = ""
