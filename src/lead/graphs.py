"""Node graphs as data: which nodes run, with which parameters, remappings and respawn.

One table serves both front ends: `lead run GRAPH` (pip installs, no `launch` package)
and `ros2 launch lead <graph>.launch.py` (full ROS 2 installs), like openpilot's
process table. Parameter values may name graph arguments as "${arg}"; arguments have
defaults and are overridden with `lead run GRAPH --param arg=value`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_ARG = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class NodeSpec:
    name: str
    module: str  # python module with main(argv) — also the ROS executable name (last part)
    parameters: dict[str, Any] = field(default_factory=dict)
    remappings: dict[str, str] = field(default_factory=dict)
    respawn: bool = False
    respawn_delay: float = 1.0
    required: bool = False  # the whole graph stops when this node exits
    use_sim_time: bool = True
    # for this node to run: "arg" (must be true), "arg==value", or several joined by " and " ("" = always)
    when: str = ""
    # Linux's SCHED_IDLE for the whole process (every thread, from its start): it runs only on CPU
    # the other nodes leave idle. For nodes outside the lock-step (the recorder); set by the
    # launcher, since a node that set it itself would leave the threads rclpy already made as they are
    sched_idle: bool = False

    @property
    def executable(self) -> str:
        return self.module.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class Graph:
    name: str
    description: str
    nodes: tuple[NodeSpec, ...]
    arguments: dict[str, Any] = field(default_factory=dict)  # name -> default

    def resolve(self, overrides: dict[str, Any] | None = None) -> list[NodeSpec]:
        """Nodes with "${arg}" substituted from defaults + overrides; unknown args are an error."""
        overrides = dict(overrides or {})
        unknown = sorted(set(overrides) - set(self.arguments))
        if unknown:
            raise KeyError(
                f"graph '{self.name}' has no argument(s) {', '.join(unknown)}; "
                f"its arguments are: {', '.join(sorted(self.arguments)) or '(none)'}"
            )
        args = dict(self.arguments)
        for k, v in overrides.items():
            args[k] = _coerce(v, self.arguments[k], k)
        out = []
        for n in self.nodes:
            if n.when and not _condition(n.when, args):
                continue
            params = {k: _substitute(v, args) for k, v in n.parameters.items()}
            out.append(NodeSpec(**{**n.__dict__, "parameters": params}))
        return out


def _coerce(value: Any, default: Any, name: str) -> Any:
    """Command-line strings take the type of the argument's default (ROS parameters are typed)."""
    if not isinstance(value, str) or isinstance(default, str) or default is None:
        return value
    try:
        if isinstance(default, bool):
            if value.strip().lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise ValueError
            return _truthy(value)
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
        if isinstance(default, (list, tuple)):
            import yaml

            v = yaml.safe_load(value)
            return list(v) if isinstance(v, (list, tuple)) else [v]
    except ValueError:
        raise ValueError(f"argument '{name}': {value!r} is not a {type(default).__name__}") from None
    return value


def _condition(when: str, args: dict[str, Any]) -> bool:
    if " and " in when:
        return all(_condition(part.strip(), args) for part in when.split(" and "))
    if "==" in when:
        name, value = (x.strip() for x in when.split("==", 1))
        return str(args[name]) == value
    return _truthy(args[when])


def _truthy(v: Any) -> bool:
    """A `when` switch: booleans as YAML spells them; any other non-empty value (a path) is on."""
    return str(v).strip().lower() not in ("", "0", "false", "no", "off", "none")


def _substitute(value: Any, args: dict[str, Any]) -> Any:
    if not isinstance(value, str):
        return value
    m = _ARG.fullmatch(value)
    if m:  # a whole-value reference keeps the argument's type
        return args[m.group(1)]
    return _ARG.sub(lambda mm: str(args[mm.group(1)]), value)


# ---------------------------------------------------------------------------
# The table. Nodes live in lead.nodes.<module>.

_N = "lead.nodes."

GRAPHS: dict[str, Graph] = {}


def _add(g: Graph) -> None:
    GRAPHS[g.name] = g


