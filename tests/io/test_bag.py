"""MCAP bags: round trips of sensor, carla, derived_object and lead types, read back by
our reader, by the mcap library, by mcap-ros2-support and by rosbags."""
import math

import numpy as np
import pytest
from carla_msgs.msg import (CarlaEgoVehicleControl, CarlaEgoVehicleStatus, CarlaTrafficLightStatus,
                            CarlaTrafficLightStatusList, CarlaWorldInfo)
from derived_object_msgs.msg import Object, ObjectArray
from geometry_msgs.msg import Point
from lead_msgs.msg import Plan, Route, RoutePoint
from mcap.reader import make_reader
from mcap.writer import Writer
from rclpy.serialization import deserialize_message, serialize_message
from rosbags.rosbag2 import Reader as RosbagsReader
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from shape_msgs.msg import SolidPrimitive

from lead.io.bag import BagReader, BagWriter
from lead.io.camera_info import camera_info
from lead.io.image import image_to_numpy, numpy_to_image
from lead.io.mcap_scan import McapFormatError
from lead.io.pointcloud import cloud_to_xyzi, xyzi_to_cloud
from lead.io.stamps import make_header

MS = 1_000_000


def sample_messages():
    """(topic, message, log_time_ns) covering every package the stack records."""
    rng = np.random.default_rng(5)
    out = []
    for k in range(4):
        t = 1_000 * MS + k * 50 * MS
        h = make_header(t, "ego_vehicle")
        px = rng.integers(0, 256, (32, 48, 4), dtype=np.uint8)
        out.append(("/carla/ego_vehicle/rgb_front/image", numpy_to_image(px, "bgra8", make_header(t, "rgb_front")), t))
        out.append(("/carla/ego_vehicle/rgb_front/camera_info", camera_info(48, 32, 110.0, make_header(t, "rgb_front")), t))
        out.append(("/carla/ego_vehicle/lidar", xyzi_to_cloud(rng.normal(size=(100, 4)), make_header(t, "lidar")), t))
        ctl = CarlaEgoVehicleControl(header=h, throttle=0.1 * k, steer=-0.2, brake=0.0, gear=1)
        out.append(("/carla/ego_vehicle/vehicle_control_cmd", ctl, t + 1))
        status = CarlaEgoVehicleStatus(header=h, velocity=3.5 + k, control=ctl)
        status.orientation.w = 1.0
        out.append(("/carla/ego_vehicle/vehicle_status", status, t + 2))
        obj = Object(header=h, id=100 + k, classification=Object.CLASSIFICATION_CAR,
                     shape=SolidPrimitive(type=SolidPrimitive.BOX, dimensions=[4.5, 2.0, 1.6]))
        obj.pose.position.x = float(k)
        # dimensions always filled, as the bridge does: with an empty bounded sequence Fast-CDR
        # appends 4 padding bytes that rosbags' size check refuses (rclpy reads them fine)
        walker = Object(header=h, id=7, classification=Object.CLASSIFICATION_PEDESTRIAN,
                        shape=SolidPrimitive(type=SolidPrimitive.CYLINDER, dimensions=[1.8, 0.3]))
        out.append(("/carla/objects", ObjectArray(header=h, objects=[obj, walker]), t + 3))
        lights = CarlaTrafficLightStatusList(traffic_lights=[
            CarlaTrafficLightStatus(id=3, state=CarlaTrafficLightStatus.RED),
            CarlaTrafficLightStatus(id=4, state=CarlaTrafficLightStatus.GREEN)])
        out.append(("/carla/traffic_lights/status", lights, t + 4))
        plan = Plan(header=h, waypoints=[Point(x=float(i), y=0.5 * i) for i in range(8)], target_speed=8.0)
        out.append(("/lead/plan", plan, t + 5))
    world = CarlaWorldInfo(map_name="Town12", opendrive="<OpenDRIVE>" + "x" * 100_000 + "</OpenDRIVE>")
    out.insert(0, ("/carla/world_info", world, 1_000 * MS))
    route = Route(header=make_header(1_000 * MS, "map"), route_id="RouteScenario_3_rep0", town="Town12",
                  dense=[RoutePoint(road_option=RoutePoint.LANEFOLLOW) for _ in range(5)])
    route.dense[2].pose.position.x = 12.5
    out.insert(1, ("/lead/route", route, 1_000 * MS))
    # as they come off the wire (float32 fields rounded), so == compares what a bag can keep
    return [(topic, wire(m), t) for topic, m, t in out]


