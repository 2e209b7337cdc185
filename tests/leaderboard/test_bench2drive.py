"""Bench2Drive metrics on synthetic records and metric_info files (spec §6)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from lead.leaderboard import bench2drive as b2d
from lead.leaderboard.results import metric_frame, write_metric_info
from lead.leaderboard.scoring import INFRACTION_KEYS


def rec(number: int, status: str = "Perfect", rc: float = 100.0, ds: float | None = None, **infractions):
    inf = {k: [] for k in INFRACTION_KEYS}
    inf.update(infractions)
    return {"route_id": f"RouteScenario_{number}_rep0", "status": status, "infractions": inf,
            "scores": {"score_route": rc, "score_penalty": 1.0, "score_composed": rc if ds is None else ds},
            "save_name": f"route_{number}"}


def speed_msgs(*values):
    return [f"Average speed is {v}% of the surrounding traffic's one" for v in values]


def test_success_rules():
    assert b2d.is_success(rec(1))
    assert b2d.is_success(rec(1, "Completed", min_speed_infractions=speed_msgs(40.0)))
    assert not b2d.is_success(rec(1, "Completed", outside_route_lanes=["x"]))
    assert not b2d.is_success(rec(1, "Completed", route_timeout=["Route timeout."]))
    assert not b2d.is_success(rec(1, "Failed - Agent got blocked", rc=60.0))
    records = [rec(1), rec(2, "Completed", collisions_vehicle=["c"], ds=60.0), rec(3, "Failed", rc=20.0)]
    s = b2d.summary(records, total=4)
    assert s == {"driving score": (100 + 60 + 20) / 4, "success rate": 1 / 4, "eval num": 3}


def test_driving_efficiency():
    records = [rec(1, min_speed_infractions=speed_msgs(120.0, 80.0, 1200.0)),  # 1200 % dropped
               rec(2, min_speed_infractions=speed_msgs(50.5)),
               rec(3)]  # no messages: skipped, not counted as 100
    assert b2d.efficiency_values(speed_msgs(99.99, 7)) == [99.99, 7.0]
    assert b2d.driving_efficiency(records) == pytest.approx(((120 + 80) / 2 + 50.5) / 2)
    assert b2d.driving_efficiency([rec(3)]) is None
    with pytest.raises(ValueError, match="percentage"):
        b2d.efficiency_values(["Average speed is unknown"])


def frames(n: int, lon_acc=None, yaw_rate=None, yaw_deg: float = 30.0) -> dict[str, np.ndarray]:
    """n metric frames of an ego heading `yaw_deg`, with the given longitudinal acceleration
    and yaw rate per frame, built through the metric_info writer's frame builder."""
    lon_acc = np.zeros(n) if lon_acc is None else np.asarray(lon_acc, float)
    yaw_rate = np.zeros(n) if yaw_rate is None else np.asarray(yaw_rate, float)
    fwd = np.array([np.cos(np.radians(yaw_deg)), np.sin(np.radians(yaw_deg))])
    out = {k: [] for k in b2d.METRIC_KEYS}
    for i in range(n):
        f = metric_frame((*(lon_acc[i] * fwd), 0.0), (0.0, 0.0, yaw_rate[i]), (i * 0.5, 0.0, 0.0), (0, 0, yaw_deg))
        for k in out:
            out[k].append(f[k])
    return {k: np.array(v) for k, v in out.items()}


def test_comfort_of_smooth_and_harsh_driving():
    assert b2d.route_comfort(frames(65)) == 1.0
    # hard braking (-6 m/s^2) inside the second 20-frame chunk only: 2 of 3 chunks comfortable,
    # the trailing 5 frames are not judged
    acc = np.zeros(65)
    acc[25:31] = -6.0
    assert b2d.route_comfort(frames(65, lon_acc=acc)) == pytest.approx(2 / 3)
    acc = np.zeros(65)
    acc[61:64] = -6.0
    assert b2d.route_comfort(frames(65, lon_acc=acc)) == 1.0
    # a gentle 0.5 deg/s turn passes; CARLA's deg/s read against the rad/s bound fails 60 deg/s
    assert b2d.route_comfort(frames(40, yaw_rate=np.full(40, 0.5))) == 1.0
    assert b2d.route_comfort(frames(40, yaw_rate=np.full(40, 60.0))) == 0.0
    # an episode of at most 20 frames is judged whole
    acc = np.zeros(15)
    acc[3] = 9.0
    assert b2d.route_comfort(frames(15, lon_acc=acc)) == 0.0
    assert b2d.route_comfort(frames(15)) == 1.0
    with pytest.raises(ValueError):
        b2d.route_comfort(frames(2))


