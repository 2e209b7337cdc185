"""Counterfactual junction branches: the other ways through the junction ahead (not in LEAD's recipe).

Why: on lead's embedded data the TFv6 model picks its way through a junction from what it sees
more than from its command and target points (models/tfv6_small/README.md: with a target point
straight ahead and STRAIGHT it still bends into the side street). Every training frame pairs one
camera view with the one branch the expert took, so nothing in the data makes the planning inputs
necessary. A branch turns one frame into another: the same sensors, the command and target points
of another branch of the junction ahead, and the route checkpoints along that branch. Only the
route checkpoints can be labelled so (where the car would be in time depends on how the expert
would have driven there), so a branch trains the route head alone (`lead.model.losses`: samples
with `route_only` leave the waypoint and target-speed losses).

A frame gets a branch when its command is a junction road option (LEFT, RIGHT, STRAIGHT) or a lane
follow towards a junction, the lane graph from the ego's lane (the lane leading into the junction
when the ego is already inside it) reproduces the expert's route checkpoints and reaches its target
points, another connecting lane from that lane turns another way and still passes the ego, and
the two ways part before the next target point and within the route checkpoints (the last one at
least 1 m apart). Turn-only lanes have no branch. Geometry is CARLA's frame (x forward, y right
in the ego frame), metres.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lead.inference.route_planner import input_commands
from lead.world.transform import Location
from lead.training.labels import view_transform
from lead.world.map import Map, Waypoint
from lead.world.planner import RoadOption

JUNCTION_OPTIONS = (RoadOption.LEFT, RoadOption.RIGHT, RoadOption.STRAIGHT)
MAX_BRANCHES = 2           # a four-way crossing has two other ways
STEP = 1.0                 # m between path points (the expert's checkpoints are 1 m apart)
FIRST_CHECKPOINT = 2.5     # m: lead.expert.config.tf_first_checkpoint_distance
STRAIGHT_DEG = 35.0        # carla agents' GlobalRoutePlanner turn threshold
MATCH_M = 1.5              # the lane graph must put the expert's checkpoints and target point this close
PART_M = 4.0               # a branch's target point lies at least this far from the expert's
PART_CHECKPOINTS_M = 1.0  # ... and its last route checkpoint at least this far
MAX_PATHS = 8


@dataclass(frozen=True)
class Branch:
    """Another way through the junction ahead, in the ego frame of the frame it was made for."""
    route: np.ndarray              # (num_route_points, 2) checkpoints along the branch
    target_point: np.ndarray       # (2,)
    target_point_next: np.ndarray  # (2,)
    command: RoadOption


def to_world(points: np.ndarray, pose: tuple[float, float, float]) -> np.ndarray:
    """Ego frame (N, 2) -> world (N, 2) for an ego at (x, y, yaw rad): inverse of labels.view_transform."""
    p = np.asarray(points, np.float64).reshape(-1, 2)
    c, s = math.cos(pose[2]), math.sin(pose[2])
    return np.column_stack([pose[0] + c * p[:, 0] - s * p[:, 1], pose[1] + s * p[:, 0] + c * p[:, 1]])


def to_ego(points: np.ndarray, pose: tuple[float, float, float]) -> np.ndarray:
    """World (N, 2) or (2,) -> ego frame (N, 2): labels.view_transform, the cache's own."""
    return view_transform(np.asarray(points, np.float64).reshape(-1, 2), pose)


def _yaw_gap(a: float, b: float) -> float:
    """a - b in degrees, in [-180, 180)."""
    return (a - b + 180.0) % 360.0 - 180.0


