"""Junction branches (`lead train --junction-branches`): the other ways through a junction, found on a
real town of the repository with the expert's own target-point planner and route resampling, and
the dataset / loss / trainer path that trains the route head on them."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from lead.model.inputs import perturb_points
from lead.model.losses import compute_losses
from lead.training.args import build_parser
from lead.training.branches import frame_branch_fields, junction_branches, to_ego, to_world
from lead.training.dataset import CacheDataset
from lead.world.planner import RoadOption

ROOT = Path(__file__).resolve().parents[2]
ROUTES = ROOT / "routes" / "embedded_bench" / "eval.xml"
LEFT, RIGHT, STRAIGHT, LANEFOLLOW = (int(o) for o in (RoadOption.LEFT, RoadOption.RIGHT, RoadOption.STRAIGHT,
                                                       RoadOption.LANEFOLLOW))


class ExpertFrames:
    """An evaluation route driven exactly along its centre line, labelled as the expert labels:
    route resampled to 10 points per metre (lead.expert.route.resample), checkpoints 2.5 .. 11.5 m
    ahead, target points and command from lead.expert.targets.TargetPointPlanner."""

    def __init__(self, route_id: str):
        from lead.expert.config import ExpertConfig
        from lead.expert.route import resample
        from lead.expert.targets import TargetPointPlanner
        from lead.world.map import Map
        from lead.world.planner import interpolate_trajectory
        from lead.world.routes import read_routes
        from lead.world.transform import Location

        r = next(r for r in read_routes(ROUTES) if r.id == route_id)
        self.map = Map.from_file(ROOT / "routes" / f"{r.town}.xodr", r.town)
        _, dense = interpolate_trajectory(self.map, [Location(*k) for k in r.keypoints], 1.0)
        xyz = np.array([[t.location.x, t.location.y, t.location.z] for t, _ in dense])
        c = ExpertConfig()
        self.targets = TargetPointPlanner(xyz, [int(o) for _, o in dense], c.target_point_pop_distance,
                                          c.route_planner_max_distance, 50.0)
        self.fine, _ = resample(xyz, 1.0 / c.points_per_meter)
        self.ppm, self.first = c.points_per_meter, c.tf_first_checkpoint_distance

    def frames(self):
        """(metre, pose, labels) every metre of the route, in order (the planner pops as it goes)."""
        f = self.fine
        for i in range(self.ppm, len(f) - 15 * self.ppm, self.ppm):
            d = f[i + 5, :2] - f[i - 5, :2]
            pose = (f[i, 0], f[i, 1], math.atan2(d[1], d[0]))
            tp = self.targets.step(f[i, :2])
            idx = i + int(self.first * self.ppm) + self.ppm * np.arange(10)
            yield i // self.ppm, pose, dict(route=to_ego(f[np.minimum(idx, len(f) - 1), :2], pose),
                                            target_point=to_ego(tp.target[:2], pose)[0],
                                            target_point_next=to_ego(tp.next[:2], pose)[0], command=tp.command)


@pytest.fixture(scope="module")
def route5():
    """LeadGrid002 route 5: straight over a T-junction whose side street leaves to the right ~25 m after
    the start, later a right turn."""
    return ExpertFrames("5"), list(ExpertFrames("5").frames())


def test_world_and_ego_frames_invert():
    pose = (10.0, -4.0, math.radians(30))
    pts = np.array([[3.0, 1.0], [-2.0, 5.0]])
    np.testing.assert_allclose(to_ego(to_world(pts, pose), pose), pts, atol=1e-12)
    np.testing.assert_allclose(to_world([[1.0, 0.0]], pose)[0], [10 + math.cos(math.radians(30)),
                                                                 -4 + math.sin(math.radians(30))])


def test_straight_crossing_has_the_side_street_as_its_branch(route5):
    ef, frames = route5
    straight = [(m, pose, lab) for m, pose, lab in frames if lab["command"] == STRAIGHT]
    assert straight, "route 5 should cross a junction straight"
    m, pose, lab = straight[0]  # 3 m before the junction: the lanes have not parted yet
    (b,) = junction_branches(ef.map, pose, **lab)
    assert b.command == RoadOption.RIGHT
    # the side street leaves to the right (+y): the branch's checkpoints bend off, the expert's do not
    assert abs(lab["route"][-1, 1]) < 0.5 and b.route[-1, 1] > 3.0
    assert np.linalg.norm(b.route[0] - lab["route"][0]) < 0.5  # both start on the lane the ego is on
    assert b.target_point[1] > 15.0 and abs(lab["target_point"][1]) < 0.5
    # a command the lane graph does not read at this junction gives nothing, as does a lane follow far
    # from a junction (its next target point lies before any split)
    assert junction_branches(ef.map, pose, **{**lab, "command": LEFT}) == []
    calm = next((p, la) for mm, p, la in frames if mm > 55 and la["command"] == LANEFOLLOW
                and np.linalg.norm(la["target_point_next"]) > 40 and abs(la["target_point_next"][1]) < 1)
    assert junction_branches(ef.map, calm[0], **calm[1]) == []


def test_cached_fields_answer_the_input_command(route5):
    """The cache stores a frame's branches for the command its model input carries (one-hot)."""
    ef, frames = route5
    m, pose, lab = next(f for f in frames if f[2]["command"] == STRAIGHT)
    onehot = np.eye(6, dtype=np.float32)
    inputs = {"target_point": lab["target_point"], "target_point_next": lab["target_point_next"]}
    f = frame_branch_fields(ef.map, pose, lab["route"], {**inputs, "command": onehot[STRAIGHT - 1]}, 10)
    assert f["branch.command"].tolist() == [RIGHT, 0] and f["branch.route"].shape == (2, 10, 2)
    assert not f["branch.route"][1].any()
    (b,) = junction_branches(ef.map, pose, **lab)
    np.testing.assert_array_equal(f["branch.route"][0], b.route)
    # the same frame given LEFT (a road option its lane does not turn to here): no branch
    f = frame_branch_fields(ef.map, pose, lab["route"], {**inputs, "command": onehot[LEFT - 1]}, 10)
    assert f["branch.command"].tolist() == [0, 0]