def test_lateral_acceleration_uses_the_right_vector():
    f = frames(30)
    right = f["right_vector"][:, :2]
    f["acceleration"][:, :2] = 5.0 * right  # 5 m/s^2 sideways: above 4.89
    assert b2d.route_comfort(f) == 0.0
    f["acceleration"][:, :2] = 4.5 * right
    assert b2d.route_comfort(f) == 1.0


def test_yaw_rate_phase_unwrap():
    raw = np.array([3.0, 3.1, -3.1, -3.0, 3.1])
    np.testing.assert_allclose(b2d._phase_unwrap(raw), np.unwrap(raw))
    # the tool unwraps the yaw rate by 2 pi before the bounds: a rate jumping by 2 pi is smooth
    jumpy = np.where(np.arange(30) >= 10, 0.1 + 2 * np.pi, 0.1)
    assert b2d.route_comfort(frames(30, yaw_rate=jumpy)) == 1.0


def test_comfortness_reads_metric_info_files(tmp_path):
    smooth = frames(45)
    acc = np.zeros(45)
    acc[5:9] = 3.5  # above the 2.40 m/s^2 longitudinal bound
    harsh = frames(45, lon_acc=acc)
    for name, data in (("route_1", smooth), ("route_2", harsh)):
        fr = {i: {k: data[k][i].tolist() for k in b2d.METRIC_KEYS} for i in range(45)}
        write_metric_info(tmp_path / name / "metric_info.json", fr)
    read = b2d.read_metric_info(tmp_path / "route_2" / "metric_info.json")
    np.testing.assert_allclose(read["acceleration"], harsh["acceleration"])
    assert b2d.comfortness([rec(1), rec(2)], tmp_path) == pytest.approx((1.0 + 0.5) / 2)
    with pytest.raises(ValueError, match="route_3"):
        b2d.comfortness([rec(3)], tmp_path)


ROUTE_TYPES = {"1": "Accident", "2": "ParkingCutIn", "3": "SignalizedJunctionLeftTurn",
               "4": "VanillaNonSignalizedTurnEncounterStopsign", "5": "YieldToEmergencyVehicle",
               "6": "InvadingTurn", "7": "PedestrianCrossing"}
RECORDS = [rec(1), rec(2, "Completed", collisions_vehicle=["c"]), rec(3, "Failed - Agent timed out", rc=80.0),
           rec(4), rec(5), rec(7, "Completed", red_light=["r"])]


def junction(route_id: str) -> tuple[int, int]:
    flags = [False] * 100
    flags[29] = flags[30] = True  # first junction point is the 30th of 100
    return b2d.first_junction(flags)


def test_ability_v003_counts_traffic_signs_twice():
    res = b2d.ability(RECORDS, ROUTE_TYPES, junction, variant="v0.0.3")
    # Traffic_Signs: routes 3, 4, 7 by success (1 of 3) plus the junction rule (3 passes with
    # 0.80 > 38/100, 4 passes, 7 ran a red light): 3 of 6
    assert res == {"Overtaking": 1.0, "Merging": 0.0, "Emergency_Brake": 0.0, "Give_Way": 1.0,
                   "Traffic_Signs": 0.5, "mean": (1 + 0 + 0 + 1 + 0.5) / 5, "crashed": [["InvadingTurn", "6"]]}


def test_ability_v004_gives_failed_traffic_sign_routes_a_second_chance():
    res = b2d.ability(RECORDS, ROUTE_TYPES, junction, variant="v0.0.4")
    assert res["Traffic_Signs"] == pytest.approx(2 / 3)
    assert res["mean"] == pytest.approx((1 + 0 + 0 + 1 + 2 / 3) / 5)