_add(Graph(
    name="smoke",
    description="Two-node check of the install: a sim clock and a topic monitor that reports what it hears.",
    arguments={"rate": 20.0, "duration": 0.0},
    nodes=(
        NodeSpec("clock", _N + "clock_source", {"rate": "${rate}", "duration": "${duration}"},
                 use_sim_time=False, required=True),
        NodeSpec("monitor", _N + "topic_monitor", {"topics": ["/clock"], "period": 1.0}, respawn=True),
    ),
))


_CONTROL = "/carla/ego_vehicle/vehicle_control_cmd"
_WORLD_ARGS = {"rig": "lead", "seed": 0, "num_vehicles": 30, "num_pedestrians": 20, "maps": "", "render": True,
               "render_process": True}


def _world(required: bool = False, module: str = "world", when: str = "", **params: Any) -> NodeSpec:
    base = {"rig": "${rig}", "num_vehicles": "${num_vehicles}", "num_pedestrians": "${num_pedestrians}",
            "maps": "${maps}", "render": "${render}"}
    if module == "world":  # the embedded world's cameras in a child process (see sensors/render_process.py)
        base["render_process"] = "${render_process}"
    return NodeSpec("world", _N + module, {**base, **params}, use_sim_time=False, required=required, when=when)


# eval's `world` argument: embedded (lead.nodes.world), carla (lead.nodes.carla_world ticking a CARLA
# server), external (a carla-ros-bridge ticks and publishes; carla_world only serves /lead/world/*)
# pace_topic: the recorder and the video node (when they run) say which tick they have reached;
# the world stays within pace_lag ticks of each, so one that falls behind under load loses nothing
_EVAL_WORLD = dict(lockstep_topics=[_CONTROL, "/lead/leaderboard/status"], on_timeout="wait", collect="${collect}",
                   pace_topic="/lead/recorder/progress,/lead/video/progress")


_add(Graph(
    name="sim_smoke",
    description="The embedded world alone on a town, free-running for `duration` sim seconds with traffic.",
    arguments={**_WORLD_ARGS, "map": "LeadGrid001", "duration": 60.0, "rig": "minimal"},
    nodes=(_world(required=True, town="${map}", seed="${seed}", spawn_point=0, duration="${duration}",
                  lockstep_topics=[""]),
           ),
))

_add(Graph(
    name="sim_drive",
    description="The world in lock-step with a controller in another process (the route follower, braking "
                "without a route) for `duration` sim seconds: what bench/sim_bench.py times.",
    arguments={**_WORLD_ARGS, "map": "LeadGrid001", "duration": 30.0},
    nodes=(_world(required=True, town="${map}", seed="${seed}", spawn_point=0, duration="${duration}",
                  lockstep_topics=[_CONTROL]),
           NodeSpec("route_follower", _N + "route_follower", {})),
))

