"""`lead run`: real node processes over DDS, clean shutdown, respawn, required nodes."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lead.graphs import Graph, NodeSpec, get_graph, ros_arguments

LEAD = [sys.executable, "-m", "lead.cli"]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


class Run:
    """A `lead run` process whose prefixed output is collected line by line."""

    def __init__(self, *args: str):
        self.proc = subprocess.Popen([*LEAD, "run", *args, "--no-color"], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []

    def wait_for(self, pattern: str, timeout: float = 30.0) -> re.Match:
        rx = re.compile(pattern)
        end = time.monotonic() + timeout
        for line in self.lines:
            if m := rx.search(line):
                return m
        while time.monotonic() < end:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.lines.append(line)
            if m := rx.search(line):
                return m
        raise AssertionError(f"no line matching {pattern!r} within {timeout} s:\n" + "".join(self.lines[-30:]))

    def pids(self) -> dict[str, int]:
        out = {}
        for line in self.lines:
            if m := re.search(r"\[lead run\] (\S+) (?:started|respawned[^:]*): pid (\d+)", line):
                out[m.group(1)] = int(m.group(2))
        return out

    def finish(self, timeout: float = 20.0) -> int:
        try:
            rest, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rest, _ = self.proc.communicate()
        self.lines += rest.splitlines(keepends=True)
        return self.proc.returncode


def test_sigterm_leaves_no_child(ros_domain):
    run = Run("smoke", "--domain-id", str(ros_domain))
    try:
        run.wait_for(r"\[monitor\].*/clock [1-9][0-9.]* Hz")  # the two nodes really talk over DDS
        pids = run.pids()
        assert set(pids) == {"clock", "monitor"} and all(_alive(p) for p in pids.values())
        run.proc.send_signal(signal.SIGTERM)
        assert run.finish() == 0
        deadline = time.monotonic() + 5
        while any(_alive(p) for p in pids.values()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [n for n, p in pids.items() if _alive(p)], "children survived SIGTERM of lead run"
    finally:
        if run.proc.poll() is None:
            run.proc.kill()


def test_sigkill_of_runner_still_stops_children(ros_domain):
    run = Run("smoke", "--domain-id", str(ros_domain))
    try:
        run.wait_for(r"monitor started: pid")
        pids = run.pids()
        run.proc.kill()  # no chance to clean up: PR_SET_PDEATHSIG must do it
        run.finish()
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in pids.values()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [n for n, p in pids.items() if _alive(p)]
    finally:
        for p in run.pids().values():
            if _alive(p):
                os.kill(p, signal.SIGKILL)


def test_respawn_and_required_exit(ros_domain):
    # clock is required and stops after 4 sim seconds (= 4 wall seconds at 20 Hz)
    run = Run("smoke", "--domain-id", str(ros_domain), "-p", "duration=4")
    try:
        run.wait_for(r"monitor started: pid")
        first = run.pids()["monitor"]
        os.kill(first, signal.SIGKILL)
        run.wait_for(r"monitor respawned \(#1\): pid")
        assert run.pids()["monitor"] != first
        run.wait_for(r"clock \(required\) exited with code 0: stopping the graph", timeout=30)
        assert run.finish() == 0
        # the runner reaps its nodes with their CPU time and says who used what
        cpu = run.wait_for(r"CPU time per node over \d+ s wall: (.*) \(total ([\d.]+) s\)")
        per_node = dict(re.findall(r"(\w+) ([\d.]+) s", cpu.group(1)))
        assert {"clock", "monitor"} <= set(per_node), cpu.group(0)
        assert float(cpu.group(2)) == pytest.approx(sum(map(float, per_node.values())), abs=0.2)
        assert float(per_node["clock"]) > 0.1  # an interpreter start alone costs more than that
    finally:
        if run.proc.poll() is None:
            run.proc.kill()


def test_graph_arguments_are_typed_and_checked():
    g = get_graph("smoke")
    nodes = g.resolve({"rate": "5", "duration": "2.5"})
    clock = next(n for n in nodes if n.name == "clock")
    assert clock.parameters == {"rate": 5.0, "duration": 2.5}
    assert "-p" in ros_arguments(clock) and "rate:=5.0" in ros_arguments(clock)
    with pytest.raises(KeyError, match="no argument"):
        g.resolve({"speed": "1"})
    with pytest.raises(ValueError, match="not a float"):
        g.resolve({"rate": "fast"})
    with pytest.raises(KeyError, match="no graph named"):
        get_graph("nope")


def test_conditional_nodes_and_substitution():
    g = Graph("t", "d", (NodeSpec("a", "m.a", {"x": "${v}", "y": "pre-${v}"}),
                         NodeSpec("b", "m.b", when="extra")), {"v": 3, "extra": False})
    nodes = g.resolve()
    assert [n.name for n in nodes] == ["a"] and nodes[0].parameters == {"x": 3, "y": "pre-3"}
    assert [n.name for n in g.resolve({"extra": "true"})] == ["a", "b"]


def test_conditions_joined_with_and_must_all_hold():
    from lead.graphs import get_graph

    g = Graph("t", "d", (NodeSpec("a", "m.a", when="kind==x and extra"),), {"kind": "x", "extra": ""})
    assert g.resolve() == [] and g.resolve({"kind": "y", "extra": "on"}) == []
    assert [n.name for n in g.resolve({"extra": "on"})] == ["a"]
    # the eval graph's shadow controller: only for tfv6 with a shadow backend named
    names = lambda **kw: [n.name for n in get_graph("eval").resolve(kw)]  # noqa: E731
    assert "shadow_controller" not in names(agent="tfv6")
    assert "shadow_controller" not in names(agent="expert", shadow_backend="torch")
    shadow = next(n for n in get_graph("eval").resolve({"agent": "tfv6", "shadow_backend": "torch"})
                  if n.name == "shadow_controller")
    assert shadow.module == "lead.nodes.controller"
    assert shadow.parameters["control_topic"] != "/carla/ego_vehicle/vehicle_control_cmd"  # drives nothing


def test_every_launch_file_names_an_existing_graph(repo: Path):
    from lead.graphs import GRAPHS

    files = sorted((repo / "launch").glob("*.launch.py"))
    assert files, "no launch files"
    for f in files:
        m = re.search(r"""launch_graph\(\s*["']([^"']+)["']""", f.read_text())
        assert m, f"{f.name} does not build its graph with lead.launch_support.launch_graph"
        assert m.group(1) in GRAPHS, f"{f.name} names unknown graph {m.group(1)!r}"


def test_slow_dds_settings_are_named_and_lead_defaults_are_not():
    from lead.io import dds
    from lead.runner import node_environment

    env = node_environment(base={})
    assert env[dds.VARIABLE] == dds.TRANSPORTS and dds.slow_settings(env) == []
    assert node_environment(base={dds.VARIABLE: "LARGE_DATA"})[dds.VARIABLE] == "LARGE_DATA"  # the user's wins
    # the discovery profile, unless the user names a profiles file (either spelling)
    assert env[dds.PROFILES_VARIABLE] == str(dds.PROFILES_FILE) and dds.PROFILES_FILE.is_file()
    assert node_environment(base={dds.PROFILES_VARIABLE: "/mine.xml"})[dds.PROFILES_VARIABLE] == "/mine.xml"
    assert dds.PROFILES_VARIABLE not in node_environment(base={"FASTRTPS_DEFAULT_PROFILES_FILE": "/mine.xml"})
    slow = dds.slow_settings({"ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST", dds.VARIABLE: "DEFAULT"})
    assert len(slow) == 2 and "LOCALHOST" in slow[0] and "DEFAULT" in slow[1]


def test_the_discovery_profile_is_valid_fast_dds_xml():
    """Fast DDS falls back to its defaults, with only a log line, on a profiles file it cannot
    read: check lead's against the XML schema the ros-fastdds wheel ships."""
    from lxml import etree

    from lead.io import dds

    xsd = Path(sys.prefix) / "share" / "fastdds" / "fastdds_profiles.xsd"
    if not xsd.is_file():
        pytest.skip(f"{xsd} is not installed (ros-fastdds wheel)")
    schema = etree.XMLSchema(etree.parse(str(xsd)))
    doc = etree.parse(str(dds.PROFILES_FILE))
    assert schema.validate(doc), schema.error_log
    ns = {"d": "http://www.eprosima.com"}
    participant = doc.find(".//d:participant", ns)
    assert participant.get("is_default_profile") == "true"  # what every participant of the process uses
    assert int(doc.find(".//d:initialAnnouncements/d:count", ns).text) > 5  # Fast DDS's default is 5


def test_runner_warns_about_a_localhost_discovery_range(ros_domain, monkeypatch):
    monkeypatch.setenv("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    r = subprocess.run([*LEAD, "run", "smoke", "--domain-id", str(ros_domain), "--timeout", "1"], capture_output=True, text=True, timeout=60)
    assert "warning: ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST" in r.stdout, r.stdout[-2000:] + r.stderr[-2000:]


def test_the_docs_name_leads_dds_transport(repo: Path):
    from lead.io import dds

    for doc in ("README.md", "docs/carla.md"):
        assert dds.TRANSPORTS in (repo / doc).read_text(), f"{doc} does not give {dds.VARIABLE}={dds.TRANSPORTS}"


def test_zombie_shared_memory_of_a_killed_participant_is_removed(ros_domain):
    """A SIGKILLed DDS process leaves its segment in /dev/shm (RAM); clean_zombie_shm (Fast DDS's
    own `fastdds shm clean`) removes it and leaves live participants' files alone."""
    from lead.io import dds

    code = "import rclpy, time; rclpy.init(); n = rclpy.create_node('zombie'); print('up', flush=True); time.sleep(60)"

    def segments() -> set[str]:
        return {f for f in os.listdir("/dev/shm") if re.fullmatch(r"fastdds_[0-9a-f]{16}", f)}

    base = segments()
    live = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    doomed = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert live.stdout.readline().strip() == "up" and doomed.stdout.readline().strip() == "up"
        mine = segments() - base
        assert len(mine) == 2, mine  # one segment per participant
        doomed.kill()
        doomed.wait()
        assert dds.clean_zombie_shm() >= 1
        assert len(mine & segments()) == 1  # the killed one's is gone, the live one's stays
    finally:
        for p in (live, doomed):
            p.kill()
            p.wait()


def test_a_node_that_cannot_start_stops_the_graph_instead_of_respawning_forever():
    """A respawned node that fails as it starts (here: a module that does not exist; in practice a
    bad checkpoint or parameter) is started START_FAILURES times, then the graph stops with its code."""
    import io

    from lead.runner import START_FAILURES, GraphRunner

    out = io.StringIO()
    bad = NodeSpec("broken", "lead.nodes.no_such_node", respawn=True, respawn_delay=0.1)
    t0 = time.monotonic()
    code = GraphRunner([bad], out=out, colour=False).run(timeout=60)
    log = out.getvalue()
    assert code == 1, log
    assert log.count("broken respawned") == START_FAILURES - 1, log
    assert f"{START_FAILURES} times in a row: it cannot start as configured" in log, log
    assert "No module named lead.nodes.no_such_node" in log  # the node's own error stays in the output
    assert time.monotonic() - t0 < 30
