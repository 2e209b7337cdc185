"""What the infraction dashboard shows, read from a results folder of `lead eval`:
checkpoint_endpoint.json (records: status, DS/RC/IS, infraction texts), per route
infractions.json (step, frame, type) and metric_info.json (the ego's trajectory, where
each infraction happened), and videos (`lead view` / the video node: *.mp4 with a sidecar
*.json naming route_id and start_s). Town and scenario come from the record (Bench2Drive
rules write town_name/scenario_name) or from the route file given with --routes.
"""
from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

_RECORD = re.compile(r"^RouteScenario_(?P<id>.+?)_rep(?P<rep>\d+)$")
_EVENT = re.compile(r"TrafficEventType\.(\w+)")
MAX_TRACK_POINTS = 600


class ResultsError(ValueError):
    pass


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ResultsError(f"{path}: not valid JSON ({e})") from None


def route_info(routes_file: str | Path | None) -> dict[str, dict[str, str]]:
    """route id -> {town, scenario (first scenario's type, '' if none)} from a route XML."""
    if not routes_file:
        return {}
    from lead.world.routes import read_routes

    return {r.id: {"town": r.town, "scenario": r.scenarios[0].type if r.scenarios else ""}
            for r in read_routes(routes_file)}


def find_videos(root: Path) -> dict[str, dict[str, Any]]:
    """route record id -> {path (relative to root), start_s, fps} for each video found."""
    out: dict[str, dict[str, Any]] = {}
    for mp4 in sorted(root.rglob("*.mp4")):
        side = mp4.with_suffix(".json")
        meta: dict[str, Any] = {}
        if side.is_file():
            try:
                meta = json.loads(side.read_text())
            except (json.JSONDecodeError, OSError):
                meta = {}
        rid = meta.get("route_id") or ""
        if not rid:  # no sidecar: a video named after its route, or inside the route's folder
            m = re.search(r"RouteScenario_[^/]+?_rep\d+", str(mp4.relative_to(root)))
            rid = m.group(0) if m else ""
        if rid and rid not in out:
            out[rid] = {"path": mp4.relative_to(root).as_posix(), "start_s": float(meta.get("start_s", 0.0)),
                        "fps": float(meta.get("fps", 20.0))}
    return out


def _track(metric: dict) -> tuple[dict[int, tuple[float, float]], list[list[float]]]:
    frames = {}
    for k, v in metric.items():
        try:
            frames[int(k)] = (float(v["location"][0]), float(v["location"][1]))
        except (KeyError, ValueError, TypeError, IndexError):
            continue
    keys = sorted(frames)
    step = max(1, len(keys) // MAX_TRACK_POINTS)
    track = [list(frames[k]) for k in keys[::step]]
    if keys and (len(keys) - 1) % step:
        track.append(list(frames[keys[-1]]))
    return frames, track


def _position(entry: dict, frames: dict[int, tuple[float, float]]) -> list[float] | None:
    f = entry.get("frame")
    if isinstance(f, int) and frames:
        if f in frames:
            return list(frames[f])
        near = min(frames, key=lambda k: abs(k - f))  # metric frames can skip a tick
        return list(frames[near])
    m = re.search(r"x=(-?[\d.]+), y=(-?[\d.]+)", entry.get("message", ""))
    return [float(m.group(1)), float(m.group(2))] if m else None


def load_results(root: str | Path, routes_file: str | Path | None = None) -> dict[str, Any]:
    """Everything the dashboard needs, as one JSON-able dict."""
    root = Path(root)
    ck_path = root / "checkpoint_endpoint.json"
    if not ck_path.is_file():
        raise ResultsError(f"{root}: no checkpoint_endpoint.json (is this the --out folder of `lead eval`?)")
    ck = _read_json(ck_path)
    try:
        records = ck["_checkpoint"]["records"]
    except (KeyError, TypeError):
        raise ResultsError(f"{ck_path}: no _checkpoint.records") from None
    info = route_info(routes_file)
    videos = find_videos(root)
    routes = []
    for rec in records:
        rid = rec.get("route_id", "")
        m = _RECORD.match(rid)
        xml = info.get(m.group("id"), {}) if m else {}
        scores = rec.get("scores", {})
        meta = rec.get("meta", {})
        d = root / rid
        entries, fps = [], 20.0
        if (d / "infractions.json").is_file():
            inf = _read_json(d / "infractions.json")
            entries, fps = inf.get("infractions", []), float(inf.get("video_fps", 20.0) or 20.0)
        frames, track = ({}, [])
        if (d / "metric_info.json").is_file():
            frames, track = _track(_read_json(d / "metric_info.json"))
        video = videos.get(rid)
        infractions = []
        for i, e in enumerate(entries):
            ev = _EVENT.search(e.get("event_type", ""))
            t = float(e.get("step", 0)) / fps
            infractions.append({
                "index": i, "type": ev.group(1) if ev else e.get("event_type", ""),
                "criterion": e.get("infraction", ""), "message": e.get("message", ""),
                "frame": e.get("frame"), "time_s": round(t, 3), "position": _position(e, frames),
                "video_time": None if video is None else round(max(0.0, t - video["start_s"]), 3),
            })
        routes.append({
            "route_id": rid, "index": rec.get("index"), "status": rec.get("status", ""),
            "DS": float(scores.get("score_composed", 0.0)), "RC": float(scores.get("score_route", 0.0)),
            "IS": float(scores.get("score_penalty", 0.0)),
            "town": rec.get("town_name") or xml.get("town", ""),
            "scenario": rec.get("scenario_name") and _scenario_type(rec["scenario_name"]) or xml.get("scenario", ""),
            "length_m": float(meta.get("route_length", 0.0) or 0.0),
            "duration_game": float(meta.get("duration_game", 0.0) or 0.0),
            "num_infractions": int(rec.get("num_infractions", len(infractions))),
            "infractions": infractions, "track": track,
            "video": None if video is None else {"url": "/files/" + video["path"], "start_s": video["start_s"]},
        })
    return {"results_dir": str(root), "entry_status": ck.get("entry_status", ""), "routes": routes,
            "charts": charts(routes)}


def _scenario_type(name: str) -> str:
    """'NonSignalizedJunctionRightTurn_1' -> 'NonSignalizedJunctionRightTurn'."""
    return re.sub(r"_\d+$", "", name)


def charts(routes: list[dict]) -> dict[str, dict[str, float]]:
    """Mean DS per scenario type, and infractions per driven km per infraction type."""
    ds: dict[str, list[float]] = defaultdict(list)
    for r in routes:
        ds[r["scenario"] or "(none)"].append(r["DS"])
    km = sum(r["length_m"] * r["RC"] / 100.0 for r in routes) / 1000.0
    counts: dict[str, int] = defaultdict(int)
    for r in routes:
        for i in r["infractions"]:
            counts[i["type"]] += 1
    per_km = {k: round(v / km, 3) if km > 0 else 0.0 for k, v in sorted(counts.items())}
    return {"ds_per_scenario": {k: round(sum(v) / len(v), 3) for k, v in sorted(ds.items())},
            "infractions_per_km": per_km, "km_driven": round(km, 3)}
