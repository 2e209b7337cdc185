"""RouteRecorder without ROS: real CDR messages in (as raw subscriptions deliver them), real
MCAP bags out. Rates, route splitting, re-sent ticks, the world's extra tick after a route's
end, headerless messages that lag behind /clock, result metadata, SIGKILL-style truncation."""
from __future__ import annotations

import json

from rclpy.serialization import serialize_message

from lead.io import data_table as DT
from lead.io.bag import BagReader
from lead.io.msgdefs import type_name_of
from lead.io.stamps import make_header, time_msg
from lead.recording.dataset import bag_info, check_bag, dataset_info
from lead.recording.recorder import RouteRecorder

DT_NS = 50_000_000
CAM = "/carla/ego_vehicle/rgb_front/image"


def _cdr(msg):
    return type_name_of(msg), serialize_message(msg)


def _route(route_id: str, index: int):
    from lead_msgs.msg import Route, ScenarioInfo

    return Route(header=make_header(0), route_id=route_id, town="StraightRoad", route_index=index, num_routes=2,
                 length_m=30.0, scenarios=[ScenarioInfo(name="S1", type="ParkedObstacle")])


def _tick(rec: RouteRecorder, k: int, route_id: str, lagging_speed: bool = False, skip: tuple = ()) -> None:
    """The messages of tick k (stamp k*dt) in the world's order, as the recorder gets them."""
    from carla_msgs.msg import CarlaTrafficLightStatusList
    from lead_msgs.msg import RouteStatus
    from nav_msgs.msg import Odometry
    from rosgraph_msgs.msg import Clock
    from sensor_msgs.msg import Image
    from std_msgs.msg import Float32

    t = k * DT_NS
    odom = Odometry(header=make_header(t, "map"))
    odom.pose.pose.position.x = 0.5 * k  # 10 m/s
    msgs = [("/clock", Clock(clock=time_msg(t))), ("/carla/ego_vehicle/odometry", odom),
            (CAM, Image(header=make_header(t, "cam"), height=1, width=1, encoding="bgra8", step=4, data=[k % 256] * 4))]
    if not lagging_speed:
        msgs.append(("/carla/ego_vehicle/speedometer", Float32(data=float(k))))
    # headerless and the same every tick (a town without traffic lights): only its order says its tick
    msgs.append(("/carla/traffic_lights/status", CarlaTrafficLightStatusList()))
    msgs.append(("/lead/leaderboard/status", RouteStatus(header=make_header(t), route_id=route_id, state=2,
                                                         driving_score=100.0, route_completion=k / 2)))
    for topic, m in msgs:
        if topic not in skip:
            rec.handle(topic, *_cdr(m))