def _paths(start: Waypoint, length: float) -> list[list[Waypoint]]:
    """Lane-centre paths from `start`, one point per STEP metres, splitting at the first junction
    entered (each connecting lane its own path); after that junction each follows its straightest
    successor."""
    paths: list[list[Waypoint]] = []
    stack = [([start], False)]
    steps = int(length / STEP)
    while stack and len(paths) < MAX_PATHS:
        path, split = stack.pop()
        while len(path) <= steps:
            nxt = path[-1].next(STEP)
            if not nxt:
                break
            if len(nxt) > 1 and not split and any(w.is_junction for w in nxt):
                stack.extend(([*path, w], True) for w in nxt[1:])
                path.append(nxt[0])
                split = True
                continue
            if len(nxt) > 1:
                yaw = path[-1].transform.rotation.yaw
                nxt = sorted(nxt, key=lambda w: abs(_yaw_gap(w.transform.rotation.yaw, yaw)))
            path.append(nxt[0])
        paths.append(path)
    return paths


def _arc(xy: np.ndarray) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(xy, axis=0), axis=1))])


def _at(xy: np.ndarray, arc: np.ndarray, s: np.ndarray | float) -> np.ndarray:
    """Points at arc lengths `s` along a polyline (clamped to its ends)."""
    s = np.clip(np.asarray(s, np.float64), 0.0, arc[-1])
    return np.stack([np.interp(s, arc, xy[:, 0]), np.interp(s, arc, xy[:, 1])], axis=-1)


def _nearest(xy: np.ndarray, arc: np.ndarray, point: np.ndarray) -> tuple[float, float]:
    """(distance, arc length) of the path point nearest `point`."""
    d = np.linalg.norm(xy - point, axis=1)
    i = int(np.argmin(d))
    return float(d[i]), float(arc[i])


def turn_option(path: list[Waypoint], first_junction: int) -> RoadOption:
    """LEFT / RIGHT / STRAIGHT for a path entering a junction at index `first_junction`: the
    heading change from the lane before it to the lane after it (35 deg as carla's planner)."""
    before = path[max(first_junction - 1, 0)].transform.rotation.yaw
    after_idx = next((i for i in range(first_junction, len(path)) if not path[i].is_junction), len(path) - 1)
    after = path[after_idx].transform.rotation.yaw
    turn = _yaw_gap(after, before)   # CARLA yaw: clockwise, so + is a right turn
    if abs(turn) < STRAIGHT_DEG:
        return RoadOption.STRAIGHT
    return RoadOption.RIGHT if turn > 0 else RoadOption.LEFT


def _origin(start: Waypoint) -> Waypoint | None:
    """The last lane point before the junction `start` lies in (`start` itself outside one)."""
    w = start
    for _ in range(int(60.0 / STEP)):
        if not w.is_junction:
            return w
        prev = w.previous(STEP)
        if not prev:
            return None
        w = prev[0]
    return None


