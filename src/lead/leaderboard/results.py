"""Result files: the Leaderboard 2.0 checkpoint JSON (written atomically after each route),
resume bookkeeping, the merge of shard results, the shard split, and LEAD's
infractions.json / metric_info.json.

The checkpoint mirrors leaderboard-2.0's StatisticsManager / Results / Checkpoint classes and
route_indexer.validate_and_resume; the merge mirrors scripts/merge_statistics.py.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lead.leaderboard.events import TrafficEvent
from lead.leaderboard.scoring import (
    ELIGIBLE_VALUES,
    LABELS,
    RouteRecord,
    check_entry_status,
    compute_global_record,
    entry_status_of,
    global_values,
    route_sort_key,
)

TOP_LEVEL_KEYS = ("_checkpoint", "entry_status", "eligible", "sensors", "values", "labels")


def write_json_atomic(path: str | os.PathLike, data: Any, *, sort_keys: bool = True) -> None:
    """Write JSON (indent 4) to a temp file in the same folder, fsync, then os.replace: a
    reader sees the old file or the new one, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=4, sort_keys=sort_keys)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class Results:
    """Content of one checkpoint file: records, progress, global record, entry status."""

    def __init__(self) -> None:
        self.records: list[RouteRecord] = []
        self.progress: list[int] = []
        self.global_record: dict[str, Any] = {}
        self.entry_status = "Started"
        self.sensors: list[str] = []
        self.values: list[str] = []
        self.labels: list[str] = []

    @property
    def eligible(self) -> bool:
        return ELIGIBLE_VALUES[self.entry_status]

    def set_entry_status(self, entry_status: str) -> None:
        self.entry_status = check_entry_status(entry_status)

    def set_progress(self, route_index: int, total_routes: int) -> None:
        self.progress = [route_index, total_routes]

    def start_route(self, route_id: str, index: int, extras: Mapping[str, Any] | None = None) -> None:
        """Create the route's record before it runs (index -1: in progress, never written), over
        a previous one at the same position when resuming, as create_route_data does."""
        record = RouteRecord(route_id=route_id, extras=dict(extras or {}))
        self._put(index, record)

    def finish_route(self, record: RouteRecord) -> None:
        """Store a finished route's record (its `index` says where)."""
        if record.index < 0:
            raise ValueError(f"record {record.route_id} has no index: a finished route needs one")
        self._put(record.index, record)

    def _put(self, index: int, record: RouteRecord) -> None:
        if index < len(self.records):
            self.records[index] = record
        elif index == len(self.records):
            self.records.append(record)
        else:
            raise ValueError(f"route index {index} of {record.route_id} is past the {len(self.records)} "
                             "records held: routes must be recorded in order")

    def finished_records(self) -> list[RouteRecord]:
        return [r for r in self.records if r.index != -1]

    def sort_records(self) -> None:
        """Order by route number then repetition and renumber `index`, as sort_records does."""
        self.records.sort(key=lambda r: route_sort_key(r.route_id))
        for i, r in enumerate(self.records):
            r.index = i

    def compute_global_statistics(self) -> None:
        """Global record, values/labels and entry status (after the last route)."""
        if len(self.progress) != 2:
            raise ValueError("progress must be set ([route_index, total_routes]) before global statistics")
        self.global_record = compute_global_record(self.records, self.progress[1])
        self.values = global_values(self.global_record)
        self.labels = list(LABELS)
        self.set_entry_status(entry_status_of(self.records))

    def validate(self, sensors_initialized: bool, crashed: bool) -> str:
        """Upstream's validate_and_write_statistics checks: returns the problem ('' if none) and
        sets entry_status 'Invalid' when there is one."""
        error = ""
        if sensors_initialized and not self.sensors:
            error = "Missing 'sensors' data"
        elif not self.values:
            error = "Missing 'values' data"
        elif self.entry_status == "Started":
            error = "'entry_status' has the 'Started' value"
        elif not self.global_record:
            error = "Missing 'global_records' data"
        elif not self.progress:
            error = "Missing 'progress' data"
        elif not crashed and (self.progress[0] != self.progress[1] or self.progress[0] != len(self.records)):
            error = "'progress' data doesn't match its expected value"
        elif any(r.status == "Started" for r in self.records):
            error = "Found a route record with missing data"
        if error:
            self.set_entry_status("Invalid")
        return error

    def to_json(self) -> dict[str, Any]:
        return {
            "_checkpoint": {
                "global_record": self.global_record,
                "progress": list(self.progress),
                "records": [r.to_json() for r in self.finished_records()],
            },
            "entry_status": self.entry_status,
            "eligible": self.eligible,
            "sensors": list(self.sensors),
            "values": list(self.values),
            "labels": list(self.labels),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], source: str = "<results>") -> Results:
        missing = [k for k in TOP_LEVEL_KEYS if k not in data]
        if missing:
            raise ValueError(f"{source}: not a leaderboard checkpoint, missing keys {missing}")
        ckpt = data["_checkpoint"]
        for k in ("global_record", "progress", "records"):
            if k not in ckpt:
                raise ValueError(f"{source}: _checkpoint lacks '{k}'")
        if ckpt["progress"] and len(ckpt["progress"]) != 2:
            raise ValueError(f"{source}: _checkpoint.progress must be [route_index, total_routes], "
                             f"got {ckpt['progress']}")
        res = cls()
        res.records = [RouteRecord.from_json(r, source) for r in ckpt["records"]]
        res.progress = list(ckpt["progress"])
        res.global_record = dict(ckpt["global_record"])
        try:
            res.set_entry_status(data["entry_status"])
        except ValueError as e:
            raise ValueError(f"{source}: {e}") from None
        res.sensors = list(data["sensors"])
        res.values = list(data["values"])
        res.labels = list(data["labels"])
        return res