def wire(msg):
    return deserialize_message(serialize_message(msg), type(msg))


META = {"lead": {"rig": "tfv6_6cam", "map": "Town12", "route_id": "3", "seed": "42", "version": "0.1.0"}}


@pytest.fixture(scope="module")
def bag_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("bag") / "run.mcap"
    with BagWriter(path, chunk_size=64 * 1024, metadata=META) as w:
        for topic, msg, t in sample_messages():
            w.write(topic, msg, t)
        w.add_metadata("route", {"completion": "100.0"})
    return path


def test_round_trip(bag_path):
    expected = sample_messages()
    reader = BagReader(bag_path)
    got = list(reader)
    assert [(t, ts) for t, _, ts in got] == [(t, ts) for t, _, ts in expected]
    for (_, a, _), (_, b, _) in zip(got, expected):
        assert type(a) is type(b) and a == b
    img = got[2].msg
    assert np.array_equal(image_to_numpy(img), image_to_numpy(expected[2][1]))
    assert np.allclose(cloud_to_xyzi(got[4].msg), cloud_to_xyzi(expected[4][1]))
    assert reader.metadata() == {**META, "route": {"completion": "100.0"}}
    assert not reader.truncated


def test_summary(bag_path):
    s = BagReader(bag_path).summary()
    assert s.message_count == len(sample_messages()) and not s.truncated
    assert s.topics["/carla/objects"].type == "derived_object_msgs/msg/ObjectArray"
    assert s.topics["/carla/objects"].count == 4
    assert s.topics["/lead/route"].count == 1 and s.topics["/lead/route"].type == "lead_msgs/msg/Route"
    assert (s.start_ns, s.end_ns) == (1_000 * MS, 1_150 * MS + 5)


def test_file_is_a_standard_ros2_mcap(bag_path):
    with open(bag_path, "rb") as f:
        reader = make_reader(f)
        assert reader.get_header().profile == "ros2"
        summary = reader.get_summary()
    assert {s.encoding for s in summary.schemas.values()} == {"ros2msg"}
    assert {c.message_encoding for c in summary.channels.values()} == {"cdr"}
    names = {s.name for s in summary.schemas.values()}
    assert {"sensor_msgs/msg/Image", "carla_msgs/msg/CarlaEgoVehicleStatus", "lead_msgs/msg/Route"} <= names
    assert all(c.metadata["topic_type_hash"].startswith("RIHS01_") for c in summary.channels.values())


def test_rosbags_reads_it_with_types_from_the_bag(bag_path):
    store = get_typestore(Stores.EMPTY)  # knows nothing: every type must come from the bag's schemas
    expected = sample_messages()
    with RosbagsReader(bag_path) as reader:
        for conn in reader.connections:
            store.register(get_types_from_msg(conn.msgdef.data, conn.msgtype))
        got = [(c.topic, ts, store.deserialize_cdr(raw, c.msgtype)) for c, ts, raw in reader.messages()]
    assert [(t, ts) for t, ts, _ in got] == [(t, ts) for t, _, ts in expected]
    by_topic = {}
    for topic, _, msg in got:
        by_topic.setdefault(topic, []).append(msg)
    assert by_topic["/carla/world_info"][0].map_name == "Town12"
    assert len(by_topic["/carla/world_info"][0].opendrive) == 100_000 + 23
    assert by_topic["/lead/route"][0].route_id == "RouteScenario_3_rep0"
    assert by_topic["/lead/route"][0].dense[2].pose.position.x == 12.5
    assert [o.id for o in by_topic["/carla/objects"][3].objects] == [103, 7]
    assert list(by_topic["/carla/objects"][0].objects[0].shape.dimensions) == [4.5, 2.0, 1.6]
    assert math.isclose(by_topic["/carla/ego_vehicle/vehicle_status"][2].control.throttle, 0.2, rel_tol=1e-6)
    img = by_topic["/carla/ego_vehicle/rgb_front/image"][1]
    assert bytes(img.data) == bytes(expected[2 + 8][1].data) and img.encoding == "bgra8"