def test_branches_end_where_the_lanes_have_parted(route5):
    ef, frames = route5
    straight = [junction_branches(ef.map, pose, **lab) for _, pose, lab in frames if lab["command"] == STRAIGHT]
    have = [bool(b) for b in straight]
    # from the junction entry while the ego is still on the lane the side street leaves from, then never
    assert have[0] and not have[-1]
    first_gap = have.index(False)
    assert not any(have[first_gap:])


def test_approach_to_a_turn_keeps_the_target_point_and_parts_the_next_one(route5):
    """Before a junction the command is LANEFOLLOW and the target point is the junction entry: a branch
    shares both, only its next target point and checkpoints go the other way."""
    ef, frames = route5
    for m, pose, lab in frames:
        if lab["command"] != LANEFOLLOW or not (5 < np.linalg.norm(lab["target_point"]) < 12):
            continue
        bs = junction_branches(ef.map, pose, **lab)
        if bs and lab["target_point_next"][1] > 5:  # the expert turns right at the junction ahead
            (b,) = bs
            assert b.command == RoadOption.LANEFOLLOW
            np.testing.assert_allclose(b.target_point, lab["target_point"], atol=0.5)
            assert abs(b.target_point_next[1]) < 1.0  # straight on instead
            return
    pytest.fail("route 5 should approach its right turn with a straight branch")


def test_a_turn_only_lane_has_no_branch():
    """LeadGrid002 route 7 turns left from a lane that leads left only: no other way from the ego's lane."""
    ef = ExpertFrames("7")
    left = [(pose, lab) for _, pose, lab in ef.frames() if lab["command"] == LEFT]
    assert left and all(junction_branches(ef.map, pose, **lab) == [] for pose, lab in left)


def _write_branch(shard: Path, n: int, frame: int) -> dict[str, np.ndarray]:
    """Frame `frame` gets one RIGHT branch (second row empty); no other frame has one."""
    route = np.zeros((n, 2, 10, 2), np.float32)
    tp, tpn = np.zeros((n, 2, 2), np.float32), np.zeros((n, 2, 2), np.float32)
    command = np.zeros((n, 2), np.int64)
    route[frame, 0] = np.column_stack([np.arange(2.5, 12.5), np.linspace(0, 6, 10)])
    tp[frame, 0], tpn[frame, 0], command[frame, 0] = (12.0, 20.0), (14.0, 60.0), RIGHT
    fields = {"branch.route": route, "branch.target_point": tp, "branch.target_point_next": tpn,
              "branch.command": command}
    for k, v in fields.items():
        np.save(shard / f"{k}.npy", v)
    return fields


def test_cache_stores_branch_fields(tiny_cache_copy):
    _, _, shard, n = tiny_cache_copy
    assert np.load(shard / "branch.route.npy").shape == (n, 2, 10, 2)
    assert np.load(shard / "branch.target_point.npy").shape == (n, 2, 2)
    command = np.load(shard / "branch.command.npy")
    assert command.shape == (n, 2) and set(np.unique(command)) <= {0, LEFT, RIGHT, STRAIGHT, LANEFOLLOW}


