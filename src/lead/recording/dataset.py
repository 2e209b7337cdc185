"""Dataset tools over a folder of expert bags: what is in it (info) and whether it is whole (check).

A bag's facts come from its "lead" metadata record (the recorder writes it at the start and
again, with the result, at the end of the route); what the metadata does not say (a bag
whose recorder was killed) is counted from the messages: saved frames on the first camera
image topic, ticks on /clock, distance from the ego odometry.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lead.io import data_table as DT
from lead.io.bag import BagReader
from lead.io.mcap_scan import McapFormatError

ODOM_TOPIC = "/carla/ego_vehicle/odometry"


def find_bags(root: str | Path) -> list[Path]:
    """*.mcap under `root` (a folder, searched recursively, or one bag), sorted."""
    root = Path(root)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such folder or bag")
    return sorted(root.rglob("*.mcap"))


@dataclass
class BagCheck:
    path: str
    status: str            # ok | truncated | corrupt
    messages: int          # readable messages
    last_stamp_ns: int | None
    error: str = ""


def check_bag(path: str | Path) -> BagCheck:
    """Read every message (decompressing every chunk): 'ok' when the file is finished and
    whole, 'truncated' when its writer died (the readable prefix is counted), 'corrupt' when
    it is not MCAP or a record inside it is damaged."""
    path = Path(path)
    n, last = 0, None
    try:
        reader = BagReader(path)
        for m in reader.messages(raw=True):
            n += 1
            last = m.log_time_ns if last is None else max(last, m.log_time_ns)
        if reader.truncated:
            return BagCheck(str(path), "truncated", n, last,
                            "no summary/footer: the writer did not finish the file")
        return BagCheck(str(path), "ok", n, last)
    except (McapFormatError, ValueError, OSError, EOFError) as e:
        return BagCheck(str(path), "corrupt", n, last, str(e))


@dataclass
class BagInfo:
    path: str
    route_id: str
    map: str
    status: str
    frames: int
    ticks: int
    duration_s: float
    distance_m: float
    size_mb: float
    scenarios: list[str] = field(default_factory=list)
    infractions: dict[str, int] = field(default_factory=dict)
    driving_score: float | None = None
    truncated: bool = False
    missing: dict[str, int] = field(default_factory=dict)  # per topic, messages the recorder did not get

    @property
    def mb_per_frame(self) -> float:
        return self.size_mb / self.frames if self.frames else 0.0


def bag_info(path: str | Path) -> BagInfo:
    path = Path(path)
    reader = BagReader(path)
    meta = reader.metadata().get(DT.METADATA_NAME, {})
    size_mb = path.stat().st_size / 1e6
    finished = "ticks" in meta and not reader.truncated
    if finished:
        frames, ticks = int(meta["frames"]), int(meta["ticks"])
        duration, distance = float(meta.get("duration_s", 0)), float(meta.get("distance_m", 0))
    else:  # count from the messages
        frames, ticks, duration, distance = _count(reader, meta)
    try:
        infractions = json.loads(meta.get("infractions", "{}"))
    except json.JSONDecodeError:
        infractions = {}
    try:
        missing = {k: int(v) for k, v in json.loads(meta.get("missing", "{}")).items()}
    except (json.JSONDecodeError, AttributeError, TypeError, ValueError):
        missing = {}
    ds = meta.get("driving_score")
    return BagInfo(str(path), meta.get("route_id", path.stem), meta.get("map", ""),
                   meta.get("status", "") or ("Truncated" if reader.truncated else ""), frames, ticks,
                   duration, distance, size_mb, [s for s in meta.get("scenarios", "").split(",") if s],
                   infractions, float(ds) if ds else None, reader.truncated, missing)


def _count(reader: BagReader, meta: dict) -> tuple[int, int, float, float]:
    summary = reader.summary()
    cams = sorted(t for t in summary.topics if t.endswith("/image") and DT.PERTURBED_SUFFIX not in t)
    frames = min(summary.topics[t].count for t in cams) if cams else 0  # frames whose every camera is there
    ticks = summary.topics["/clock"].count if "/clock" in summary.topics else 0
    dt = float(meta.get("dt", 1.0 / DT.TICK_HZ))
    distance, last = 0.0, None
    if ODOM_TOPIC in summary.topics:
        for m in reader.messages([ODOM_TOPIC]):
            p = m.msg.pose.pose.position
            if last is not None and math.hypot(p.x - last[0], p.y - last[1]) < 50.0:
                distance += math.hypot(p.x - last[0], p.y - last[1])
            last = (p.x, p.y)
    return frames, ticks, ticks * dt, distance


def dataset_info(root: str | Path) -> dict:
    """Per-bag facts and totals (frames, hours, km, per-scenario counts, infractions, statuses)."""
    bags = [bag_info(p) for p in find_bags(root)]
    scenarios: dict[str, int] = {}
    infractions: dict[str, int] = {}
    statuses: dict[str, int] = {}
    for b in bags:
        for s in b.scenarios:
            scenarios[s] = scenarios.get(s, 0) + 1
        for k, v in b.infractions.items():
            infractions[k] = infractions.get(k, 0) + int(v)
        statuses[b.status or "unknown"] = statuses.get(b.status or "unknown", 0) + 1
    frames = sum(b.frames for b in bags)
    size = sum(b.size_mb for b in bags)
    totals = {"bags": len(bags), "frames": frames, "ticks": sum(b.ticks for b in bags),
              "hours": round(sum(b.duration_s for b in bags) / 3600.0, 5),
              "km": round(sum(b.distance_m for b in bags) / 1000.0, 4), "size_mb": round(size, 3),
              "mb_per_frame": round(size / frames, 4) if frames else 0.0,
              "truncated": sum(b.truncated for b in bags), "incomplete": sum(bool(b.missing) for b in bags),
              "scenarios": scenarios, "infractions": infractions,
              "statuses": statuses}
    rows = [{**asdict(b), "size_mb": round(b.size_mb, 3), "mb_per_frame": round(b.mb_per_frame, 4)} for b in bags]
    return {"root": str(root), "totals": totals, "bags": rows}


def format_table(info: dict) -> str:
    """The per-bag table `lead collect` and `lead data info` print."""
    lines = [f"{'bag':34s} {'status':22s} {'frames':>6s} {'dur s':>7s} {'km':>6s} {'MB':>8s} {'MB/frame':>8s}"]
    for b in info["bags"]:
        lines.append(f"{Path(b['path']).name[:34]:34s} {b['status'][:22]:22s} {b['frames']:6d} "
                     f"{b['duration_s']:7.1f} {b['distance_m'] / 1000:6.3f} {b['size_mb']:8.2f} "
                     f"{b['mb_per_frame']:8.3f}")
    t = info["totals"]
    lines.append(f"{'total: ' + str(t['bags']) + ' bags':57s} {t['frames']:6d} {t['hours'] * 3600:7.1f} "
                 f"{t['km']:6.3f} {t['size_mb']:8.2f} {t['mb_per_frame']:8.3f}")
    return "\n".join(lines)