def test_mcap_ros2_support_decodes_it(bag_path):
    from mcap_ros2.reader import read_ros2_messages

    got = [(m.channel.topic, m.ros_msg) for m in read_ros2_messages(str(bag_path))]
    assert len(got) == len(sample_messages())
    lights = [m for t, m in got if t == "/carla/traffic_lights/status"][0]
    assert [(tl.id, tl.state) for tl in lights.traffic_lights] == [(3, 0), (4, 2)]


def test_filters_and_raw(bag_path):
    reader = BagReader(bag_path)
    ctl = list(reader.messages(topics=["/carla/ego_vehicle/vehicle_control_cmd"]))
    assert [m.msg.throttle for m in ctl] == pytest.approx([0.0, 0.1, 0.2, 0.3])
    window = list(reader.messages(start_ns=1_050 * MS, end_ns=1_100 * MS))
    assert {ts for _, _, ts in window} == {1_050 * MS + d for d in range(6)}
    raw = list(reader.messages(topics=["/lead/route"], raw=True))
    assert isinstance(raw[0].msg, bytes)
    assert deserialize_message(raw[0].msg, Route) == sample_messages()[1][1]


@pytest.mark.parametrize("compression", ["none", "lz4", "zstd"])
def test_compressions_and_serialized_writes(tmp_path, compression):
    path = tmp_path / f"{compression}.mcap"
    msgs = [wire(CarlaEgoVehicleControl(header=make_header(k * MS), steer=k / 100)) for k in range(200)]
    with BagWriter(path, compression=compression, chunk_size=1024) as w:
        for k, m in enumerate(msgs):
            w.write_serialized("/ctl", "carla_msgs/CarlaEgoVehicleControl", serialize_message(m), k * MS)
    assert [m for _, m, _ in BagReader(path)] == msgs


def test_writer_refuses_bad_use(tmp_path):
    path = tmp_path / "a.mcap"
    with BagWriter(path) as w:
        w.write("/x", CarlaEgoVehicleControl(), 0)
        with pytest.raises(ValueError, match="topic /x carries carla_msgs/msg/CarlaEgoVehicleControl"):
            w.write("/x", CarlaWorldInfo(), 1)
        with pytest.raises(TypeError, match="metadata 'lead'.*not strings: \\['seed'\\]"):
            w.add_metadata("lead", {"seed": 3})
    with pytest.raises(ValueError, match="bag is closed"):
        w.write("/x", CarlaEgoVehicleControl(), 2)
    with pytest.raises(FileExistsError, match="a.mcap exists"):
        BagWriter(path)
    BagWriter(path, overwrite=True).close()
    with pytest.raises(ValueError, match="compression must be one of"):
        BagWriter(tmp_path / "b.mcap", compression="gzip")


def test_reader_refuses_bad_input(tmp_path):
    not_bag = tmp_path / "notes.mcap"
    not_bag.write_text("hello, this is not an MCAP file")
    with pytest.raises(McapFormatError, match="notes.mcap: not an MCAP file"):
        list(BagReader(not_bag))
    with pytest.raises(FileNotFoundError, match="missing.mcap"):
        BagReader(tmp_path / "missing.mcap")
    # a type this machine does not have: readable raw, named clearly otherwise
    odd = tmp_path / "odd.mcap"
    with open(odd, "wb") as f:
        w = Writer(f)
        w.start(profile="ros2")
        sid = w.register_schema("other_msgs/msg/Thing", "ros2msg", b"int32 a\n")
        cid = w.register_channel("/thing", "cdr", sid)
        w.add_message(cid, log_time=5, data=b"\x00\x01\x00\x00\x07\x00\x00\x00", publish_time=5)
        w.finish()
    assert [m.msg for m in BagReader(odd).messages(raw=True)] == [b"\x00\x01\x00\x00\x07\x00\x00\x00"]
    with pytest.raises(LookupError, match="odd.mcap: topic /thing: message type other_msgs/msg/Thing is not installed"):
        list(BagReader(odd))


def test_messages_with_trailing_cdr_padding_round_trip(tmp_path):
    path = tmp_path / "objects.mcap"
    objs = ObjectArray(objects=[Object(id=1), Object(id=2)])  # empty dimensions: 4 padding bytes at the end
    with BagWriter(path) as w:
        w.write("/carla/objects", objs, 0)
    assert [m for _, m, _ in BagReader(path)] == [objs]