_add(Graph(
    name="eval",
    description="Leaderboard evaluation: world (embedded | carla | external) + route manager + agent "
                "(route_follower | expert | tfv6), lock-step.",
    arguments={**_WORLD_ARGS, "routes": "routes/LeadGrid001_routes.xml", "route_ids": "", "repetitions": 1,
               "out": "results", "resume": False, "rules": "leaderboard", "shard": "", "agent": "route_follower",
               "target_speed": 6.0, "tick_timeout": 60.0, "collect": False, "record": "",
               "expert_config": "config/expert.yaml", "checkpoint": "models/tfv6_small", "backend": "onnxruntime",
               "device": "cpu", "deadline": 0.0, "timing_dir": "", "inject_nan": "", "markers": False,
               "world": "embedded", "video": False, "video_fps": 10.0, "creep": False, "camera_every": 1,
               "shadow_backend": ""},
    nodes=(
        # camera_every: cameras on every n-th tick only (lead collect: the save rate; the expert needs none)
        _world(when="world==embedded", camera_every="${camera_every}", **_EVAL_WORLD),
        _world(module="carla_world", when="world==carla", mode="carla", seed="${seed}", **_EVAL_WORLD),
        _world(module="carla_world", when="world==external", mode="external", **_EVAL_WORLD),
        NodeSpec("route_manager", _N + "route_manager",
                 {k: f"${{{k}}}" for k in ("routes", "route_ids", "repetitions", "out", "resume", "rules", "shard",
                                           "seed", "num_vehicles", "num_pedestrians", "rig", "tick_timeout",
                                           "world")},
                 required=True),
        NodeSpec("route_follower", _N + "route_follower", {"target_speed": "${target_speed}"}, respawn=True,
                 when="agent==route_follower"),
        # LEAD's expert: privileged state in, control + /lead/plan + /lead/expert/labels out
        NodeSpec("expert", _N + "expert", {"config": "${expert_config}"}, respawn=True, when="agent==expert"),
        # TFv6: rig -> tensors (the trainer's function) -> plan -> LEAD's PID controller
        NodeSpec("preprocess", _N + "preprocess", {"rig": "${rig}", "checkpoint": "${checkpoint}",
                                                   "timing_dir": "${timing_dir}"},
                 respawn=True, when="agent==tfv6"),
        NodeSpec("policy", _N + "policy", {"checkpoint": "${checkpoint}", "backend": "${backend}",
                                           "device": "${device}", "deadline": "${deadline}",
                                           "inject_nan": "${inject_nan}", "timing_dir": "${timing_dir}",
                                           "shadow_backend": "${shadow_backend}"},
                 respawn=True, when="agent==tfv6"),
        # creep: LEAD's creeping heuristic (off by default, as in LEAD since 2026-03)
        NodeSpec("controller", _N + "controller", {"timing_dir": "${timing_dir}", "creep": "${creep}"},
                 respawn=True, when="agent==tfv6"),
        # shadow_backend: a second runtime answers every frame on the same inputs (lead.nodes.policy);
        # its controls go to a topic nothing drives with, for comparing backends tick by tick
        NodeSpec("shadow_controller", _N + "controller",
                 {"timing_dir": "${timing_dir}", "creep": "${creep}", "plan_topic": "/lead/shadow/plan",
                  "control_topic": "/lead/shadow/vehicle_control_cmd"},
                 respawn=True, when="agent==tfv6 and shadow_backend"),
        # one MCAP bag per route with LEAD's data table (lead collect sets record=DIR, collect=true)
        # camera_every: the recorder leaves out its per-image DDS filter where the world sends saved ticks only
        # (the CARLA world ignores camera_every: the recorder then drops the unsaved images itself)
        NodeSpec("recorder", _N + "recorder", {"out": "${record}", "rig": "${rig}", "collect": "${collect}",
                                                   "seed": "${seed}", "camera_every": "${camera_every}"},
                 when="record", sched_idle=True),
        NodeSpec("markers", _N + "markers", {}, respawn=True, when="markers"),
        # one overlay MP4 per route into the results folder, where `lead webapp` shows it
        NodeSpec("video", _N + "video", {"out": "${out}", "rig": "${rig}", "fps": "${video_fps}"}, when="video"),
    ),
))


def get_graph(name: str) -> Graph:
    try:
        return GRAPHS[name]
    except KeyError:
        raise KeyError(f"no graph named '{name}'; graphs: {', '.join(sorted(GRAPHS))}") from None


def ros_arguments(node: NodeSpec) -> list[str]:
    """The `--ros-args` command-line tail that starts `node` with its name, parameters and remaps."""
    out = ["--ros-args", "-r", f"__node:={node.name}"]
    params = dict(node.parameters)
    params.setdefault("use_sim_time", node.use_sim_time)
    for k, v in params.items():
        out += ["-p", f"{k}:={_yaml_scalar(v)}"]
    for src, dst in node.remappings.items():
        out += ["-r", f"{src}:={dst}"]
    return out


def _yaml_scalar(v: Any) -> str:
    """A parameter value as rcl parses it (YAML); strings are always quoted so '3' or ''
    stay strings."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(_yaml_scalar(x) for x in v) + "]"
    if isinstance(v, str):
        return "'" + v.replace("'", "''") + "'"
    return str(v)
