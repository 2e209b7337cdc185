"""Full message definitions in rosbag2's format, checked with an independent parser:
rosbags builds the types from our text and computes their RIHS01 hashes, which must equal
the hashes rosidl generated for the installed packages."""
import re

import pytest
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

from lead.io import msgdefs

TYPES = ["sensor_msgs/msg/Image", "sensor_msgs/msg/PointCloud2", "sensor_msgs/msg/CameraInfo",
         "tf2_msgs/msg/TFMessage", "carla_msgs/msg/CarlaEgoVehicleStatus", "carla_msgs/msg/CarlaEgoVehicleInfo",
         "carla_msgs/msg/CarlaTrafficLightInfoList", "derived_object_msgs/msg/ObjectArray",
         "lead_msgs/msg/Route", "lead_msgs/msg/Plan", "lead_msgs/msg/TensorBundle", "nav_msgs/msg/Odometry"]


@pytest.mark.parametrize("type_name", TYPES)
def test_definition_rebuilds_the_exact_type(type_name):
    text = msgdefs.definition(type_name)
    store = get_typestore(Stores.EMPTY)
    store.register(get_types_from_msg(text, type_name))
    assert store.hash_rihs01(type_name) == msgdefs.type_hash(type_name)


def test_layout_is_rosbag2s():
    text = msgdefs.definition("carla_msgs/msg/CarlaEgoVehicleStatus")
    sections = re.split(r"\n={80}\nMSG: (\S+)\n", text)
    assert sections[0] == msgdefs.msg_file_text("carla_msgs/CarlaEgoVehicleStatus")
    names = sections[1::2]
    # depth first, each type's dependencies in sorted order, every type once
    assert names == ["carla_msgs/CarlaEgoVehicleControl", "std_msgs/Header", "builtin_interfaces/Time",
                     "geometry_msgs/Accel", "geometry_msgs/Vector3", "geometry_msgs/Quaternion"]
    assert len(names) == len(set(names))
    for name, body in zip(names, sections[2::2]):
        assert body.rstrip("\n") == msgdefs.msg_file_text(name).rstrip("\n")


def test_dependencies_parse():
    text = "# c\nstd_msgs/Header header # h\nRoutePoint[] dense\nfloat64[<=3] d\nstring<=8 s\nuint8 A=1\n"
    assert msgdefs.dependencies(text, "lead_msgs") == ["lead_msgs/RoutePoint", "std_msgs/Header"]


def test_names_and_classes():
    from carla_msgs.msg import CarlaEgoVehicleControl

    assert msgdefs.type_name_of(CarlaEgoVehicleControl()) == "carla_msgs/msg/CarlaEgoVehicleControl"
    assert msgdefs.message_class("carla_msgs/CarlaEgoVehicleControl") is CarlaEgoVehicleControl
    assert msgdefs.type_hash("lead_msgs/msg/Route").startswith("RIHS01_")
    with pytest.raises(LookupError, match="no_such_msgs"):
        msgdefs.message_class("no_such_msgs/msg/Thing")
    with pytest.raises(LookupError, match="no Nope.msg"):
        msgdefs.definition("std_msgs/msg/Nope")
    with pytest.raises(ValueError, match="not a ROS 2 message type name"):
        msgdefs.normalize("sensor_msgs/srv/Image/x")
    with pytest.raises(TypeError, match="not a generated ROS 2 message"):
        msgdefs.type_name_of(3.0)
