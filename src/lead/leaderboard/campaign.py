"""A leaderboard run over a route file: which routes (ids, repetitions, shard), where the
results go, resume, and one RouteRun per route (interpolation, criteria, files).

Pure library: the route-manager node feeds it the world's ticks; tests feed it directly.
Output layout under `out`:
  checkpoint_endpoint.json          Leaderboard 2.0 results (written atomically after each route)
  <RouteScenario_<id>_rep<k>>/      per route: infractions.json, metric_info.json (Bench2Drive's save_name)
"""
from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lead.leaderboard.evaluator import RouteEvaluator, StepResult
from lead.leaderboard.events import TrafficEvent
from lead.leaderboard.geometry import Pose
from lead.leaderboard.results import (
    Results,
    infraction_entry,
    metric_frame,
    resume,
    save_results,
    shard,
    write_infractions_json,
    write_metric_info,
)
from lead.leaderboard.rules import OFFICIAL, Rules
from lead.leaderboard.scoring import RouteRecord, route_record_id
from lead.leaderboard.snapshot import StopSign, Tick, TrafficLight, WaypointLanes, traffic_light_stop_lanes
from lead.world.gps import downsample_route
from lead.world.routes import RouteConfig, read_routes, select_routes

log = logging.getLogger("lead.leaderboard")

CHECKPOINT = "checkpoint_endpoint.json"
PLAN_SAMPLE_FACTOR = 200.0  # metres; Leaderboard 2.0 agents' set_global_plan downsampling


@dataclass(frozen=True)
class RouteJob:
    route: RouteConfig
    repetition: int
    index: int

    @property
    def record_id(self) -> str:
        return route_record_id(self.route.id, self.repetition)


def plan_jobs(routes_file: str | Path, route_ids: str = "", repetitions: int = 1,
              shard_spec: tuple[int, int] | None = None) -> list[RouteJob]:
    """Routes of the file (all, or the selection "3,5-9"), each repeated, optionally one shard I/N."""
    routes = select_routes(read_routes(routes_file), route_ids)
    if shard_spec is not None:
        keep = set(shard([r.id for r in routes], *shard_spec))
        routes = [r for r in routes if r.id in keep]
    jobs = []
    for r in routes:
        for rep in range(repetitions):
            jobs.append(RouteJob(r, rep, len(jobs)))
    return jobs


class Campaign:
    """Results of a list of jobs in `out`, resumable: finished routes are skipped, an
    interrupted one is run again; a record is written only once its route has finished."""

    def __init__(self, jobs: Sequence[RouteJob], out: str | Path, resume_run: bool = False):
        self.jobs = list(jobs)
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.path = self.out / CHECKPOINT
        ids = [j.record_id for j in self.jobs]
        state = resume(self.path, ids) if resume_run else None
        if state is None:
            self.results = Results()
            self.done: set[str] = set()
        else:
            self.results, rs = state
            self.done = set(rs.finished)
            if rs.interrupted:
                log.info("resuming: %s was interrupted and runs again", rs.interrupted)
        self.results.set_progress(len(self.done), len(self.jobs))

    def pending(self) -> list[RouteJob]:
        return [j for j in self.jobs if j.record_id not in self.done]

    def route_dir(self, job: RouteJob) -> Path:
        d = self.out / job.record_id
        d.mkdir(parents=True, exist_ok=True)
        return d

    def start(self, job: RouteJob, extras: dict[str, Any] | None = None) -> None:
        self.results.start_route(job.record_id, job.index, extras)

    def finish(self, job: RouteJob, record: RouteRecord) -> None:
        self.results.finish_route(record)
        self.done.add(job.record_id)
        self.results.set_progress(len(self.done), len(self.jobs))
        if len(self.done) == len(self.jobs):
            self.results.compute_global_statistics()
        save_results(self.path, self.results)


