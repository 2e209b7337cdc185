"""torch Dataset over a dataset cache (lead.training.cache): model inputs + loss targets.

- train/val split by route: a route goes to val when crc32(route id) % 100 < 100 x val_fraction
  (stable across machines and runs); with a single route both splits are that route;
- augmentation (train only): LEAD's perturbated view with probability `perturb_p` (0.5) when the
  shard has one; colour jitter (brightness, contrast, saturation) with probability `color_p` (0.2);
  random draws come from (seed, epoch, index), so a run and its resume see the same samples;
- shards are memory-mapped lazily in each worker;
- `standing_keep` (off by default; not in LEAD's recipe): the expert's data is sampled in time, so
  every wait (red light, stop sign, queue) adds a frame per tick with the car standing and target
  speed 0 -- about a third of lead's embedded training frames, against <1 % of frames where a
  standing car should start. With K set, each wait keeps only its first and last K frames.
- `junction_repeat` (off by default; not in LEAD's recipe): frames whose input command (the
  one-hot the model is given; the expert's label names a junction's road option only inside it)
  is a junction road option (LEFT, RIGHT, STRAIGHT) are ~40 % of lead's embedded training frames
  (~12 % by the label), a straight crossing ~10 %; with N set, each such frame appears N times per
  epoch (each copy draws its own augmentation), so the model sees more of where the target points
  lead through junctions. `junction_commands` narrows the repetition to some of the three (e.g.
  STRAIGHT only: LEFT or RIGHT frames outnumber STRAIGHT ones ~3 to 1, so repeating all three also
  strengthens the prior to turn). Validation is never changed by either option.
- `junction_branches` (off by default; not in LEAD's recipe): each frame that has another branch
  of its junction (lead.training.branches, stored by the cache) appears once more per epoch with
  that branch's command, target points and route checkpoints (a random one of its branches, drawn
  per epoch) and `route_only` set, so the loss asks the route head alone to follow the planning
  inputs from the very same sensors.
"""
from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lead.inference.route_planner import input_commands
from lead.model.classes import COMMANDS
from lead.model.config import ModelConfig
from lead.model.inputs import perturb_points
from lead.model.targets import center_net_targets
from lead.model.tfv6 import input_shapes
from lead.training.cache import load_index


def split_routes(routes: list[str], val_fraction: float) -> tuple[set[str], set[str]]:
    val = {r for r in routes if zlib.crc32(r.encode()) % 100 < 100 * val_fraction}
    train = set(routes) - val
    if not train or not val:
        return set(routes), set(routes)
    return train, val


JUNCTION_COMMANDS = (1, 2, 3)  # CARLA RoadOption LEFT, RIGHT, STRAIGHT
JUNCTION_COMMAND_NAMES = {COMMANDS[v - 1]: v for v in JUNCTION_COMMANDS}  # COMMANDS[i] is RoadOption i + 1
STANDING_SPEED = 0.5  # m/s: below it, with a target speed below it too, the car waits


def wait_frames_kept(speed: np.ndarray, target_speed: np.ndarray, keep: int) -> list[int]:
    """Indices of a route's frames to train on when each wait keeps its first and last `keep`
    frames: a wait is a run of frames with speed and target speed both below STANDING_SPEED."""
    if keep < 0:
        raise ValueError(f"standing_keep must be >= 0, got {keep}")
    standing = (np.asarray(speed) < STANDING_SPEED) & (np.asarray(target_speed) < STANDING_SPEED)
    out: list[int] = []
    j, n = 0, len(standing)
    while j < n:
        if not standing[j]:
            out.append(j)
            j += 1
            continue
        end = j
        while end < n and standing[end]:
            end += 1
        run = range(j, end)
        out.extend(run if len(run) <= 2 * keep else [*run[:keep], *run[len(run) - keep:]])
        j = end
    return out


def junction_command_values(names: str | list[str] | tuple[str, ...]) -> tuple[int, ...]:
    """RoadOption values of junction command names ("STRAIGHT", "LEFT,RIGHT", [...])."""
    items = names.split(",") if isinstance(names, str) else list(names)
    items = [n.strip().upper() for n in items if n.strip()]
    bad = [n for n in items if n not in JUNCTION_COMMAND_NAMES]
    if bad or not items:
        raise ValueError(f"junction commands must be some of {', '.join(JUNCTION_COMMAND_NAMES)}, got {names!r}")
    return tuple(sorted({JUNCTION_COMMAND_NAMES[n] for n in items}))


def junction_repeated(frames: list[int], command: np.ndarray, repeat: int,
                      commands: tuple[int, ...] = JUNCTION_COMMANDS) -> list[int]:
    """`frames` with each frame whose command is one of `commands` (junction road options)
    repeated `repeat` times (the copies follow the frame, so the order of a route is kept)."""
    if repeat < 1:
        raise ValueError(f"junction_repeat must be >= 1, got {repeat}")
    if not set(commands) <= set(JUNCTION_COMMANDS):
        raise ValueError(f"junction commands must be among {JUNCTION_COMMANDS}, got {commands}")
    command = np.asarray(command)
    out: list[int] = []
    for j in frames:
        out.extend([j] * (repeat if int(command[j]) in commands else 1))
    return out