def test_ability_junction_threshold_and_errors():
    late = [rec(3, "Failed - Agent timed out", rc=38.0)]  # 0.38 is not > (30 + 8) / 100
    res = b2d.ability(late, {"3": "SignalizedJunctionLeftTurn"}, junction)
    assert res["Traffic_Signs"] == 0.0 and res["Overtaking"] is None and res["mean"] is None
    with pytest.raises(ValueError, match="junction"):
        b2d.ability(late, {"3": "SignalizedJunctionLeftTurn"})
    with pytest.raises(ValueError, match="junction"):
        b2d.first_junction([False, False])


def test_ability_file_and_route_xml(tmp_path):
    xml = tmp_path / "routes.xml"
    xml.write_text("""<routes>
      <route id="1" town="Town01"><scenarios><scenario name="Accident_1" type="Accident"/></scenarios></route>
      <route id="6" town="Town02"><scenarios><scenario name="InvadingTurn_1" type="InvadingTurn"/></scenarios></route>
    </routes>""")
    types = b2d.scenario_types_from_xml(xml)
    assert types == {"1": "Accident", "6": "InvadingTurn"}
    result_file = tmp_path / "merged.v2.json"
    path = b2d.write_ability(result_file, b2d.ability([rec(1)], types))
    assert path.name == "merged.v2_ability.json"
    data = json.loads(path.read_text())
    assert set(data) == {"Overtaking", "Merging", "Emergency_Brake", "Give_Way", "Traffic_Signs", "mean", "crashed"}
    assert data["crashed"] == [["InvadingTurn", "6"]]
    bad = tmp_path / "bad.xml"
    bad.write_text("<routes><route id='1'/></routes>")
    with pytest.raises(ValueError, match="bad.xml"):
        b2d.scenario_types_from_xml(bad)


def test_ability_lists_use_the_route_files_spelling():
    spec_types = {
        "Accident", "AccidentTwoWays", "BlockedIntersection", "ConstructionObstacle", "ConstructionObstacleTwoWays",
        "ControlLoss", "CrossingBicycleFlow", "DynamicObjectCrossing", "EnterActorFlow", "HardBreakRoute",
        "HazardAtSideLane", "HazardAtSideLaneTwoWays", "HighwayCutIn", "HighwayExit", "InterurbanActorFlow",
        "InterurbanAdvancedActorFlow", "InvadingTurn", "MergerIntoSlowTraffic", "MergerIntoSlowTrafficV2",
        "NonSignalizedJunctionLeftTurn", "NonSignalizedJunctionLeftTurnEnterFlow", "NonSignalizedJunctionRightTurn",
        "OppositeVehicleRunningRedLight", "OppositeVehicleTakingPriority", "ParkedObstacle", "ParkedObstacleTwoWays",
        "ParkingCrossingPedestrian", "ParkingCutIn", "ParkingExit", "PedestrianCrossing", "SequentialLaneChange",
        "SignalizedJunctionLeftTurn", "SignalizedJunctionLeftTurnEnterFlow", "SignalizedJunctionRightTurn",
        "StaticCutIn", "T_Junction", "VanillaNonSignalizedTurn", "VanillaNonSignalizedTurnEncounterStopsign",
        "VanillaSignalizedTurnEncounterGreenLight", "VanillaSignalizedTurnEncounterRedLight",
        "VehicleOpensDoorTwoWays", "VehicleTurningRoute", "VehicleTurningRoutePedestrian", "YieldToEmergencyVehicle"}
    listed = set().union(*b2d.ABILITIES.values())
    assert listed <= spec_types
    assert listed == spec_types  # every scenario type of bench2drive220 belongs to some ability


def test_save_name_and_real_route_file(shared_data):
    from datetime import datetime

    name = b2d.save_name("RouteScenario_24211_rep0", "Town01", "DynamicObjectCrossing_1", "3",
                         datetime(2025, 3, 26, 4, 0, 24))
    assert name == "RouteScenario_24211_rep0_Town01_DynamicObjectCrossing_1_3_03_26_04_00_24"
    types = b2d.scenario_types_from_xml(shared_data / "routes" / "bench2drive_town01_02_10.xml")
    assert len(types) == 12 and "24211" in types
    assert set(types.values()) <= set().union(*b2d.ABILITIES.values())