@dataclass
class RouteRun:
    """One route being driven: the interpolated route, its plan for agents, and its criteria."""

    job: RouteJob
    map: Any  # lead.world.map.Map (or a CARLA-like map)
    rules: Rules = OFFICIAL
    lights: Sequence[tuple[int, Pose, tuple, tuple]] = ()  # (id, pose, trigger centre local, trigger extent)
    dense: list = field(init=False)          # [(Transform, RoadOption)] ~1 m apart
    gps: list = field(init=False)            # [({'lat','lon','z'}, RoadOption)]
    plan_ids: list[int] = field(init=False)  # indices of the agents' downsampled plan
    evaluator: RouteEvaluator = field(init=False)
    events: list[TrafficEvent] = field(init=False, default_factory=list)
    metric: dict[int, dict] = field(init=False, default_factory=dict)
    started_wall: float = field(init=False, default_factory=time.time)
    distance: float = field(init=False, default=0.0)
    scenario_times: dict[str, tuple] = field(init=False, default_factory=dict)  # name -> (start s, end s | None)

    def __post_init__(self) -> None:
        from lead.world.lane_types import LaneType
        from lead.world.planner import interpolate_trajectory
        from lead.world.transform import Location

        route = self.job.route
        keypoints = [Location(*k) for k in route.keypoints]
        self.gps, self.dense = interpolate_trajectory(self.map, keypoints, 1.0)
        pts = [(t.location.x, t.location.y, t.location.z) for t, _ in self.dense]
        self.plan_ids = downsample_route(pts, [int(o) for _, o in self.dense], PLAN_SAMPLE_FACTOR)
        lanes = WaypointLanes(self.map, Location, {"driving": LaneType.Driving, "parking": LaneType.Parking})
        lights = []
        for lid, pose, trig_loc, trig_ext in self.lights:
            center, stop_lanes = traffic_light_stop_lanes(lanes, pose, trig_loc, trig_ext)
            lights.append(TrafficLight(int(lid), pose.location, center, stop_lanes))
        signs = []
        for s in self.map.get_stop_signs():
            # a CARLA stop actor's trigger volume lies on its approach lane; the boxes the map
            # also puts on the junction lanes would make each sign two stops in a row
            approach = [b for b in s.trigger_volumes if not self.map.get_waypoint(b.location).is_junction]
            for box in approach or s.trigger_volumes:
                loc = s.transform.location
                signs.append(StopSign(int(s.id), (loc.x, loc.y, loc.z),
                                      (box.location.x, box.location.y, box.location.z),
                                      (box.extent.x, box.extent.y)))
        poses = [Pose(t.location.x, t.location.y, t.location.z, t.rotation.yaw, t.rotation.pitch, t.rotation.roll)
                 for t, _ in self.dense]
        extras = {"scenario_name": route.scenarios[0].name if route.scenarios else "",
                  "town_name": route.town, "save_name": self.job.record_id, "weather_id": ""}
        self.evaluator = RouteEvaluator(
            poses, lanes, traffic_lights=lights, stop_signs=signs, rules=self.rules,
            route_id=self.job.record_id, index=self.job.index, extras=extras if self.rules.record_extras else None)

    @property
    def length(self) -> float:
        return float(self.evaluator.route.length)

    def step(self, tick: Tick, acceleration=(0.0, 0.0, 0.0), angular_velocity=(0.0, 0.0, 0.0)) -> StepResult:
        res = self.evaluator.step(tick)
        self.events.extend(res.new_events)
        p = tick.pose
        self.metric[tick.frame] = metric_frame(acceleration, angular_velocity, p.location, (p.roll, p.pitch, p.yaw))
        return res

    def note_scenario(self, name: str, started: bool, game_time: float) -> None:
        """A scenario of this route started or ended at game_time (s): for infractions.json."""
        if started:
            self.scenario_times[name] = (game_time, None)
        elif name in self.scenario_times:
            self.scenario_times[name] = (self.scenario_times[name][0], game_time)

    def finish(self, campaign: Campaign, failure_message: str = "", fps: float = 20.0) -> RouteRecord:
        record = self.evaluator.finish(time.time() - self.started_wall, failure_message)
        self.events.extend(self.evaluator.take_new_events())
        d = campaign.route_dir(self.job)
        entries = []
        for i, ev in enumerate(self.events):
            entry = infraction_entry(ev, int(round((ev.time or 0.0) * fps)), self.distance)
            # lead's addition: which scenarios were running, and the other actor, so an
            # infraction can be traced to a scenario's actor (the message is upstream's)
            t = ev.time or 0.0
            entry["active_scenarios"] = [n for n, (t0, t1) in self.scenario_times.items()
                                         if t0 <= t + 1e-6 and (t1 is None or t <= t1 + 1e-6)]
            if ev.other_actor_id:
                entry["other_actor"] = {"id": int(ev.other_actor_id), "type": ev.other_actor_type or ""}
            entries.append(entry)
        write_infractions_json(d / "infractions.json", entries, fps)
        write_metric_info(d / "metric_info.json", self.metric)
        campaign.finish(self.job, record)
        return record