class CacheDataset(torch.utils.data.Dataset):
    def __init__(self, cache: str | Path, cfg: ModelConfig, split: str = "all", val_fraction: float = 0.2,
                 augment: bool = False, perturb_p: float = 0.5, color_p: float = 0.2, seed: int = 0,
                 limit: int | None = None, standing_keep: int | None = None,
                 junction_repeat: int | None = None,
                 junction_commands: tuple[int, ...] = JUNCTION_COMMANDS, junction_branches: bool = False) -> None:
        self.root = Path(cache)
        self.index = load_index(self.root)
        self.cfg = cfg
        self.data_hash = self.index["hash"]
        shards = self.index["shards"]
        train, val = split_routes(sorted({s["route_id"] for s in shards}), val_fraction)
        keep = {"all": set(s["route_id"] for s in shards), "train": train, "val": val}[split]
        self.shards = [s for s in shards if s["route_id"] in keep]
        # each route's frames, after the optional cut of waits and repetition of junction frames
        self.items: list[tuple[int, int]] = []
        self.branch_items: set[int] = set()  # items that are branch copies (see junction_branches)
        self.dropped_standing = self.junction_copies = 0
        self.junction_branches = junction_branches
        for i, shard in enumerate(self.shards):
            frames = list(range(shard["frames"]))
            if standing_keep is not None:
                frames = wait_frames_kept(self._array(i, "speed"), self._array(i, "target_speed"), standing_keep)
                self.dropped_standing += shard["frames"] - len(frames)
            if junction_repeat is not None:
                kept = len(frames)
                frames = junction_repeated(frames, input_commands(self._array(i, "command_onehot")),
                                           junction_repeat, junction_commands)
                self.junction_copies += len(frames) - kept
            has_branch = self._branched(i) if junction_branches else None
            copied: set[int] = set()
            for j in frames:
                self.items.append((i, j))
                if has_branch is not None and has_branch[j] and j not in copied:
                    copied.add(j)
                    self.items.append((i, j))
                    self.branch_items.add(len(self.items) - 1)
        if limit is not None:
            self.items = self.items[:limit]
            self.branch_items = {k for k in self.branch_items if k < limit}
        self.augment, self.perturb_p, self.color_p, self.seed = augment, perturb_p, color_p, seed
        self.epoch = 0
        self._mm: dict[tuple[int, str], np.ndarray] = {}
        self.input_names = list(input_shapes(cfg))

    def __len__(self) -> int:
        return len(self.items)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def _field(self, shard: int, name: str) -> np.ndarray | None:
        key = (shard, name)
        if key not in self._mm:
            p = self.root / self.shards[shard]["dir"] / f"{name}.npy"
            self._mm[key] = np.load(p, mmap_mode="r") if p.is_file() else None
        return self._mm[key]

    def _array(self, shard: int, name: str) -> np.ndarray:
        return np.load(self.root / self.shards[shard]["dir"] / f"{name}.npy")

    def _branched(self, shard: int) -> np.ndarray:
        """Per frame of a shard: has it a junction branch? A cache built before branches were
        stored is an error that says how to rebuild it."""
        p = self.root / self.shards[shard]["dir"] / "branch.command.npy"
        if not p.is_file():
            raise ValueError(f"{self.root}: shard '{self.shards[shard]['dir']}' has no junction branches (it was "
                             f"cached before lead stored them); rebuild the cache: lead data cache BAGS --out "
                             f"{self.root} --force")
        return (np.load(p) > 0).any(axis=1)

    def _perturbation(self, shard: int) -> tuple[float, float]:
        key = (shard, "perturbation")
        if key not in self._mm:
            meta = json.loads((self.root / self.shards[shard]["dir"] / "meta.json").read_text())
            self._mm[key] = tuple(float(v) for v in meta.get("perturbation", (0.0, 0.0)))
        return self._mm[key]

    def _take_branch(self, idx: int, x: dict[str, np.ndarray], t: dict[str, Any], perturbed: bool,
                     rng: np.random.Generator) -> None:
        """Swap a frame's planning inputs and route target for one of its junction branches."""
        s, j = self.items[idx]
        command = np.asarray(self._field(s, "branch.command")[j])
        k = int(rng.choice(np.flatnonzero(command > 0)))
        pert = self._perturbation(s) if perturbed else (0.0, 0.0)

        def view(name: str) -> np.ndarray:
            return perturb_points(np.asarray(self._field(s, name)[j][k]).reshape(-1, 2), pert).astype(np.float32)

        x["command"] = np.eye(self.cfg.ego.num_commands, dtype=np.float32)[int(command[k]) - 1]
        x["target_point"] = view("branch.target_point")[0]
        x["target_point_next"] = view("branch.target_point_next")[0]
        t["route"] = view("branch.route")

    def raw(self, idx: int, perturbed: bool = False) -> dict[str, np.ndarray]:
        """The cached fields of one sample (view fields of the perturbated view if asked)."""
        s, j = self.items[idx]
        d = self.root / self.shards[s]["dir"]
        out = {}
        for p in sorted(d.glob("*.npy")):
            name = p.stem
            if name.startswith("perturbed."):
                continue
            src = f"perturbed.{name}" if perturbed and (d / f"perturbed.{name}.npy").is_file() else name
            out[name] = np.array(self._field(s, src)[j])
        return out

    def inputs(self, idx: int, perturbed: bool = False) -> dict[str, np.ndarray]:
        """The model inputs exactly as lead.model.inputs.build_inputs made them (float32)."""
        r = self.raw(idx, perturbed)
        return self._inputs(r)

    def _inputs(self, r: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        cfg = self.cfg
        x: dict[str, np.ndarray] = {"rgb": r["rgb"].astype(np.float32)}
        if "rasterized_lidar" in self.input_names:
            x["rasterized_lidar"] = r["rasterized_lidar"].astype(np.float32) / float(cfg.lidar.hist_max_per_pixel)
        if "radar" in self.input_names:
            x["radar"] = r["radar"].astype(np.float32)
        if "speed" in self.input_names:
            x["speed"] = np.asarray(r["speed"], np.float32).reshape(())
        if "command" in self.input_names:
            x["command"] = r["command_onehot"].astype(np.float32)
            for k in ("target_point", "target_point_previous", "target_point_next"):
                x[k] = r[k].astype(np.float32)
        return x

    def _color(self, rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        b = rng.uniform(0.8, 1.2)
        c = rng.uniform(0.8, 1.2)
        s = rng.uniform(0.8, 1.2)
        gray = rgb.mean(axis=0, keepdims=True)
        out = gray + (rgb - gray) * s
        out = (out - out.mean()) * c + out.mean()
        return np.clip(out * b, 0.0, 255.0).astype(np.float32)

    def __getitem__(self, idx: int) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        s, _ = self.items[idx]
        rng = np.random.default_rng([self.seed, self.epoch, idx])
        perturbed = bool(self.augment and self.shards[s].get("perturbed") and rng.random() < self.perturb_p)
        r = self.raw(idx, perturbed)
        x = self._inputs(r)
        if self.augment and rng.random() < self.color_p:
            x["rgb"] = self._color(x["rgb"], rng)
        t: dict[str, Any] = {
            "future_waypoints": r["future_waypoints"].astype(np.float32),
            "route": r["route"].astype(np.float32),
            "target_speed": np.float32(r["target_speed"]),
            "brake": np.bool_(r["brake"]),
            "target_speed_class": np.int64(r["target_speed_class"]),
        }
        if "semantic" in r:
            t["semantic"] = r["semantic"].astype(np.int64)
            t["depth"] = r["depth"].astype(np.float32)
        if "bev_semantic" in r:
            t["bev_semantic"] = r["bev_semantic"].astype(np.int64)
        n = int(r["num_boxes"])
        boxes = r["boxes"][:n]
        t.update(center_net_targets(boxes, cfg))
        t["center_net_avg_factor"] = np.float32(max(n, 1))
        padded = np.zeros((cfg.boxes.max_boxes, 9), np.float32)
        padded[:n] = boxes
        t["boxes"], t["num_boxes"] = padded, np.int64(n)
        # radar detection targets: the nearest boxes, x, y, speed, valid
        q = cfg.radar.queries
        rd = np.zeros((q, 4), np.float32)
        m = min(n, q)
        rd[:m, :2], rd[:m, 2], rd[:m, 3] = boxes[:m, :2], boxes[:m, 5], 1.0
        t["radar_detections"] = rd
        if self.junction_branches:
            t["route_only"] = np.bool_(idx in self.branch_items)
            if idx in self.branch_items and "command" in x:
                self._take_branch(idx, x, t, perturbed, rng)
        out = {k: torch.as_tensor(_contiguous(v)) for k, v in x.items()}
        out.update({k: torch.as_tensor(_contiguous(v)) for k, v in t.items()})
        out["index"] = torch.tensor(idx)
        out["perturbed"] = torch.tensor(perturbed)
        return out


def _contiguous(v) -> np.ndarray:
    """np.ascontiguousarray turns 0-d into 1-d; keep scalars scalars."""
    return np.ascontiguousarray(v) if np.ndim(v) else np.asarray(v)


def split_batch(batch: dict[str, torch.Tensor], input_names: list[str]) -> tuple[dict, dict]:
    return ({k: batch[k] for k in input_names}, {k: v for k, v in batch.items() if k not in input_names})
