"""Message types of the data table's topics, and the header stamp read straight from CDR.

The recorder subscribes with raw=True (no deserialisation), so it needs each topic's type
before any publisher is discovered, and reads the tick a message belongs to from its
serialized header: after the 4-byte CDR encapsulation header, a message whose first field
is std_msgs/Header (or builtin_interfaces/Time, as rosgraph_msgs/Clock) starts with the
stamp's int32 sec and uint32 nanosec; tf2_msgs/TFMessage starts with the sequence length,
then the first transform's header.
"""
from __future__ import annotations

import struct

from lead.io import data_table as DT
from lead.sim.rig import Rig

_STAMP = struct.Struct("<iI")
_STAMP_BE = struct.Struct(">iI")

# the topic contract (DESIGN.md, carla-ros-bridge); sensors are added from the rig
FIXED_TYPES = {
    "/clock": "rosgraph_msgs/msg/Clock",
    "/tf": "tf2_msgs/msg/TFMessage",
    "/tf_static": "tf2_msgs/msg/TFMessage",
    "/carla/status": "carla_msgs/msg/CarlaStatus",
    "/carla/objects": "derived_object_msgs/msg/ObjectArray",
    "/carla/traffic_lights/status": "carla_msgs/msg/CarlaTrafficLightStatusList",
    "/carla/traffic_lights/info": "carla_msgs/msg/CarlaTrafficLightInfoList",
    "/carla/world_info": "carla_msgs/msg/CarlaWorldInfo",
    "/carla/actor_list": "carla_msgs/msg/CarlaActorList",
    "/carla/ego_vehicle/odometry": "nav_msgs/msg/Odometry",
    "/carla/ego_vehicle/vehicle_status": "carla_msgs/msg/CarlaEgoVehicleStatus",
    "/carla/ego_vehicle/vehicle_info": "carla_msgs/msg/CarlaEgoVehicleInfo",
    "/carla/ego_vehicle/speedometer": "std_msgs/msg/Float32",
    "/carla/ego_vehicle/imu": "sensor_msgs/msg/Imu",
    "/carla/ego_vehicle/gnss": "sensor_msgs/msg/NavSatFix",
    "/carla/ego_vehicle/collision": "carla_msgs/msg/CarlaCollisionEvent",
    "/carla/ego_vehicle/vehicle_control_cmd": "carla_msgs/msg/CarlaEgoVehicleControl",
    DT.PLAN_TOPIC: "lead_msgs/msg/Plan",
    DT.LABELS_TOPIC: "lead_msgs/msg/ExpertLabels",
    DT.ROUTE_TOPIC: "lead_msgs/msg/Route",
    "/lead/leaderboard/event": "lead_msgs/msg/Infraction",
    "/lead/leaderboard/status": "lead_msgs/msg/RouteStatus",
}
STATUS_TOPIC = "/lead/leaderboard/status"
EVENT_TOPIC = "/lead/leaderboard/event"
ODOM_TOPIC = "/carla/ego_vehicle/odometry"


def topic_types(rig: Rig, collect: bool) -> dict[str, str]:
    """Every recorded topic of the rig -> 'pkg/msg/Type'."""
    out = {}
    for tr in DT.recorded_topics(rig, collect):
        t = tr.topic
        if t in FIXED_TYPES:
            out[t] = FIXED_TYPES[t]
        elif t.endswith("/camera_info"):
            out[t] = "sensor_msgs/msg/CameraInfo"
        elif t.endswith("/image"):
            out[t] = "sensor_msgs/msg/Image"
        else:  # LiDAR, radar and their perturbated copies
            out[t] = "sensor_msgs/msg/PointCloud2"
    return out


def _first_field_kind(type_name: str) -> str:
    """'stamp' (header or time first), 'tf' (TFMessage) or '' (no stamp to read)."""
    if type_name == "tf2_msgs/msg/TFMessage":
        return "tf"
    from lead.io.msgdefs import message_class

    try:
        fields = message_class(type_name).get_fields_and_field_types()
    except (LookupError, ValueError):
        return ""
    first = next(iter(fields.items()), ("", ""))
    return "stamp" if first[1] in ("std_msgs/Header", "builtin_interfaces/Time") else ""


_KIND: dict[str, str] = {}


def cdr_stamp_ns(type_name: str, data: bytes) -> int | None:
    """The header stamp of a serialized message in ns, None when the type has none (or a
    TFMessage is empty)."""
    kind = _KIND.get(type_name)
    if kind is None:
        kind = _KIND[type_name] = _first_field_kind(type_name)
    if not kind or len(data) < 12:
        return None
    st = _STAMP_BE if data[1] == 0 else _STAMP  # encapsulation 0x0000 CDR_BE, 0x0001 CDR_LE
    off = 4
    if kind == "tf":
        if len(data) < 16 or (_STAMP.unpack_from(data, 4)[0] if st is _STAMP else _STAMP_BE.unpack_from(data, 4)[0]) == 0:
            return None
        off = 8
    sec, nsec = st.unpack_from(data, off)
    return sec * 1_000_000_000 + nsec
