"""routes/embedded_bench: the shipped files are what `lead world bench` generates, every
trigger lies on its route, and the split keeps evaluation towns out of training (both
training sets: train.xml and train_extra.xml)."""
from __future__ import annotations

from pathlib import Path

from lead.leaderboard.check import trigger_on_route
from lead.world.routes import read_routes

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "routes" / "embedded_bench"


def test_shipped_bench_is_the_generated_one(tmp_path):
    from lead.world.towngen.benchgen import build_bench

    summary = build_bench(tmp_path / "bench", tmp_path / "towns")
    assert set(summary["sets"]) == {"train", "eval", "train_extra"}
    for split, info in summary["sets"].items():
        assert (tmp_path / "bench" / f"{split}.xml").read_bytes() == (BENCH / f"{split}.xml").read_bytes(), split
        for town in info["towns"]:
            assert (tmp_path / "towns" / f"{town}.xodr").read_bytes() == (REPO / "routes" / f"{town}.xodr").read_bytes()


def test_extra_training_set_continues_the_first():
    """train_extra.xml: 24 routes on two more towns, ids 48-71 (so bags of both sets can share
    a folder), no town of the evaluation set or of train.xml."""
    train, eval_ = read_routes(BENCH / "train.xml"), read_routes(BENCH / "eval.xml")
    extra = read_routes(BENCH / "train_extra.xml")
    assert [r.id for r in extra] == [str(i) for i in range(len(train), len(train) + 24)]
    assert {r.town for r in extra} == {"LeadGrid004", "LeadIrregular011"}
    assert not {r.town for r in extra} & ({r.town for r in train} | {r.town for r in eval_})
    assert all(r.attrs["split"] == "train_extra" for r in extra)


def test_split_sizes_lengths_towns_and_triggers():
    from lead.world.map import Map
    from lead.world.maps_path import find_map
    from lead.world.planner import interpolate_trajectory
    from lead.world.transform import Location

    train, eval_ = read_routes(BENCH / "train.xml"), read_routes(BENCH / "eval.xml")
    train = train + read_routes(BENCH / "train_extra.xml")
    assert len(train) + len(eval_) >= 60
    assert not {r.town for r in train} & {r.town for r in eval_}, "evaluation towns must be held out"
    types = {s.type for r in train + eval_ for s in r.scenarios}
    assert len(types) >= 25
    maps = {}
    for r in eval_[::3] + train[::8]:
        m = maps.setdefault(r.town, Map.from_file(find_map(r.town), r.town))
        _, dense = interpolate_trajectory(m, [Location(*k) for k in r.keypoints], 1.0)
        length = sum(a.location.distance(b.location) for (a, _), (b, _) in zip(dense[:-1], dense[1:]))
        assert 150.0 <= length <= 620.0, (r.id, length)
        assert len(r.scenarios) == 1
        assert trigger_on_route(r.scenarios[0].trigger_point, dense), (r.id, r.scenarios[0].name)


def test_obstacles_are_placed_where_their_pass_is_allowed():
    """Upstream turns the wrong-lane check off only for the TwoWays variants: a non-TwoWays
    obstacle must stand where the lane to the left runs the route's way, a TwoWays one where it
    is the oncoming lane. And the rotation keeps every type in the training set."""
    from lead.world.map import Map
    from lead.world.maps_path import find_map
    from lead.world.towngen.benchgen import PLACEMENTS, ROTATION
    from lead.world.transform import Location

    train, eval_ = read_routes(BENCH / "train.xml"), read_routes(BENCH / "eval.xml")
    train = train + read_routes(BENCH / "train_extra.xml")
    assert {s.type for r in train for s in r.scenarios} == set(ROTATION)
    maps, checked = {}, 0
    for r in train + eval_:
        sc = r.scenarios[0]
        p = PLACEMENTS[sc.type]
        if not (p.same_way or p.two_way):
            continue
        m = maps.setdefault(r.town, Map.from_file(find_map(r.town), r.town))
        t = sc.trigger_point
        wp = m.get_waypoint(Location(t.x, t.y, t.z))
        left = wp.get_left_lane()
        assert left is not None, (r.id, sc.type)
        assert (left.lane_id * wp.lane_id > 0) == p.same_way, (r.id, sc.type, wp.lane_id, left.lane_id)
        checked += 1
    assert checked >= 12
