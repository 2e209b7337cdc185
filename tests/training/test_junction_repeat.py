"""`--junction-repeat`: frames whose input command is a junction road option appear N times per epoch."""
from __future__ import annotations

import numpy as np
import pytest

from lead.training.args import build_parser
from lead.inference.route_planner import command_one_hot, input_commands
from lead.training.dataset import CacheDataset, junction_command_values, junction_repeated

LEFT, RIGHT, STRAIGHT, LANEFOLLOW, VOID = 1, 2, 3, 4, -1


def test_junction_frames_are_repeated_in_place():
    command = np.array([LANEFOLLOW, STRAIGHT, LEFT, LANEFOLLOW, VOID, RIGHT, 5])
    frames = [0, 1, 2, 3, 4, 5, 6]
    assert junction_repeated(frames, command, 3) == [0, 1, 1, 1, 2, 2, 2, 3, 4, 5, 5, 5, 6]
    assert junction_repeated(frames, command, 1) == frames
    # only the frames asked for (e.g. those --standing-keep kept) are looked at
    assert junction_repeated([0, 2, 6], command, 2) == [0, 2, 2, 6]
    with pytest.raises(ValueError, match="junction_repeat"):
        junction_repeated(frames, command, 0)
    # narrowed to straight crossings: the turns stay once
    assert junction_repeated(frames, command, 3, (STRAIGHT,)) == [0, 1, 1, 1, 2, 3, 4, 5, 6]
    assert junction_repeated(frames, command, 2, junction_command_values("left, RIGHT")) == [0, 1, 2, 2, 3, 4, 5, 5, 6]


def test_junction_command_names():
    assert junction_command_values("STRAIGHT") == (STRAIGHT,)
    assert junction_command_values(["RIGHT", "LEFT", "RIGHT"]) == (LEFT, RIGHT)
    for bad in ("LANEFOLLOW", "", "STRAIGHT,UP"):
        with pytest.raises(ValueError, match="LEFT, RIGHT, STRAIGHT"):
            junction_command_values(bad)


def test_input_commands_read_the_one_hot():
    onehot = np.zeros((4, 6), np.float32)
    onehot[0, LEFT - 1] = onehot[1, STRAIGHT - 1] = onehot[2, LANEFOLLOW - 1] = 1
    np.testing.assert_array_equal(input_commands(onehot), [LEFT, STRAIGHT, LANEFOLLOW, 0])
    # one frame's one-hot (as the branch finder reads it) and the encoder's own output
    assert list(input_commands(onehot[1])) == [STRAIGHT]
    assert [int(input_commands(command_one_hot(c))[0]) for c in range(1, 7)] == list(range(1, 7))


def _mark_junctions(shard):
    """Frame 1 crosses a junction straight, frame 2 turns right, the others follow the lane:
    written into the input one-hot the model is given (the expert's label is left alone)."""
    onehot = np.load(shard / "command_onehot.npy")
    onehot[:] = 0
    onehot[:, LANEFOLLOW - 1] = 1
    for j, c in ((1, STRAIGHT), (2, RIGHT)):
        onehot[j] = 0
        onehot[j, c - 1] = 1
    np.save(shard / "command_onehot.npy", onehot)


def test_the_expert_label_alone_selects_nothing(tiny_cache_copy):
    """The expert's label turns to a junction's road option later than the input (inside the
    junction): the repetition follows what the model is asked, so a label alone repeats nothing."""
    cache, cfg, shard, n = tiny_cache_copy
    command = np.load(shard / "command.npy")
    command[:] = LANEFOLLOW
    command[1], command[2] = STRAIGHT, RIGHT
    np.save(shard / "command.npy", command)
    onehot = np.load(shard / "command_onehot.npy")
    assert set(input_commands(onehot)) <= {LANEFOLLOW, 0}
    ds = CacheDataset(cache, cfg, junction_repeat=3)
    assert ds.junction_copies == 0 and len(ds) == n


def test_dataset_repeats_junction_frames(tiny_cache_copy):
    """A real cache whose command labels are rewritten (the tiny route is one lane follow)."""
    cache, cfg, shard, n = tiny_cache_copy
    full = CacheDataset(cache, cfg)
    _mark_junctions(shard)
    ds = CacheDataset(cache, cfg, junction_repeat=3)
    assert [j for _, j in ds.items] == [0, 1, 1, 1, 2, 2, 2, *range(3, n)]
    assert ds.junction_copies == 4 and len(ds) == n + 4
    # a copy is the same frame (without augmentation) ...
    np.testing.assert_array_equal(ds[2]["rgb"].numpy(), full[1]["rgb"].numpy())
    np.testing.assert_array_equal(ds[6]["route"].numpy(), full[2]["route"].numpy())
    # ... and draws its own augmentation: the copies of a frame do not all look alike
    aug = CacheDataset(cache, cfg, junction_repeat=3, augment=True, color_p=1.0, perturb_p=0.0)
    assert not np.array_equal(aug[1]["rgb"].numpy(), aug[2]["rgb"].numpy())
    # both options together: waits are cut first, then junction frames repeated
    both = CacheDataset(cache, cfg, standing_keep=1, junction_repeat=2)
    assert both.junction_copies == 2 and len(both) == len(full) - both.dropped_standing + 2


def test_the_trainer_takes_the_option(tiny_cache_copy, tiny_config, tmp_path):
    """The option reaches the trainer: an epoch has as many more steps as the copies make."""
    from lead.training.train import train

    args = build_parser().parse_args(["--data", "d", "--out", "o", "--junction-repeat", "3"])
    assert args.junction_repeat == 3
    assert build_parser().parse_args(["--data", "d", "--out", "o"]).junction_repeat is None
    cache, _, shard, n = tiny_cache_copy
    _mark_junctions(shard)

    def epoch_steps(run, *extra):
        return train(build_parser().parse_args([
            "--config", str(tiny_config), "--data", str(cache), "--out", str(tmp_path / run), "--workers", "0",
            "--batch-size", "2", "--epochs", "1", "--no-val", "--no-augment", *extra]))["steps"]

    assert epoch_steps("once") == n // 2
    assert epoch_steps("repeated", "--junction-repeat", "3") == (n + 4) // 2
    assert epoch_steps("straight", "--junction-repeat", "3", "--junction-commands", "STRAIGHT") == (n + 2) // 2
    with pytest.raises(SystemExit, match="--junction-commands"):
        epoch_steps("bad", "--junction-repeat", "3", "--junction-commands", "UP")