def save_results(path: str | os.PathLike, results: Results) -> None:
    write_json_atomic(path, results.to_json())


def load_results(path: str | os.PathLike) -> Results | None:
    """The checkpoint at `path`, or None when there is no file."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None
    return Results.from_json(data, str(path))


@dataclass(frozen=True)
class ResumeState:
    next_index: int                # position in the planned list to run next
    finished: tuple[str, ...]      # route ids whose records are kept
    interrupted: str | None        # route that runs again (was running, or crashed the simulator)


def resume(path: str | os.PathLike, planned_route_ids: Sequence[str]) -> tuple[Results, ResumeState] | None:
    """Resume a run from its checkpoint as route_indexer.validate_and_resume does: finished
    routes are skipped, the one that was running when the run stopped is run again (its record
    was never written), and after a simulation crash the crashed route is run again too.

    Returns None when there is no checkpoint yet. Raises ValueError (naming the file) when the
    checkpoint does not belong to this route list, where upstream silently starts over."""
    results = load_results(path)
    if results is None:
        return None
    if results.entry_status == "Invalid":
        raise ValueError(f"{path}: entry_status is 'Invalid'; cannot resume from it")
    if len(results.progress) != 2:
        raise ValueError(f"{path}: no progress recorded; cannot resume from it")
    if results.progress[1] != len(planned_route_ids):
        raise ValueError(f"{path}: holds {results.progress[1]} planned routes, this run plans "
                         f"{len(planned_route_ids)}")
    resume_index = results.progress[0]
    check = 0
    while check < resume_index:
        if check >= len(results.records):
            # upstream's patch when progress ran ahead of the records
            resume_index = max(check - 1, 0)
            break
        if results.records[check].route_id != planned_route_ids[check]:
            raise ValueError(f"{path}: record {check} is {results.records[check].route_id}, this run plans "
                             f"{planned_route_ids[check]} there")
        check += 1
    if results.entry_status == "Crashed":
        next_index = max(0, resume_index - 1)
    else:
        next_index = max(0, resume_index)
    interrupted = planned_route_ids[next_index] if next_index < len(planned_route_ids) else None
    finished = tuple(r.route_id for r in results.records[:next_index])
    results.records = results.records[:next_index]
    results.set_progress(next_index, len(planned_route_ids))
    results.set_entry_status("Started")
    results.global_record, results.values, results.labels = {}, [], []
    return results, ResumeState(next_index, finished, interrupted)


def merge(files: Sequence[str | os.PathLike], expected_route_ids: Sequence[str] | None = None) -> Results:
    """Merge shard checkpoints into one, as the leaderboard's scripts/merge_statistics.py does:
    records of all files sorted by route id and re-indexed, progress [records, planned routes],
    global statistics (and validation) only when every planned route has a record.

    Differences from upstream, both stricter: a missing file is an error (upstream skips it),
    and completeness is checked against `expected_route_ids` when given instead of upstream's
    check that route numbers are consecutive (which rejects Bench2Drive's non-consecutive ids).
    """
    sensors: list[str] = []
    route_ids: list[str] = []
    total_records = 0
    total_progress = 0
    loaded: list[Results] = []
    for f in files:
        res = load_results(f)
        if res is None:
            raise FileNotFoundError(f"{f}: shard result file does not exist")
        if len(res.progress) != 2:
            raise ValueError(f"{f}: no progress recorded")
        loaded.append(res)
        route_ids.extend(r.route_id for r in res.records)
        total_records += len(res.records)
        total_progress += res.progress[1]
        if res.sensors:
            if not sensors:
                sensors = list(res.sensors)
            elif res.sensors != sensors:
                raise ValueError(f"{f}: sensor configuration {res.sensors} differs from {sensors} of the "
                                 "other files")
    global_statistics = total_progress != 0 and total_records == total_progress
    if global_statistics:
        seen: set[str] = set()
        for rid in route_ids:
            if rid in seen:
                raise ValueError(f"route {rid} has more than one record in {list(map(str, files))}")
            seen.add(rid)
        if expected_route_ids is not None and seen != set(expected_route_ids):
            missing = sorted(set(expected_route_ids) - seen, key=route_sort_key)
            extra = sorted(seen - set(expected_route_ids), key=route_sort_key)
            raise ValueError(f"merged records do not match the planned routes: missing {missing}, "
                             f"unexpected {extra}")
    merged = Results()
    for res in loaded:
        merged.records.extend(res.records)
    merged.sort_records()
    merged.sensors = sensors
    merged.set_progress(total_records, total_progress)
    merged.set_entry_status("Started")
    if global_statistics:
        merged.compute_global_statistics()
        merged.validate(sensors_initialized=True, crashed=False)
    return merged


def shard(route_ids: Sequence[str], i: int, n: int) -> list[str]:
    """Shard i of n (0-based): contiguous, near-equal parts in the given order, the first
    len % n parts one longer (Bench2Drive's tools/split_xml.py split)."""
    if n < 1 or not 0 <= i < n:
        raise ValueError(f"shard {i}/{n}: need n >= 1 and 0 <= i < n")
    k, m = divmod(len(route_ids), n)
    return list(route_ids[i * k + min(i, m):(i + 1) * k + min(i + 1, m)])


def parse_shard(text: str) -> tuple[int, int]:
    """'I/N' (0-based I) -> (I, N)."""
    try:
        i, n = (int(p) for p in text.split("/"))
    except ValueError:
        raise ValueError(f"shard {text!r} is not of the form I/N, e.g. 0/4") from None
    if n < 1 or not 0 <= i < n:
        raise ValueError(f"shard {text!r}: need N >= 1 and 0 <= I < N")
    return i, n


def infraction_entry(event: TrafficEvent, step: int, meters_travelled: float) -> dict[str, Any]:
    """One entry of LEAD's infractions.json (lead/evaluation/recorder/infraction_recorder.py):
    `infraction` is the criterion's name, `event_type` 'TrafficEventType.<NAME>'."""
    if not event.criterion:
        raise ValueError(f"{event.type.name} event at frame {event.frame} names no criterion")
    return {
        "step": step,
        "infraction": event.criterion,
        "frame": int(event.frame),
        "message": event.message,
        "event_type": str(event.type),
        "meters_travelled": round(meters_travelled, 2),
    }


def write_infractions_json(path: str | os.PathLike, entries: Sequence[Mapping[str, Any]], video_fps: float) -> None:
    write_json_atomic(path, {"infractions": list(entries), "video_fps": video_fps}, sort_keys=False)


def _forward_right(roll: float, pitch: float, yaw: float) -> tuple[list[float], list[float]]:
    """carla.Rotation.get_forward_vector / get_right_vector (degrees, CARLA frame)."""
    cr, sr = math.cos(math.radians(roll)), math.sin(math.radians(roll))
    cp, sp = math.cos(math.radians(pitch)), math.sin(math.radians(pitch))
    cy, sy = math.cos(math.radians(yaw)), math.sin(math.radians(yaw))
    return [cy * cp, sy * cp, sp], [cy * sp * sr - sy * cr, sy * sp * sr + cy * cr, -cp * sr]


def metric_frame(
    acceleration: Sequence[float],
    angular_velocity: Sequence[float],
    location: Sequence[float],
    rotation: Sequence[float],
) -> dict[str, list[float]]:
    """One frame of Bench2Drive's metric_info.json, as its agents' get_metric_info writes it.

    All in CARLA's frame as the carla.Actor getters return them: acceleration m/s²,
    angular_velocity in deg/s (Bench2Drive's comfort bounds treat it as rad/s; keep CARLA's
    unit so numbers compare), location m, rotation [roll, pitch, yaw] degrees."""
    for name, v in (("acceleration", acceleration), ("angular_velocity", angular_velocity),
                    ("location", location), ("rotation", rotation)):
        if len(v) != 3:
            raise ValueError(f"metric_info {name} needs 3 values, got {list(v)}")
    forward, right = _forward_right(*rotation)
    return {
        "acceleration": [float(a) for a in acceleration],
        "angular_velocity": [float(a) for a in angular_velocity],
        "forward_vector": forward,
        "right_vector": right,
        "location": [float(a) for a in location],
        "rotation": [float(a) for a in rotation],
    }


def write_metric_info(path: str | os.PathLike, frames: Mapping[int, Mapping[str, Sequence[float]]]) -> None:
    """metric_info.json: {step: frame} in step order, indent 4, as Bench2Drive agents write it."""
    write_json_atomic(path, {k: dict(frames[k]) for k in sorted(frames, key=int)}, sort_keys=False)
