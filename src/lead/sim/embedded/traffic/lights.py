"""Traffic-light controllers, one per signalised junction, cycling like CARLA's.

CARLA (UE4 TrafficLightGroup / TrafficLightController) groups the lights of a junction
by their OpenDRIVE <controller>. The junction runs its controllers one after another:
the active one shows green, then yellow, then red (the all-red clearance), and only then
does the next controller turn green; every other controller is red meanwhile. Default
stage times are green 10 s, yellow 3 s, red 2 s, so a junction with n controllers has a
cycle of 15·n s. Groups can be frozen (world.freeze_all_traffic_lights) and single
lights forced to a state (TrafficLight.set_state) for scenarios.

Here each junction starts at a random point of its cycle drawn from the seed (CARLA's
groups start together at map load, so by the time an episode runs their phases are
arbitrary). Lights without a controller get one of their own in their junction.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from lead.world.map import Map

GREEN_TIME, YELLOW_TIME, RED_TIME = 10.0, 3.0, 2.0   # CARLA's TrafficLightController defaults


class LightState(enum.IntEnum):
    """carla.TrafficLightState (and carla_msgs/CarlaTrafficLightStatus) values."""
    Red = 0
    Yellow = 1
    Green = 2
    Off = 3
    Unknown = 4


@dataclass
class JunctionLights:
    """The light group of one junction: controllers (lists of light ids) in cycle order."""
    junction_id: int
    controllers: list[list[str]]
    times: list[tuple[float, float, float]]   # (green, yellow, red) per controller
    elapsed: float = 0.0

    @property
    def cycle(self) -> float:
        return float(sum(sum(t) for t in self.times))

    def states(self) -> dict[str, LightState]:
        """State of every light of the group at the current point of the cycle."""
        out = {lid: LightState.Red for c in self.controllers for lid in c}
        t = self.elapsed % self.cycle if self.cycle > 0 else 0.0
        for ids, (g, y, r) in zip(self.controllers, self.times):
            if t < g + y + r:
                state = LightState.Green if t < g else LightState.Yellow if t < g + y else LightState.Red
                for lid in ids:
                    out[lid] = state
                break
            t -= g + y + r
        return out


class TrafficLights:
    """All traffic lights of a map: {OpenDRIVE signal id: LightState}, stepped in sim time."""

    def __init__(self, m: Map, seed: int, green_time: float = GREEN_TIME,
                 yellow_time: float = YELLOW_TIME, red_time: float = RED_TIME):
        for name, v in (("green_time", green_time), ("yellow_time", yellow_time), ("red_time", red_time)):
            if v < 0:
                raise ValueError(f"{name} must be >= 0, got {v}")
        self.groups: list[JunctionLights] = []
        seq = {cid: (c.sequence if c.sequence is not None else 0, _num(cid))
               for cid, c in m.network.controllers.items()}
        per_junction: dict[int, dict[str, list[str]]] = {}
        for tl in sorted(m.get_traffic_lights(), key=lambda t: _num(t.id)):
            cid = tl.controller_ids[0] if tl.controller_ids else f"light:{tl.id}"
            per_junction.setdefault(tl.junction_id, {}).setdefault(cid, []).append(tl.id)
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x119475]))
        for jid in sorted(per_junction):
            ctrl = per_junction[jid]
            order = sorted(ctrl, key=lambda c: seq.get(c, (1 << 30, _num(c))))
            group = JunctionLights(jid, [ctrl[c] for c in order], [(green_time, yellow_time, red_time)] * len(order))
            group.elapsed = float(rng.uniform(0.0, group.cycle)) if group.cycle > 0 else 0.0
            self.groups.append(group)
        self.group_of = {lid: g for g in self.groups for c in g.controllers for lid in c}
        self.frozen = False
        self._forced: dict[str, LightState] = {}
        self._states: dict[str, LightState] = {}
        self._refresh()

    # ------------------------------------------------------------------ stepping
    def step(self, dt: float) -> None:
        """Advance every unfrozen group by dt seconds."""
        if not self.frozen:
            for g in self.groups:
                g.elapsed += dt
        self._refresh()

    def _refresh(self) -> None:
        states: dict[str, LightState] = {}
        for g in self.groups:
            states.update(g.states())
        states.update(self._forced)
        self._states = states

    # ------------------------------------------------------------------ queries
    def states(self) -> dict[str, LightState]:
        """{light id: state}; a new dict each call."""
        return dict(self._states)

    def state(self, light_id: str) -> LightState:
        return self._states[light_id]

    # ------------------------------------------------------------------ control
    def set_state(self, light_id: str, state: LightState | int) -> None:
        """Force one light to a state until `release` (TrafficLight.set_state + freeze)."""
        if light_id not in self.group_of:
            raise KeyError(f"no traffic light with id {light_id!r}")
        self._forced[light_id] = LightState(state)
        self._refresh()

    def release(self, light_id: str | None = None) -> None:
        """Hand one forced light (or all, with None) back to its junction's cycle."""
        if light_id is None:
            self._forced.clear()
        else:
            self._forced.pop(light_id, None)
        self._refresh()

    def freeze(self, frozen: bool = True) -> None:
        """Stop (or restart) the cycles of all junctions (world.freeze_all_traffic_lights)."""
        self.frozen = bool(frozen)

    def set_times(self, green: float, yellow: float, red: float, junction_id: int | None = None) -> None:
        """Stage times of every controller (of one junction, or of all); the cycle's
        position is kept as a fraction so lights do not jump to random stages."""
        for g in self.groups:
            if junction_id is None or g.junction_id == junction_id:
                frac = (g.elapsed % g.cycle) / g.cycle if g.cycle > 0 else 0.0
                g.times = [(green, yellow, red)] * len(g.controllers)
                g.elapsed = frac * g.cycle
        self._refresh()


def _num(s: str) -> tuple[int, str]:
    """Sort key: numeric ids by value, others after them by text."""
    try:
        return (int(s), "")
    except ValueError:
        return (1 << 62, s)
