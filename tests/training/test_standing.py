"""`--standing-keep`: each wait of the expert keeps only its first and last K frames for training."""
from __future__ import annotations

import numpy as np
import pytest

from lead.training.dataset import CacheDataset, wait_frames_kept


def test_wait_frames_kept_cuts_the_middle_of_each_wait():
    #            moving  | wait of 7             | moving | wait of 3 (short) | moving, target 0 (braking)
    speed = [5, 4] + [0.1] * 7 + [2] + [0.0] * 3 + [3.0]
    target = [5, 0] + [0.0] * 7 + [4] + [0.0] * 3 + [0.0]
    kept = wait_frames_kept(np.array(speed), np.array(target), 2)
    assert kept == [0, 1, 2, 3, 7, 8, 9, 10, 11, 12, 13]
    assert wait_frames_kept(np.array(speed), np.array(target), 0) == [0, 1, 9, 13]
    # a wait that ends the route keeps its first frames too
    assert wait_frames_kept(np.zeros(6), np.zeros(6), 1) == [0, 5]
    # standing with a target speed above 0.5 m/s is a start, not a wait: always kept
    assert wait_frames_kept(np.zeros(4), np.full(4, 3.0), 1) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="standing_keep"):
        wait_frames_kept(np.zeros(2), np.zeros(2), -1)


def test_dataset_leaves_out_the_middle_of_waits(tiny_cache_copy):
    """A real cache whose speed labels are rewritten into a wait (the tiny bag's car never stands)."""
    cache, cfg, shard, n = tiny_cache_copy
    full = CacheDataset(cache, cfg)
    speed, target = np.load(shard / "speed.npy"), np.load(shard / "target_speed.npy")
    speed[1:n], target[1:n - 1] = 0.0, 0.0  # frames 1..n-2 wait, frame n-1 starts
    np.save(shard / "speed.npy", speed)
    np.save(shard / "target_speed.npy", target)
    ds = CacheDataset(cache, cfg, standing_keep=1)
    assert [j for _, j in ds.items] == [0, 1, n - 2, n - 1]
    assert ds.dropped_standing == n - 4
    # the samples are the same frames as without the option
    np.testing.assert_array_equal(ds[2]["rgb"].numpy(), full[n - 2]["rgb"].numpy())
    assert len(CacheDataset(cache, cfg)) == n