def test_dataset_adds_a_branch_copy(tiny_cache_copy):
    cache, cfg, shard, n = tiny_cache_copy
    f = _write_branch(shard, n, 1)
    full = CacheDataset(cache, cfg)
    ds = CacheDataset(cache, cfg, junction_branches=True)
    assert [j for _, j in ds.items] == [0, 1, 1, *range(2, n)] and ds.branch_items == {2}
    as_driven, branch = ds[1], ds[2]
    assert not bool(as_driven["route_only"]) and bool(branch["route_only"])
    np.testing.assert_array_equal(as_driven["route"].numpy(), full[1]["route"].numpy())
    np.testing.assert_array_equal(branch["rgb"].numpy(), full[1]["rgb"].numpy())  # the same sensors ...
    np.testing.assert_allclose(branch["route"].numpy(), f["branch.route"][1, 0])  # ... another way
    np.testing.assert_allclose(branch["target_point"].numpy(), [12.0, 20.0])
    np.testing.assert_allclose(branch["target_point_next"].numpy(), [14.0, 60.0])
    assert int(branch["command"].argmax()) == RIGHT - 1 and float(branch["command"].sum()) == 1.0
    assert "route_only" not in full[1]  # off: the samples are as before
    # a perturbated view moves the branch into its frame like every other label
    pert = tuple(json.loads((shard / "meta.json").read_text())["perturbation"])
    assert ds.shards[0].get("perturbed") and pert != (0.0, 0.0), "the tiny bag records a perturbated view"
    aug = CacheDataset(cache, cfg, junction_branches=True, augment=True, perturb_p=1.0, color_p=0.0)
    np.testing.assert_allclose(aug[2]["route"].numpy(), perturb_points(f["branch.route"][1, 0], pert), atol=1e-5)
    assert bool(aug[2]["perturbed"])


def test_dataset_without_branch_fields_says_how_to_rebuild(tiny_cache_copy):
    cache, cfg, shard, _ = tiny_cache_copy
    (shard / "branch.command.npy").unlink()
    with pytest.raises(ValueError, match="--force"):
        CacheDataset(cache, cfg, junction_branches=True)
    CacheDataset(cache, cfg)  # without the option nothing needs them


def test_route_only_samples_leave_the_waypoint_and_speed_losses(tiny_cache_copy):
    cache, cfg, shard, n = tiny_cache_copy
    _write_branch(shard, n, 1)
    ds = CacheDataset(cache, cfg, junction_branches=True)
    batch = {k: torch.stack([ds[1][k], ds[2][k]]) for k in ds[1]}
    g = torch.Generator().manual_seed(0)
    out = {"future_waypoints": torch.randn(2, cfg.planning.num_waypoints, 2, generator=g),
           "route": torch.randn(2, cfg.planning.num_route_points, 2, generator=g),
           "target_speed_logits": torch.randn(2, len(cfg.planning.target_speeds), generator=g)}
    both = compute_losses(out, batch, cfg)
    first = compute_losses({k: v[:1] for k, v in out.items()}, {k: v[:1] for k, v in batch.items()}, cfg)
    for k in ("loss_waypoints", "loss_target_speed"):  # the branch sample (row 1) does not count
        torch.testing.assert_close(both[k], first[k])
    assert not torch.allclose(both["loss_route"], first["loss_route"])  # its route does
    plain = {k: v for k, v in batch.items() if k != "route_only"}
    torch.testing.assert_close(compute_losses(out, {**plain, "route_only": torch.zeros(2, dtype=torch.bool)}, cfg)["loss"],
                               compute_losses(out, plain, cfg)["loss"])


def test_the_trainer_takes_the_option(tiny_cache_copy, tiny_config, tmp_path):
    from lead.training.train import train

    assert not build_parser().parse_args(["--data", "d", "--out", "o"]).junction_branches
    cache, _, shard, n = tiny_cache_copy
    _write_branch(shard, n, 1)

    def run(name, *extra):
        return train(build_parser().parse_args([
            "--config", str(tiny_config), "--data", str(cache), "--out", str(tmp_path / name), "--workers", "0",
            "--batch-size", "2", "--epochs", "1", "--no-val", *extra]))

    assert run("branches", "--junction-branches")["steps"] == (n + 1) // 2
    (shard / "branch.command.npy").unlink()
    with pytest.raises(SystemExit, match="--force"):
        run("old", "--junction-branches")
