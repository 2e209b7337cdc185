"""CARLA sensor buffers -> numpy -> messages, with synthetic raw buffers laid out as CARLA
writes them. The messages come from lead.sim.messages, the functions the embedded world node
uses: the CARLA node's tick and the embedded node's tick, fed the same world state, publish
equal messages on every topic."""
from __future__ import annotations

from types import SimpleNamespace as NS

import numpy as np
import pytest

from lead.control.vehicle_control import VehicleControl
from lead.sim import messages as M
from lead.sim.carla_bridge import sensors as S
from lead.sim.embedded.sensors.camera import CameraImages
from lead.sim.embedded.sensors.depth import decode_depth, encode_depth
from lead.sim.rig import load_rig

H, W = 6, 8
RNG = np.random.default_rng(7)


def camera_arrays():
    rgba = RNG.integers(0, 256, (H, W, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    depth = decode_depth(encode_depth(RNG.uniform(0.5, 1000.0, (H, W))))  # values CARLA can encode
    semantic = RNG.integers(0, 29, (H, W), dtype=np.uint8)
    return rgba, depth, semantic


def carla_image(bgra: np.ndarray):
    """A carla.Image as the callbacks see it: raw_data = BGRA bytes."""
    return NS(raw_data=memoryview(np.ascontiguousarray(bgra).tobytes()), width=bgra.shape[1], height=bgra.shape[0],
              frame=1, transform=NS(rotation=NS(roll=0.0, pitch=0.0, yaw=0.0)))


def raw_images(rgba, depth, semantic):
    rgb_raw = rgba[..., [2, 1, 0, 3]]
    code = encode_depth(depth)  # R low byte, G, B high byte
    depth_raw = np.dstack([code[..., 2], code[..., 1], code[..., 0], np.full((H, W), 255, np.uint8)])
    sem_raw = np.zeros((H, W, 4), np.uint8)
    sem_raw[..., 2], sem_raw[..., 3] = semantic, 255  # the class id is the red channel
    return carla_image(rgb_raw), carla_image(depth_raw), carla_image(sem_raw)


def test_camera_decoders():
    rgba, depth, semantic = camera_arrays()
    rgb_m, depth_m, sem_m = raw_images(rgba, depth, semantic)
    assert np.array_equal(S.decode_rgb(rgb_m.raw_data, W, H), rgba)
    assert np.array_equal(S.decode_depth(depth_m.raw_data, W, H), depth)
    assert S.decode_depth(depth_m.raw_data, W, H).dtype == np.float32
    assert np.array_equal(S.decode_semantic(sem_m.raw_data, W, H), semantic)
    # CARLA's far plane: code 2^24-1 is 1000 m
    far = carla_image(np.full((1, 1, 4), 255, np.uint8))
    assert S.decode_depth(far.raw_data, 1, 1)[0, 0] == pytest.approx(1000.0)
    with pytest.raises(ValueError):
        S.bgra(b"\0" * 10, 2, 2)


def test_lidar_radar_decoders():
    pts = RNG.normal(size=(50, 4)).astype(np.float32)
    assert np.array_equal(S.decode_lidar(pts.tobytes()), pts)
    det = RNG.normal(size=(7, 4)).astype(np.float32)  # velocity, azimuth, altitude, depth
    assert np.array_equal(S.decode_radar(det.tobytes()), det)
    assert S.decode_lidar(b"").shape == (0, 4)
    with pytest.raises(ValueError):
        S.decode_lidar(np.zeros(5, np.float32).tobytes())


def test_messages_are_the_embedded_ones():
    rig = load_rig("minimal")
    rgba, depth, semantic = camera_arrays()
    rgb_m, depth_m, sem_m = raw_images(rgba, depth, semantic)
    stamp = 1_250_000_000
    cam = rig.get("rgb_front")
    msgs = S.measurement_messages(cam, rgb_m, stamp)
    a = cam.attributes
    assert msgs == [M.rgb_image(rgba, stamp, "ego_vehicle/rgb_front"),
                    M.camera_info_msg(a["image_size_x"], a["image_size_y"], a["fov"], stamp, "ego_vehicle/rgb_front")]
    assert msgs[0].encoding == "bgra8" and bytes(msgs[0].data) == bytes(rgb_m.raw_data)  # CARLA's bytes, as the bridge
    d = S.measurement_messages(rig.get("depth_front"), depth_m, stamp)[0]
    assert d == M.depth_image(depth, stamp, "ego_vehicle/depth_front") and d.encoding == "32FC1"
    s = S.measurement_messages(rig.get("semantic_segmentation_front"), sem_m, stamp)[0]
    assert s == M.semantic_image(semantic, stamp, "ego_vehicle/semantic_segmentation_front")
    gnss = NS(latitude=48.1, longitude=11.5, altitude=520.0, frame=1)
    assert S.measurement_messages(rig.get("gnss"), gnss, stamp) == [M.navsatfix(48.1, 11.5, 520.0, stamp,
                                                                                "ego_vehicle/gnss")]
    imu = NS(accelerometer=NS(x=0.1, y=0.2, z=9.81), gyroscope=NS(x=0.0, y=0.01, z=-0.3), compass=1.0, frame=1,
             transform=NS(rotation=NS(roll=0.0, pitch=1.0, yaw=30.0)))
    assert S.measurement_messages(rig.get("imu"), imu, stamp) == [
        M.imu((0.1, 0.2, 9.81), (0.0, 0.01, -0.3), (0.0, 1.0, 30.0), stamp, "ego_vehicle/imu")]
    hit = NS(other_actor=NS(id=42), normal_impulse=NS(x=100.0, y=-5.0, z=0.0), frame=1)
    assert S.measurement_messages(rig.get("collision"), hit, stamp) == [
        M.collision_event(42, (100.0, -5.0, 0.0), stamp, "ego_vehicle/collision")]


def test_blueprint_attributes_are_carla_strings():
    rig = load_rig("lead")
    assert S.blueprint_attributes(rig.get("rgb_1"))["image_size_x"] == "384"
    lidar = S.blueprint_attributes(rig.get("lidar1"))
    assert lidar["channels"] == "64" and lidar["points_per_second"] == "600000" and lidar["range"] == "85.0"
    assert set(lidar) == set(rig.get("lidar1").attributes)


# ------------------------------------------------------------------------- both nodes' ticks

def _frames(rig):
    """One world state as the embedded world's Frame + sense() and as the CARLA world's frame."""
    from lead.sim.carla_bridge.client import CarlaActor, CarlaFrame
    from lead.sim.embedded.world import EGO_ID

    rgba, depth, semantic = camera_arrays()
    rgb_m, depth_m, sem_m = raw_images(rgba, depth, semantic)
    pts = RNG.normal(size=(30, 4)).astype(np.float32)
    det = RNG.normal(size=(5, 4)).astype(np.float32)
    ego_pose = (10.0, 5.0, 0.3, 0.0, 0.0, 30.0)
    ego = CarlaActor(EGO_ID, "vehicle.lincoln.mkz_2020", "vehicle", ego_pose, (3.0, 1.0, 0.0), (0.2, 0.0, 0.0),
                     (0.0, 0.0, 5.0), (2.4, 1.0, 0.75), "car")
    other = CarlaActor(1001, "vehicle.tesla.model3", "vehicle", (30.0, 5.0, 0.3, 0.0, 0.0, 0.0), (5.0, 0.0, 0.0),
                       (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), (2.4, 1.0, 0.75), "car")
    walker = CarlaActor(1002, "walker.pedestrian.0001", "walker", (12.0, 9.0, 0.9, 0.0, 0.0, 90.0), (0.0, 1.2, 0.0),
                        (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), (0.3, 0.3, 0.9))
    control = VehicleControl(throttle=0.5, steer=-0.1)
    imu = ((0.1, 0.2, 9.81), (0.0, 0.0, 0.087), 1.2)
    roles = {EGO_ID: "ego_vehicle", 1001: "background", 1002: "background"}
    common = dict(number=1, time_ns=50_000_000, ego=ego, ego_speed=float(np.hypot(3.0, 1.0)), ego_control=control,
                  actors=[other, walker], roles=roles, collisions=[])
    emb = NS(**common, lights={"5": 0, "7": 2})
    emb.collisions = [NS(other_id=1001, normal_impulse=(10.0, 0.0, 0.0))]
    readings = {"rgb_front": CameraImages(rgba, depth, semantic), "semantic_segmentation_front":
                CameraImages(rgba, depth, semantic), "depth_front": CameraImages(rgba, depth, semantic),
                "lidar": pts, "radar_front": det, "imu": imu, "gnss": (48.0, 11.0, 500.0)}
    meas = {"rgb_front": rgb_m, "semantic_segmentation_front": sem_m, "depth_front": depth_m,
            "lidar": NS(raw_data=pts.tobytes()), "radar_front": NS(raw_data=det.tobytes()),
            "imu": NS(accelerometer=NS(x=0.1, y=0.2, z=9.81), gyroscope=NS(x=0.0, y=0.0, z=0.087), compass=1.2),
            "gnss": NS(latitude=48.0, longitude=11.0, altitude=500.0)}
    cf = CarlaFrame(**common, lights={5: 0, 7: 2})
    cf.collisions = [S.decode(rig.get("collision"), NS(other_actor=NS(id=1001), normal_impulse=NS(x=10.0, y=0.0, z=0.0)))]
    for sid, m in meas.items():
        cf.readings[sid] = S.decode(rig.get(sid), m)
        cf.sensor_rotations[sid] = ego_pose[3:]
    return emb, readings, cf


class _Pub:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


def _fake_node(rig, world):
    from lead.nodes.carla_world import sensor_publisher_types

    names = ("clock", "tf", "status", "actor_list", "objects", "ego_objects", "light_status", "vstatus")
    node = NS(role=rig.role_name, world=world, dt=0.05, sensors={s.id: s for s in rig.select(False)},
              **{f"pub_{n}": _Pub(n) for n in names})
    node.sensor_pubs = {s.id: tuple(_Pub(f"{s.id}/{i}") for i in range(len(sensor_publisher_types(s))))
                        for s in rig.select(False) if sensor_publisher_types(s)}
    return node


def test_carla_node_tick_publishes_what_the_embedded_node_publishes():
    pytest.importorskip("carla_msgs.msg", reason="the ROS interface packages are not built (make setup)")
    from lead.nodes._lockstep import LockstepWorld
    from lead.nodes.carla_world import CarlaWorldNode
    from lead.nodes.world import WorldNode

    rig = load_rig("minimal")
    emb_frame, readings, carla_frame = _frames(rig)
    emb_node = _fake_node(rig, NS(ego_blueprint="vehicle.lincoln.mkz_2020", config=NS(dt=0.05)))
    car_node = _fake_node(rig, None)
    emb_out, car_out = [], []
    emb_node._sensor_messages = lambda *a: WorldNode._sensor_messages(emb_node, *a)
    for node in (emb_node, car_node):  # the ground truth both nodes build with the shared mixin method
        node._object_arrays = lambda *a, n=node: LockstepWorld._object_arrays(n, *a)
    for part in (WorldNode._build, WorldNode._build_rays, WorldNode._build_tail):  # the tick's three parts
        part(emb_node, emb_frame, readings, emb_out)
    CarlaWorldNode._build(car_node, carla_frame, car_out)
    emb_by = {repr(p): m for p, m in emb_out}
    car_by = {repr(p): m for p, m in car_out}
    assert [repr(p) for p, _ in car_out] == [repr(p) for p, _ in emb_out]
    assert "rgb_front/0" in car_by and "lidar/0" in car_by and "collision/0" in car_by
    for k in emb_by:
        assert car_by[k] == emb_by[k], k
