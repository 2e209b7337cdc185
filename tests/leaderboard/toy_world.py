"""A hand-made two-lane straight road (CARLA frame) and ego trajectories for criteria tests.

Road 1 runs along +x from X0 to X1. Lane -1 (y in [0, 3.5], centre y = 1.75) is driven
towards +x (yaw 0); lane 1 (y in [-3.5, 0], centre y = -1.75) towards -x (yaw 180). Points
with JX0 <= x < JX1 belong to a junction (road 100). No parking lanes.
"""
from __future__ import annotations

import math

from lead.leaderboard.geometry import Pose
from lead.leaderboard.snapshot import Collision, LanePoint, Tick

X0, X1 = -50.0, 400.0
WIDTH = 3.5
JX0, JX1 = 200.0, 215.0
DT = 0.05
EXTENT = (2.4508, 1.0642, 0.7554)


class StraightRoad:
    def __init__(self, with_junction: bool = False) -> None:
        self.with_junction = with_junction

    def _point(self, x: float, lane_id: int) -> LanePoint:
        junction = self.with_junction and JX0 <= x < JX1
        return LanePoint(
            road_id=100 if junction else 1, lane_id=lane_id, lane_type="driving", is_junction=junction,
            x=x, y=WIDTH / 2 if lane_id == -1 else -WIDTH / 2, z=0.0,
            yaw=0.0 if lane_id == -1 else 180.0, width=WIDTH)

    def lane_at(self, x: float, y: float, z: float, lane_type: str = "driving") -> LanePoint | None:
        if lane_type != "driving":
            return None
        return self._point(min(max(x, X0), X1), -1 if y >= 0 else 1)

    def lane_ahead(self, lane: LanePoint, distance: float) -> LanePoint | None:
        x = lane.x + (distance if lane.lane_id == -1 else -distance)
        if not X0 <= x <= X1:
            return None
        return self._point(x, lane.lane_id)


def route_points(x_start: float = 0.0, x_end: float = 100.0, y: float = WIDTH / 2) -> list[Pose]:
    """Dense route along lane -1, 1 m apart."""
    n = int(round(x_end - x_start))
    return [Pose(x_start + i, y, 0.0, 0.0) for i in range(n + 1)]


def tick(frame: int, x: float, y: float = WIDTH / 2, speed: float = 5.0, yaw: float = 0.0,
         speed_limit: float = 30.0, **kw) -> Tick:
    vx, vy = speed * math.cos(math.radians(yaw)), speed * math.sin(math.radians(yaw))
    return Tick(frame=frame, time=frame * DT, pose=Pose(x, y, 0.0, yaw), velocity=(vx, vy, 0.0),
                extent=EXTENT, speed_limit=speed_limit, **kw)


def drive(evaluator, xs, y=WIDTH / 2, speed=5.0, first_frame=1, extra=None, stop_when_done=True):
    """Step `evaluator` through ego x positions; `extra(frame, x)` may add Tick fields.
    Returns (last frame, list of StepResults)."""
    results = []
    frame = first_frame
    for x in xs:
        kw = extra(frame, x) if extra else {}
        yy = kw.pop("y", y)
        sp = kw.pop("speed", speed)
        results.append(evaluator.step(tick(frame, x, yy, sp, **kw)))
        if results[-1].done and stop_when_done:
            break
        frame += 1
    return frame, results


def collision(other_id: int, other_type: str) -> tuple[Collision, ...]:
    return (Collision(other_id, other_type),)