def test_rates_routes_resends_and_result(tmp_path):
    from lead_msgs.msg import Infraction, RouteStatus
    from std_msgs.msg import Float32

    rec = RouteRecorder(tmp_path, rig="minimal", collect=True, seed=7)
    rec.handle(DT.ROUTE_TOPIC, *_cdr(_route("RouteScenario_0_rep1", 0)))
    for k in range(1, 41):
        _tick(rec, k, "RouteScenario_0_rep1")
        if k == 20:  # the world re-sends tick 20 (an answer was late): nothing is recorded twice
            _tick(rec, k, "RouteScenario_0_rep1")
    rec.handle("/lead/leaderboard/event", *_cdr(Infraction(header=make_header(40 * DT_NS), event_type="COLLISION_STATIC")))
    _tick(rec, 41, "RouteScenario_0_rep1")  # the world steps once more before the final status arrives
    rec.handle("/lead/leaderboard/status", *_cdr(RouteStatus(header=make_header(40 * DT_NS), route_id="RouteScenario_0_rep1",
                                                             state=3, status="Completed", driving_score=80.0,
                                                             route_completion=100.0, infraction_penalty=0.8,
                                                             num_infractions=1)))
    # second route: time starts again; the speedometer lags one tick behind /clock
    rec.handle(DT.ROUTE_TOPIC, *_cdr(_route("RouteScenario_1_rep0", 1)))
    for k in range(1, 11):
        _tick(rec, k, "RouteScenario_1_rep0", lagging_speed=True)
        if k > 1:
            rec.handle("/carla/ego_vehicle/speedometer", *_cdr(Float32(data=float(k - 1))))
    rec.close()

    a = BagReader(tmp_path / "RouteScenario_0_rep1.mcap")
    s = a.summary()
    assert not s.truncated
    counts = {t: i.count for t, i in s.topics.items()}
    assert counts["/clock"] == counts["/carla/ego_vehicle/odometry"] == counts["/carla/ego_vehicle/speedometer"] == 40
    # a constant headerless message: the re-sent copy of tick 20 is dropped, the ticks after it are not
    assert counts["/carla/traffic_lights/status"] == 40
    assert counts[CAM] == 8  # ticks 5, 10, ..., 40
    assert counts["/lead/leaderboard/status"] == 41  # every tick + the final status
    cam_ticks = [m.log_time_ns // DT_NS for m in a.messages([CAM], raw=True)]
    assert cam_ticks == list(range(5, 41, 5))
    assert max(m.log_time_ns for m in a.messages(raw=True)) == 40 * DT_NS  # tick 41 was dropped whole
    meta = a.metadata()[DT.METADATA_NAME]
    assert meta["status"] == "Completed" and meta["end_reason"] == "finished" and meta["seed"] == "8"
    assert meta["rig"] == "minimal" and len(meta["rig_sha256"]) == 64 and meta["scenarios"] == "ParkedObstacle"
    assert json.loads(meta["infractions"]) == {"COLLISION_STATIC": 1} and meta["num_infractions"] == "1"
    assert abs(float(meta["distance_m"]) - 19.5) < 1e-6 and meta["frames"] == "8" and meta["ticks"] == "40"

    b = BagReader(tmp_path / "RouteScenario_1_rep0.mcap")
    speed = [(m.log_time_ns // DT_NS, m.msg.data) for m in b.messages(["/carla/ego_vehicle/speedometer"])]
    assert speed == [(k, float(k)) for k in range(1, 10)]  # lagging messages keep their own tick
    assert b.metadata()[DT.METADATA_NAME]["status"] == "Unfinished"
    info = bag_info(tmp_path / "RouteScenario_1_rep0.mcap")
    assert info.frames == 2 and info.ticks == 10


def test_messages_a_bag_lacks_are_counted_in_its_metadata(tmp_path, capsys):
    """A recorder that fell behind loses messages; the bag says which and how many (per sensor
    topic, against its rate), and the log warns."""
    rec = RouteRecorder(tmp_path, rig="minimal", collect=True)
    rec.handle(DT.ROUTE_TOPIC, *_cdr(_route("RouteScenario_0_rep0", 0)))
    for k in range(1, 21):
        _tick(rec, k, "RouteScenario_0_rep0", skip=(CAM,) if k in (10, 11) else ())
    rec.close()
    missing = json.loads(BagReader(tmp_path / "RouteScenario_0_rep0.mcap").metadata()[DT.METADATA_NAME]["missing"])
    assert missing[CAM] == 1  # saved ticks 5, 10, 15, 20; tick 11 is not saved
    assert missing["/carla/ego_vehicle/rgb_front/camera_info"] == 4  # never sent here
    assert missing["/carla/ego_vehicle/lidar"] == 20  # one a tick, never sent here
    assert "/carla/ego_vehicle/odometry" not in missing  # sent every tick
    info = dataset_info(tmp_path)
    assert info["totals"]["incomplete"] == 1 and info["bags"][0]["missing"] == missing
    from lead.recording.cli import _say_incomplete

    _say_incomplete(info)
    line = capsys.readouterr().out
    assert line.startswith(f"incomplete: RouteScenario_0_rep0.mcap lacks {sum(missing.values())} messages"), line


def test_truncated_bag_keeps_its_flushed_prefix(tmp_path):
    rec = RouteRecorder(tmp_path, rig="minimal", flush_every_s=0.0)  # flush on every write
    rec.handle(DT.ROUTE_TOPIC, *_cdr(_route("RouteScenario_0_rep0", 0)))
    for k in range(1, 31):
        _tick(rec, k, "RouteScenario_0_rep0")
    path = tmp_path / "RouteScenario_0_rep0.mcap"
    # what a SIGKILL leaves: the file as it is on disk, cut inside the last chunk
    data = path.read_bytes()
    cut = tmp_path / "cut.mcap"
    cut.write_bytes(data[:-7])
    r = BagReader(cut)
    assert r.truncated
    clocks = [m.log_time_ns // DT_NS for m in r.messages(["/clock"])]
    assert clocks == list(range(1, len(clocks) + 1)) and len(clocks) >= 25
    c = check_bag(cut)
    assert c.status == "truncated" and c.messages > 100 and c.last_stamp_ns >= 25 * DT_NS
    (tmp_path / "junk.mcap").write_bytes(b"not an mcap file at all")
    assert check_bag(tmp_path / "junk.mcap").status == "corrupt"
    rec.close()
    assert check_bag(path).status == "ok"


def test_saved_ticks_filter_only_where_the_world_sends_unsaved_ticks():
    from lead.nodes.recorder import needs_saved_ticks_filter, saved_ticks_filter
    from lead.sim.rig import load_rig, resolve_rig_path

    rates = {tr.topic: tr for tr in DT.recorded_topics(load_rig(resolve_rig_path("lead")), collect=True)}
    cam, info = rates["/carla/ego_vehicle/rgb_1/image"], rates["/carla/ego_vehicle/rgb_1_perturbated/camera_info"]
    radar = rates["/carla/ego_vehicle/radar1_perturbated"]
    assert cam.camera and info.camera and not radar.camera  # the data table says which are cameras
    for tr in (cam, info):
        assert needs_saved_ticks_filter(tr.every, tr.camera, camera_every=1)
        assert needs_saved_ticks_filter(tr.every, tr.camera, camera_every=2)
        assert not needs_saved_ticks_filter(tr.every, tr.camera, camera_every=DT.SAVE_EVERY)  # lead collect
        assert not needs_saved_ticks_filter(tr.every, tr.camera, camera_every=2 * DT.SAVE_EVERY)
    # a perturbated radar is saved every 5th tick but published on every one, whatever the cameras do
    assert radar.every == DT.SAVE_EVERY and needs_saved_ticks_filter(radar.every, radar.camera,
                                                                     camera_every=DT.SAVE_EVERY)
    assert not needs_saved_ticks_filter(1, True, camera_every=1)
    # the filter keeps the stamps of saved ticks: 0, 0.25, 0.5, 0.75 s into each second at 20 Hz
    f = saved_ticks_filter(50_000_000, DT.SAVE_EVERY)
    assert f.expression_parameters == ["0", "250000000", "500000000", "750000000"]


def test_each_route_of_a_collection_gets_its_own_perturbation_and_world_and_bag_agree(tmp_path):
    """One seed serves every route of a run; the perturbated views are drawn per route (as LEAD
    draws them), and the recorder writes what the world used into the bag's metadata."""
    from pathlib import Path

    from lead.sim.embedded.world import EmbeddedWorld, WorldConfig
    from lead.sim.rig import load_rig, resolve_rig_path, route_perturbation

    rig = load_rig(resolve_rig_path("lead"))
    draws = {route_perturbation(rig, 0, f"RouteScenario_{i}_rep0") for i in range(20)}
    assert len(draws) == 20  # every route its own (the bug: one draw for the whole collection)
    assert {s > 0 for s, _ in draws} == {True, False} and {y > 0 for _, y in draws if y} == {True, False}
    lo, hi = rig.perturbation.translation_m
    assert all(lo <= abs(s) <= hi for s, _ in draws)
    assert route_perturbation(rig, 0, "RouteScenario_3_rep0") == route_perturbation(rig, 0, "RouteScenario_3_rep0")
    assert route_perturbation(rig, 1, "RouteScenario_3_rep0") != route_perturbation(rig, 0, "RouteScenario_3_rep0")

    xodr = (Path(__file__).parents[1] / "leaderboard" / "data" / "StraightRoad.xodr").read_text()
    world = EmbeddedWorld(WorldConfig(rig="lead", collect=True, render=False, num_vehicles=0, num_pedestrians=0))
    rec = RouteRecorder(tmp_path, rig="lead", collect=True, seed=0, flush_every_s=0.0)
    for i, route_id in enumerate(("RouteScenario_0_rep0", "RouteScenario_1_rep0")):
        world.load("StraightRoad", opendrive=xodr, seed=0, route_id=route_id)
        rec.handle(DT.ROUTE_TOPIC, *_cdr(_route(route_id, i)))
        meta = BagReader(tmp_path / f"{route_id}.mcap").metadata()[DT.METADATA_NAME]
        assert (float(meta["perturbation_shift_m"]), float(meta["perturbation_yaw_deg"])) == world.perturbation
        assert world.perturbation == route_perturbation(rig, 0, route_id)
    rec.close()
    world.close()
