"""Traffic-light controllers of the embedded simulator on real maps: CARLA's cycle
(green, yellow, red per controller, one controller of a junction at a time), seeded
phases, forcing and freezing."""
from __future__ import annotations

import itertools

import pytest

from lead.sim.embedded.traffic.lights import LightState, TrafficLights
from lead.world.map import Map
from tests.conftest import REPO, shared_path

_MAPS: dict[str, Map] = {}
DT = 0.05


def load(name: str) -> Map:
    if name not in _MAPS:
        if name.startswith("Lead"):
            path = REPO / "routes" / f"{name}.xodr"
        else:
            path = shared_path("maps", "carla", f"{name}.xodr")
        _MAPS[name] = Map.from_file(path)
    return _MAPS[name]


def timeline(lights: TrafficLights, seconds: float) -> dict[str, list[LightState]]:
    out: dict[str, list[LightState]] = {lid: [] for lid in lights.states()}
    for _ in range(round(seconds / DT)):
        lights.step(DT)
        for lid, s in lights.states().items():
            out[lid].append(s)
    return out


def runs(states: list[LightState]) -> list[tuple[LightState, float]]:
    """(state, duration) of each complete run (the first and last may be cut off)."""
    out = [(s, DT * len(list(grp))) for s, grp in itertools.groupby(states)]
    return out[1:-1]


def controllers_by_junction(m: Map) -> dict[int, dict[str, set[str]]]:
    """{junction: {controller id: light ids}} read from the map itself."""
    out: dict[int, dict[str, set[str]]] = {}
    for tl in m.get_traffic_lights():
        cid = tl.controller_ids[0] if tl.controller_ids else tl.id
        out.setdefault(tl.junction_id, {}).setdefault(cid, set()).add(tl.id)
    return out


@pytest.mark.parametrize("name", ["Town10HD", "Town01", "LeadGrid001", "LeadIrregular007"])
@pytest.mark.parametrize("times", [(10.0, 3.0, 2.0), (6.0, 2.0, 1.0)])
def test_every_light_cycles_with_the_configured_times(name, times):
    m = load(name)
    green, yellow, red = times
    lights = TrafficLights(m, seed=3, green_time=green, yellow_time=yellow, red_time=red)
    groups = controllers_by_junction(m)
    longest = max(len(c) for c in groups.values()) * sum(times)
    states = timeline(lights, 2.5 * longest)
    assert set(states) == {tl.id for tl in m.get_traffic_lights()}
    for jid, ctrl in groups.items():
        cycle = len(ctrl) * sum(times)
        for ids in ctrl.values():
            for lid in ids:
                seq = runs(states[lid])
                assert [s for s, _ in seq[:3]] in (
                    [LightState.Green, LightState.Yellow, LightState.Red],
                    [LightState.Yellow, LightState.Red, LightState.Green],
                    [LightState.Red, LightState.Green, LightState.Yellow]), (lid, seq[:3])
                expect = {LightState.Green: green, LightState.Yellow: yellow, LightState.Red: cycle - green - yellow}
                for s, dur in seq:
                    assert dur == pytest.approx(expect[s], abs=DT + 1e-9), (name, jid, lid, s)


@pytest.mark.parametrize("name", ["Town10HD", "Town01", "LeadGrid001"])
def test_controllers_of_a_junction_never_show_green_or_yellow_together(name):
    m = load(name)
    lights = TrafficLights(m, seed=11)
    groups = controllers_by_junction(m)
    seen_green = set()
    for _ in range(round(120.0 / DT)):
        lights.step(DT)
        st = lights.states()
        for jid, ctrl in groups.items():
            active = [cid for cid, ids in ctrl.items() if any(st[i] != LightState.Red for i in ids)]
            assert len(active) <= 1, (name, jid, active)
            for ids in ctrl.values():   # lights of one controller always agree
                assert len({st[i] for i in ids}) == 1, (name, jid, ids)
            seen_green.update(cid for cid in active if any(st[i] == LightState.Green for i in ctrl[cid]))
    every = {cid for ctrl in groups.values() for cid in ctrl}
    assert seen_green == every   # in two minutes every controller had its green


def test_phases_are_seeded_per_junction():
    m = load("Town10HD")
    a = timeline(TrafficLights(m, seed=5), 30.0)
    b = timeline(TrafficLights(m, seed=5), 30.0)
    c = timeline(TrafficLights(m, seed=6), 30.0)
    assert a == b
    assert a != c


def test_forced_state_holds_until_released_and_freeze_stops_the_cycles():
    m = load("Town10HD")
    lights = TrafficLights(m, seed=2)
    lid = sorted(lights.states())[0]
    others = timeline(TrafficLights(m, seed=2), 40.0)
    lights.set_state(lid, LightState.Red)
    forced = timeline(lights, 40.0)
    assert set(forced[lid]) == {LightState.Red}
    assert set(others[lid]) != {LightState.Red}          # the cycle would have changed it
    for other in forced:
        if other != lid:
            assert forced[other] == others[other]         # the rest keeps cycling as before
    lights.release(lid)
    assert LightState.Green in set(timeline(lights, 60.0)[lid])
    lights.freeze(True)
    frozen = lights.states()
    assert all(s == [frozen[k]] * len(s) for k, s in timeline(lights, 60.0).items())
    lights.freeze(False)
    assert any(len(set(s)) > 1 for s in timeline(lights, 30.0).values())
    with pytest.raises(KeyError, match="no traffic light"):
        lights.set_state("no-such-light", LightState.Green)


def test_stage_times_can_change_at_run_time():
    m = load("Town01")
    lights = TrafficLights(m, seed=1)
    lights.set_times(4.0, 1.0, 1.0)
    cycle = 3 * 6.0                                   # Town01's junctions have three controllers
    for lid, seq in timeline(lights, 3 * cycle).items():
        expect = {LightState.Green: 4.0, LightState.Yellow: 1.0, LightState.Red: cycle - 5.0}
        assert runs(seq) and all(d == pytest.approx(expect[s], abs=DT + 1e-9) for s, d in runs(seq)), lid


def test_negative_times_are_rejected():
    with pytest.raises(ValueError, match="yellow_time"):
        TrafficLights(load("LeadGrid001"), seed=0, yellow_time=-1.0)
