"""`lead data cache BAGS_DIR --out CACHE`: expert bags -> training samples (LEAD's data cache).

Format (why): one shard per bag (= per route), a directory of plain `.npy` files, one per field,
each stacked over the shard's frames, plus `meta.json`; `CACHE/index.json` lists the shards.
- memory-mappable: `np.load(mmap_mode="r")` reads a sample without loading the shard, so
  DataLoader workers share the page cache and start instantly; no extra dependency (no HDF5,
  no LMDB), readable from any numpy;
- compact types: RGB uint8, LiDAR histogram as uint8 counts, classes int8, depth float16, so a
  tfv6_small sample is ~0.5 MB and the conversion back to the model's float32 is exact;
- one shard per route: train/val split by route is a split of shards, and a changed or new bag
  rebuilds only its shard.
Rebuild rule: a shard's hash is sha256 of (bag name, size, mtime, the feature config: camera,
LiDAR, BEV, radar, perspective and planning sizes, the rig file, CACHE_VERSION); a shard whose
hash matches is kept, others are rebuilt; `--force` rebuilds all. The cache's data hash (in the
index and in every checkpoint) is the hash of its shard hashes.

A sample is a frame the expert saved (every SAVE_EVERY ticks: the ticks with camera images)
whose 2 s of future odometry is in the bag; a truncated bag keeps its complete frames and a
warning names it. Inputs come from lead.model.inputs (the policy's preprocessing); the
perturbated views, when recorded, are a second set of view-dependent fields `perturbed.<name>`.
Junction branches (lead.training.branches, for `lead train --junction-branches`) are stored in
the nominal ego frame as `branch.route`, `branch.target_point`, `branch.target_point_next` and
`branch.command` (two rows per frame, command 0 = no branch); caches built before them have no
such fields (rebuild with `--force`).
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from lead.io.data_table import LABELS_TOPIC, METADATA_NAME, ROUTE_TOPIC, SAVE_EVERY, TICK_HZ
from lead.model.config import ModelConfig, load_config

log = logging.getLogger("lead.training.cache")
CACHE_VERSION = 1
INDEX = "index.json"
TICK_NS = int(round(1e9 / TICK_HZ))
# fields that depend on the view (nominal or perturbated)
VIEW_FIELDS = ("rgb", "rasterized_lidar", "radar", "target_point", "target_point_previous", "target_point_next",
               "future_waypoints", "route", "boxes", "num_boxes", "bev_semantic", "semantic", "depth")


class CacheError(RuntimeError):
    pass


# ----------------------------------------------------------------------------- hashing

def feature_config(cfg: ModelConfig) -> dict[str, Any]:
    d = cfg.to_dict()
    keep = {k: d[k] for k in ("camera", "lidar", "bev", "radar", "ego")}
    keep["ego"] = {k: v for k, v in keep["ego"].items() if k != "speed_input"}  # wiring, not a feature
    keep["perspective_downsample"] = cfg.perspective.downsample_factor
    keep["planning"] = {k: d["planning"][k] for k in ("num_waypoints", "num_route_points", "target_speeds")}
    keep["max_boxes"] = cfg.boxes.max_boxes
    keep["version"] = CACHE_VERSION
    return keep


def shard_hash(bag: Path, cfg: ModelConfig, rig_text: str) -> str:
    st = bag.stat()
    h = hashlib.sha256()
    h.update(json.dumps({"bag": bag.name, "size": st.st_size, "mtime_ns": st.st_mtime_ns,
                         "features": feature_config(cfg)}, sort_keys=True).encode())
    h.update(rig_text.encode())
    return h.hexdigest()


def data_hash(shard_hashes: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(shard_hashes)).encode()).hexdigest()


# ----------------------------------------------------------------------------- one bag

REORDER_NS = 2_000_000_000   # a message may reach the recorder up to this much sim time after its tick's first


def _ticks(reader):
    """(latched messages seen so far, one tick's {topic: msg}) in stamp order; latched topics
    (route, world info) are delivered in the first element as they appear. The recorder
    writes in arrival order, so a slow topic's message of tick t can follow messages of
    t+1: ticks are gathered by log time and handed out once the bag is REORDER_NS past them."""
    pending: dict[int, dict] = {}
    latest = -1
    for m in reader.messages():
        if m.topic in (ROUTE_TOPIC, "/carla/world_info", "/tf_static"):
            yield m.topic, m.msg
            continue
        pending.setdefault(m.log_time_ns, {})[m.topic] = m.msg
        if m.log_time_ns > latest:
            latest = m.log_time_ns
            for t in sorted(k for k in pending if k < latest - REORDER_NS):
                yield None, pending.pop(t)
    for t in sorted(pending):
        yield None, pending.pop(t)


def _pose_of(msg) -> tuple[float, float, float]:
    from lead.sim import decode

    p = decode.odometry(msg)[0]
    return (p[0], p[1], math.radians(p[5]))


def _pts(points) -> np.ndarray:
    """geometry_msgs/Point[] (REP-103) -> (N, 2) CARLA ego frame."""
    return np.array([[p.x, -p.y] for p in points], np.float32).reshape(-1, 2)


def build_shard(bag: Path, out_dir: Path, cfg: ModelConfig, rig_name: str = "lead",
                progress: bool = False) -> dict[str, Any]:
    """Convert one expert bag into a shard directory; returns the shard's meta record."""
    from lead.io.bag import BagReader
    from lead.model.inputs import FrameAssembler, InputError, build_inputs
    from lead.sim import decode
    from lead.sim.rig import load_rig
    from lead.training import labels as L
    from lead.training.branches import frame_branch_fields

    reader = BagReader(bag)
    meta = reader.metadata().get(METADATA_NAME, {})
    rig = load_rig(meta.get("rig", rig_name))
    role = rig.role_name
    # perturbated views are only usable when the bag says how they were shifted
    has_perturbation = "perturbation_shift_m" in meta and "perturbation_yaw_deg" in meta
    if not has_perturbation:
        log.warning("%s: metadata '%s' has no perturbation_shift_m/perturbation_yaw_deg: perturbated views "
                    "are not cached", bag, METADATA_NAME)
    try:
        perturbation = (float(meta.get("perturbation_shift_m", 0.0)), float(meta.get("perturbation_yaw_deg", 0.0)))
    except ValueError:
        raise CacheError(f"{bag}: metadata '{METADATA_NAME}' has a bad perturbation "
                         f"({meta.get('perturbation_shift_m')!r}, {meta.get('perturbation_yaw_deg')!r})") from None
    asm = FrameAssembler(rig, cfg.lidar.steps)
    poses: dict[int, tuple[float, float, float]] = {}
    pending: list[dict[str, Any]] = []
    raster = None
    map_ = None
    route_id = meta.get("route_id", bag.stem)
    sem_ids = [s.id for s in rig.by_type("sensor.camera.semantic_segmentation", collect=True)]
    depth_ids = [s.id for s in rig.by_type("sensor.camera.depth", collect=True)]
    n_cams = cfg.camera.count
    bar = None
    if progress:
        try:
            from tqdm import tqdm
            bar = tqdm(desc=bag.name, unit="tick", leave=False)
        except ImportError:
            pass
    for latched, tick in _ticks(reader):
        if latched == ROUTE_TOPIC:
            asm.set_route(tick)
            route_id = tick.route_id or route_id
            continue
        if latched == "/carla/world_info":
            from lead.world.map import Map

            map_ = Map.from_string(tick.opendrive, tick.map_name or "map")
            continue
        if latched is not None:
            continue
        if bar is not None:
            bar.update(1)
        odom = tick.get("/carla/ego_vehicle/odometry")
        stamp = max((decode.stamp_ns(m) for m in tick.values() if hasattr(m, "header")), default=0)
        if odom is not None:
            poses[stamp] = _pose_of(odom)
        frame = asm.add_tick(tick)
        if frame is None:
            continue
        lab = tick.get(LABELS_TOPIC)
        objects = tick.get("/carla/objects")
        if lab is None or objects is None or odom is None:
            log.debug("%s: tick %.2f s has cameras but no labels/objects/odometry: skipped", bag, stamp / 1e9)
            continue
        try:
            views = [("", build_inputs(frame, cfg, rig), frame)]
        except InputError as e:
            log.warning("%s: frame at %.2f s skipped: %s", bag, stamp / 1e9, e)
            continue
        pframe = asm.frame(tick, perturbed=True, perturbation=perturbation) if has_perturbation else None
        if pframe is not None and all(s in pframe.cameras for s in [c.id for c in rig.by_type("sensor.camera.rgb")][:n_cams]):
            try:
                views.append(("perturbed.", build_inputs(pframe, cfg, rig), pframe))
            except InputError:
                pass
        if raster is None and map_ is not None:
            p = poses[stamp]
            raster = L.MapRaster(map_, cfg, (p[0], p[1]), 600.0)
        ego = poses[stamp]
        actors = decode.objects(objects)
        rec: dict[str, Any] = {"stamp_ns": stamp, "ego_pose": np.array(ego, np.float64),
                               "speed": np.float32(frame.speed), "target_speed": np.float32(lab.target_speed),
                               "target_speed_class": np.int64(lab.target_speed_class), "brake": np.bool_(lab.brake),
                               "brake_reason": np.int64(lab.brake_reason), "command": np.int64(lab.command)}
        rec["command_onehot"] = views[0][1]["command"] if "command" in views[0][1] else np.zeros(6, np.float32)
        route_ego = _pts(lab.route_checkpoints)[:cfg.planning.num_route_points]
        if len(route_ego) < cfg.planning.num_route_points:
            pad = np.repeat(route_ego[-1:] if len(route_ego) else np.zeros((1, 2), np.float32),
                            cfg.planning.num_route_points - len(route_ego), axis=0)
            route_ego = np.concatenate([route_ego, pad])
        if map_ is not None and "command" in views[0][1]:
            rec.update(frame_branch_fields(map_, ego, route_ego, views[0][1], cfg.planning.num_route_points))
        for prefix, x, fr in views:
            pert = fr.perturbation
            view = L.perturbed_view(ego, pert) if prefix else ego
            for k, v in x.items():
                if k in ("speed", "command"):
                    continue
                if k == "rgb":
                    v = v.astype(np.uint8)
                elif k == "rasterized_lidar":
                    v = np.round(v * cfg.lidar.hist_max_per_pixel).astype(np.uint8)
                rec[prefix + k] = v
            from lead.model.inputs import perturb_points

            rec[prefix + "route"] = perturb_points(route_ego, pert).astype(np.float32)
            boxes = L.boxes_from_objects(actors, view, cfg, ego[:2])
            padded = np.zeros((cfg.boxes.max_boxes, 9), np.float32)
            padded[:len(boxes)] = boxes
            rec[prefix + "boxes"], rec[prefix + "num_boxes"] = padded, np.int64(len(boxes))
            if raster is not None:
                rec[prefix + "bev_semantic"] = L.bev_semantic(raster, view, boxes, L.box_bev_classes(boxes), cfg)
            sfx = "_perturbated" if prefix else ""
            sem_msgs = [tick.get(f"/carla/{role}/{sid}{sfx}/image") for sid in sem_ids[:n_cams]]
            dep_msgs = [tick.get(f"/carla/{role}/{sid}{sfx}/image") for sid in depth_ids[:n_cams]]
            if all(m is not None for m in sem_msgs + dep_msgs) and len(sem_msgs) == n_cams:
                sem, dep = L.perspective_labels([decode.semantic_ids(m) for m in sem_msgs],
                                                [decode.image(m) for m in dep_msgs], cfg)
                rec[prefix + "semantic"], rec[prefix + "depth"] = sem, dep
            rec[prefix + "view_pose"] = np.array(view, np.float64)
        pending.append(rec)
    if bar is not None:
        bar.close()

    # future waypoints from odometry (LEAD: the ego's own future positions, 4 Hz for 2 s)
    n_wp = cfg.planning.num_waypoints
    samples = []
    for rec in pending:
        fut = [poses.get(rec["stamp_ns"] + (i + 1) * SAVE_EVERY * TICK_NS) for i in range(n_wp)]
        if any(f is None for f in fut):
            continue
        world = np.array([f[:2] for f in fut])
        for prefix in ("", "perturbed."):
            if prefix + "view_pose" in rec:
                rec[prefix + "future_waypoints"] = L.view_transform(world, tuple(rec[prefix + "view_pose"])).astype(np.float32)
        samples.append(rec)
    if reader.truncated:
        log.warning("%s: bag is truncated: kept its %d complete frames", bag, len(samples))
    if not samples:
        raise CacheError(f"{bag}: no complete frame (needs camera images, labels on {LABELS_TOPIC}, "
                         f"/carla/objects and {n_wp * SAVE_EVERY / TICK_HZ:g} s of future odometry)")
    # a nominal-view label missing in a few frames (an image the recorder lost) drops those
    # frames; a field missing in most frames (a view not recorded) is dropped for the shard
    nominal = {k for s in samples for k in s if not k.startswith("perturbed.")}
    complete = [s for s in samples if nominal <= s.keys()]
    if len(complete) >= 0.9 * len(samples):
        if len(complete) < len(samples):
            log.warning("%s: %d of %d frames miss a label (%s): dropped", bag, len(samples) - len(complete),
                        len(samples), ", ".join(sorted(nominal - min((s.keys() for s in samples), key=len))))
        samples = complete
    keys = [k for k in samples[0] if all(k in s for s in samples)]
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    fields = {}
    for k in keys:
        arr = np.stack([np.asarray(s[k]) for s in samples])
        np.save(tmp / f"{k}.npy", arr)
        fields[k] = {"shape": list(arr.shape[1:]), "dtype": str(arr.dtype)}
    record = {"bag": str(bag), "route_id": route_id, "frames": len(samples), "truncated": reader.truncated,
              "perturbed": any(k.startswith("perturbed.") for k in keys), "fields": fields,
              "perturbation": list(perturbation)}
    (tmp / "meta.json").write_text(json.dumps(record, indent=1))
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(tmp, out_dir)
    return record


# ----------------------------------------------------------------------------- the cache

def _build_one(job):
    bag, out_dir, cfg_path, rig_name, h = job
    cfg = load_config(cfg_path)
    logging.basicConfig(level=logging.WARNING)
    t0 = time.time()
    try:
        rec = build_shard(Path(bag), Path(out_dir), cfg, rig_name)
    except Exception as e:  # one broken bag must not stop the others: reported by name
        return {"bag": str(bag), "error": f"{type(e).__name__}: {e}"}
    rec["hash"] = h
    rec["seconds"] = time.time() - t0
    meta = Path(out_dir) / "meta.json"
    meta.write_text(json.dumps(rec, indent=1))
    return rec


def build_cache(bags_dir: str | Path, out: str | Path, config: str | Path = "tfv6_small", workers: int = 1,
                force: bool = False, rig: str = "lead", progress: bool = True) -> dict[str, Any]:
    """Build or update the cache; returns the index (also written to CACHE/index.json)."""
    from lead.sim.rig import resolve_rig_path

    bags_dir, out = Path(bags_dir), Path(out)
    if bags_dir.is_file():
        bags = [bags_dir]
    elif bags_dir.is_dir():
        bags = sorted(bags_dir.rglob("*.mcap"))
    else:
        raise CacheError(f"{bags_dir}: no such bag file or directory")
    if not bags:
        raise CacheError(f"{bags_dir}: no .mcap bags in it")
    cfg = load_config(config)
    rig_text = resolve_rig_path(rig).read_text()
    out.mkdir(parents=True, exist_ok=True)
    shards_dir = out / "shards"
    shards_dir.mkdir(exist_ok=True)
    jobs, kept = [], []
    for bag in bags:
        h = shard_hash(bag, cfg, rig_text)
        name = f"{bag.stem}-{hashlib.sha1(str(bag.resolve()).encode()).hexdigest()[:8]}"
        d = shards_dir / name
        meta = d / "meta.json"
        if not force and meta.is_file():
            try:
                rec = json.loads(meta.read_text())
                if rec.get("hash") == h:
                    rec["dir"] = f"shards/{name}"
                    kept.append(rec)
                    continue
            except json.JSONDecodeError:
                pass
        jobs.append((str(bag), str(d), str(config), rig, h))
    built, errors = [], []
    if jobs:
        it: Any
        if workers > 1 and len(jobs) > 1:
            import multiprocessing as mp

            pool = mp.get_context("spawn").Pool(min(workers, len(jobs)))
            it = pool.imap_unordered(_build_one, jobs)
        else:
            pool, it = None, map(_build_one, jobs)
        bar = None
        if progress:
            try:
                from tqdm import tqdm
                bar = tqdm(total=len(jobs), desc="caching bags", unit="bag")
            except ImportError:
                pass
        for rec in it:
            if "error" in rec:
                log.error("%s: %s", rec["bag"], rec["error"])
                errors.append(rec)
            else:
                rec["dir"] = f"shards/{Path(rec['bag']).stem}-{hashlib.sha1(str(Path(rec['bag']).resolve()).encode()).hexdigest()[:8]}"
                built.append(rec)
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
        if pool is not None:
            pool.close()
            pool.join()
    shards = sorted(kept + built, key=lambda r: r["dir"])
    live = {r["dir"] for r in shards}
    for d in shards_dir.iterdir():  # shards of bags no longer there
        if f"shards/{d.name}" not in live:
            shutil.rmtree(d, ignore_errors=True)
    index = {"version": CACHE_VERSION, "config": cfg.name, "features": feature_config(cfg),
             "hash": data_hash([r["hash"] for r in shards]), "frames": sum(r["frames"] for r in shards),
             "shards": [{k: r[k] for k in ("dir", "bag", "route_id", "frames", "truncated", "perturbed", "hash")}
                        for r in shards],
             "built": len(built), "kept": len(kept), "errors": errors}
    tmp = out / (INDEX + ".tmp")
    tmp.write_text(json.dumps(index, indent=1))
    os.replace(tmp, out / INDEX)
    return index


def load_index(cache: str | Path) -> dict[str, Any]:
    p = Path(cache) / INDEX
    if not p.is_file():
        raise CacheError(f"{cache}: not a dataset cache (no {INDEX}); build it with `lead data cache BAGS --out {cache}`")
    return json.loads(p.read_text())


def cache_main(args) -> int:
    """Handler of `lead data cache BAGS_DIR --out CACHE [--config] [--workers] [--force] [--json]`."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        index = build_cache(args.bags_dir, args.out, getattr(args, "config", None) or "tfv6_small",
                            int(getattr(args, "workers", 1) or 1), bool(getattr(args, "force", False)),
                            getattr(args, "rig", None) or "lead")
    except (CacheError, FileNotFoundError, ValueError) as e:
        print(f"lead data cache: {e}")
        return 2
    summary = {"cache": str(args.out), "hash": index["hash"], "frames": index["frames"],
               "shards": len(index["shards"]), "built": index["built"], "kept": index["kept"],
               "errors": [e["bag"] for e in index["errors"]]}
    print(f"{summary['frames']} frames in {summary['shards']} shards ({index['built']} built, {index['kept']} "
          f"unchanged) -> {args.out}, data hash {index['hash'][:12]}")
    if getattr(args, "json", False):
        print(json.dumps(summary))
    return 1 if index["errors"] else 0