def junction_branches(map_: Map, pose: tuple[float, float, float], route: np.ndarray, target_point: np.ndarray,
                      target_point_next: np.ndarray, command: int) -> list[Branch]:
    """The other branches of the junction ahead of (or under) an ego at world `pose` (x, y, yaw
    rad) whose expert labels (ego frame) are `route` checkpoints, `target_point`,
    `target_point_next` and `command`; [] where the frame has none (see the module's docstring)."""
    command = int(command)
    if command not in (*JUNCTION_OPTIONS, RoadOption.LANEFOLLOW):
        return []
    start = map_.get_waypoint(Location(float(pose[0]), float(pose[1]), 0.0))
    if start is None:
        return []
    if abs(_yaw_gap(start.transform.rotation.yaw, math.degrees(pose[2]))) > 60.0:
        return []   # nearest lane runs the other way (or across): not the ego's lane
    origin = _origin(start)
    if origin is None:
        return []
    ego_xy = np.asarray(pose[:2], np.float64)
    tp_world, tpn_world = to_world(target_point, pose)[0], to_world(target_point_next, pose)[0]
    length = min(math.dist(origin.xyz[:2], ego_xy) + float(np.linalg.norm(target_point_next)) + 15.0, 150.0)
    paths = _paths(origin, length)
    geo = []
    for p in paths:
        xy = np.array([w.xyz[:2] for w in p])
        geo.append((xy, _arc(xy)))
    k = len(route)
    offsets = FIRST_CHECKPOINT + STEP * np.arange(k)
    route_world = to_world(route, pose)
    # the path the expert drives: carries its checkpoints and reaches its target points
    real = None
    for i, (xy, arc) in enumerate(geo):
        d_ego, s_ego = _nearest(xy, arc, ego_xy)
        d_tp, s_tp = _nearest(xy, arc, tp_world)
        d_next, s_next = _nearest(xy, arc, tpn_world)
        if max(d_tp, d_next) > MATCH_M:
            continue
        if float(np.max(np.linalg.norm(_at(xy, arc, s_ego + offsets) - route_world, axis=1))) > MATCH_M:
            continue
        if real is None or d_tp + d_next < real[1]:
            real = (i, d_tp + d_next, s_tp, s_next)
    if real is None:
        return []
    ri, _, s_tp, s_next = real
    junction_at = next((j for j, w in enumerate(paths[ri]) if w.is_junction), None)
    if junction_at is None or float(geo[ri][1][junction_at]) + 2.0 > s_next:
        return []   # no split before the next target point: the inputs cannot tell branches apart
    real_option = turn_option(paths[ri], junction_at)
    if command != RoadOption.LANEFOLLOW and real_option != command:
        return []   # the lane graph reads this junction otherwise than the route did
    out: list[Branch] = []
    seen = {real_option}
    for i, (xy, arc) in enumerate(geo):
        if i == ri or len(paths[i]) <= junction_at + 1:
            continue
        option = turn_option(paths[i], junction_at)
        if option in seen:
            continue
        d_ego, s_ego = _nearest(xy, arc, ego_xy)
        if d_ego > MATCH_M:
            continue   # the ego has already left this branch behind
        tp, tpn = _at(xy, arc, s_tp), _at(xy, arc, s_next)
        if float(np.linalg.norm(tpn - tpn_world)) < PART_M:
            continue
        checkpoints = _at(xy, arc, s_ego + offsets)
        if float(np.linalg.norm(checkpoints[-1] - route_world[-1])) < PART_CHECKPOINTS_M:
            continue   # the split lies beyond the checkpoints: the copy would teach the route nothing new
        seen.add(option)
        out.append(Branch(route=to_ego(checkpoints, pose).astype(np.float32),
                          target_point=to_ego(tp, pose)[0].astype(np.float32),
                          target_point_next=to_ego(tpn, pose)[0].astype(np.float32),
                          command=option if command != RoadOption.LANEFOLLOW else RoadOption.LANEFOLLOW))
        if len(out) == MAX_BRANCHES:
            break
    return out


def branch_fields(branches: list[Branch], num_route_points: int) -> dict[str, np.ndarray]:
    """One frame's branches as the cache stores them: MAX_BRANCHES rows, command 0 where a row is empty."""
    route = np.zeros((MAX_BRANCHES, num_route_points, 2), np.float32)
    tp = np.zeros((MAX_BRANCHES, 2), np.float32)
    tpn = np.zeros((MAX_BRANCHES, 2), np.float32)
    command = np.zeros(MAX_BRANCHES, np.int64)
    for k, b in enumerate(branches[:MAX_BRANCHES]):
        route[k], tp[k], tpn[k], command[k] = b.route[:num_route_points], b.target_point, b.target_point_next, int(b.command)
    return {"branch.route": route, "branch.target_point": tp, "branch.target_point_next": tpn,
            "branch.command": command}


def frame_branch_fields(map_: Map, pose: tuple[float, float, float], route: np.ndarray,
                        inputs: dict[str, np.ndarray], num_route_points: int) -> dict[str, np.ndarray]:
    """The cached branch fields of one frame from its world pose, the expert's route checkpoints and
    the model inputs the frame was given (command one-hot, target points): the branches answer
    what the model sees, so its command is the input's, not the expert's label (the two switch to
    a junction's road option at different points)."""
    command = int(input_commands(inputs["command"])[0])
    return branch_fields(junction_branches(map_, pose, route, inputs["target_point"], inputs["target_point_next"],
                                           command), num_route_points)
