"""Policy results <-> ROS messages: lead_msgs/Plan, perception as derived_object_msgs/ObjectArray
and lead_msgs/TensorBundle. Plans and boxes are computed in the CARLA ego frame (y right) and
published in REP-103 (frame "ego_vehicle", y left): y and yaw are mirrored here and only here."""
from __future__ import annotations

import math

import numpy as np

from lead.inference.policy import PlanResult

EGO_FRAME = "ego_vehicle"
# BOX_CLASSES (VEHICLE, WALKER, TRAFFIC_LIGHT, STOP_SIGN, SPECIAL, OBSTACLE, PARKING, BIKER) ->
# derived_object_msgs/Object classification
BOX_CLASSIFICATION = (6, 4, 11, 11, 9, 10, 6, 5)
BOX_HEIGHT = 1.5  # m: TFv6 boxes are BEV only; a nominal height for viewers


def plan_msg(res: PlanResult, stamp_ns: int, source: str = "tfv6", frame_id: str = EGO_FRAME):
    from geometry_msgs.msg import Point
    from lead_msgs.msg import Plan

    from lead.io.stamps import make_header

    def pts(a: np.ndarray) -> list:
        return [Point(x=float(x), y=-float(y), z=0.0) for x, y in np.asarray(a, dtype=np.float64).reshape(-1, 2)]

    return Plan(header=make_header(stamp_ns, frame_id), source=source, waypoints=pts(res.waypoints),
                waypoint_dt=float(res.waypoint_dt), route_checkpoints=pts(res.route),
                target_speed=float(res.target_speed),
                target_speed_classes=[float(c) for c in res.target_speed_classes],
                target_speed_probs=[float(p) for p in np.asarray(res.target_speed_probs).reshape(-1)],
                emergency_brake=bool(res.emergency_brake), brake_reason=res.brake_reason,
                safety_box_occupied=bool(res.safety_box_occupied))


def plan_from_msg(msg) -> PlanResult:
    """lead_msgs/Plan (REP-103 ego frame) -> PlanResult in the CARLA ego frame."""
    def arr(points) -> np.ndarray:
        return np.array([[p.x, -p.y] for p in points], dtype=np.float32).reshape(-1, 2)

    return PlanResult(arr(msg.waypoints), arr(msg.route_checkpoints), float(msg.target_speed),
                      tuple(float(c) for c in msg.target_speed_classes),
                      np.asarray(msg.target_speed_probs, np.float32), bool(msg.emergency_brake), msg.brake_reason,
                      float(msg.waypoint_dt) or 0.25, bool(msg.safety_box_occupied))


def boxes_msg(boxes: np.ndarray, stamp_ns: int, frame_id: str = EGO_FRAME):
    """(n, 9) postprocess.BOX_FIELDS rows -> ObjectArray (detected, not tracked; id = rank)."""
    from derived_object_msgs.msg import Object, ObjectArray

    from lead.frames import euler_to_quaternion
    from lead.io.stamps import make_header

    header = make_header(stamp_ns, frame_id)
    objs = []
    for i, (x, y, hl, hw, yaw, vel, brake, cls, score) in enumerate(np.asarray(boxes, dtype=np.float64)):
        o = Object()
        o.header, o.id, o.detection_level, o.object_classified = header, i, Object.OBJECT_DETECTED, True
        c = int(cls)
        o.classification = BOX_CLASSIFICATION[c] if 0 <= c < len(BOX_CLASSIFICATION) else 0
        o.classification_certainty = int(round(min(max(score, 0.0), 1.0) * 255))
        o.pose.position.x, o.pose.position.y, o.pose.position.z = float(x), -float(y), BOX_HEIGHT / 2
        qx, qy, qz, qw = euler_to_quaternion(0.0, 0.0, -float(yaw))
        o.pose.orientation.x, o.pose.orientation.y, o.pose.orientation.z, o.pose.orientation.w = qx, qy, qz, qw
        o.twist.linear.x = float(vel)  # along the box's heading
        o.shape.type = 1  # SolidPrimitive.BOX
        o.shape.dimensions = [2.0 * float(hl), 2.0 * float(hw), BOX_HEIGHT]
        objs.append(o)
    return ObjectArray(header=header, objects=objs)


def perception_bundle(outputs: dict[str, np.ndarray], stamp_ns: int, frame_id: str = EGO_FRAME):
    """Dense perception for viewers: class maps (argmax, uint8) of BEV and perspective semantics,
    perspective depth (float16 metres); batch 1 removed. Rows of `bev_semantic` run along y
    (CARLA, right) as in lead.model.tfv6."""
    from lead.inference.bundle import to_bundle

    t: dict[str, np.ndarray] = {}
    if "bev_semantic" in outputs:
        t["bev_semantic"] = outputs["bev_semantic"][0].argmax(0).astype(np.uint8)
    if "semantic" in outputs:
        t["semantic"] = outputs["semantic"][0].argmax(0).astype(np.uint8)
    if "depth" in outputs:
        t["depth"] = outputs["depth"][0].astype(np.float16)
    return to_bundle(t, stamp_ns, frame_id)


def yaw_of(q) -> float:
    """CARLA yaw (radians) of a REP-103 orientation quaternion."""
    from lead.frames import ros_quaternion_to_carla_rotation

    return math.radians(ros_quaternion_to_carla_rotation(q.x, q.y, q.z, q.w)[2])
