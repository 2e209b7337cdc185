"""Junctions without adversaries, Bench2Drive's additions: T_Junction (t_junction.py) and
the Vanilla*Turn types (vanilla_turn.py), which test stopping at lights and stop signs.

T_Junction: no actors; the scenario runs until the ego drove 200 m, with a
ScenarioTimeout of 240 s (SCENARIO_TIMEOUT if it takes longer).

VanillaSignalizedTurnEncounterGreenLight: at the trigger the ego's light (the one whose
stop waypoints are closest to the trigger lane) turns green and every other light of the
next junction red for 5 s, then all of them red for 5 s, then back to their cycle.
VanillaSignalizedTurnEncounterRedLight: all red for 5 s, then the ego's light green (the
others red) until the scenario ends. VanillaNonSignalizedTurn and
VanillaNonSignalizedTurnEncounterStopsign: nothing is scripted. All four end when the
ego has left the junction and driven 10 m. Their criteria list a ScenarioTimeoutTest,
but no ScenarioTimeout behaviour ever sets its flag, so it can never fail and the
agent-blocked test stays on: they report no timeout here either.
"""
from __future__ import annotations

from lead.sim.embedded.traffic.lights import LightState

from .base import Behaviour, Scenario, register
from .geometry import ScenarioSetupError, closest_traffic_light, first_junction_wp, lights_in_junction


@register("T_Junction")
class TJunction(Scenario):
    has_timeout = True
    scenario_timeout = 240.0
    end_distance = 200.0

    def behaviour(self) -> Behaviour:
        yield from self.drive_distance(self.end_distance)


class _Vanilla(Scenario):
    green_light_delay = 5.0
    end_distance = 10.0
    signalized = False

    def setup(self) -> None:
        entry, _ = first_junction_wp(self.reference_waypoint)
        self.junction_id = entry.junction_id
        self.init_states: dict[str, LightState] = {}
        self.flow_states: dict[str, LightState] = {}
        if self.signalized:
            lights = lights_in_junction(self.map, self.junction_id)
            if not lights:
                raise ScenarioSetupError("found no traffic lights, use the non signalized version instead")
            ego_tl = closest_traffic_light(self.reference_waypoint, lights)
            self.ego_light = ego_tl.id
            self._set_states(lights, ego_tl.id)

    def _set_states(self, lights, ego_id: str) -> None:
        raise NotImplementedError

    def behaviour(self) -> Behaviour:
        if self.signalized:
            self.parallel(self._light_sequence())
        yield from self.wait_end_intersection()
        yield from self.drive_distance(self.end_distance)

    def _light_sequence(self) -> Behaviour:
        yield from self.freeze_lights(self.init_states, self.green_light_delay)
        yield from self.freeze_lights(self.flow_states, self.flow_duration)


@register("VanillaSignalizedTurnEncounterGreenLight")
class VanillaSignalizedTurnEncounterGreenLight(_Vanilla):
    signalized = True
    flow_duration = 5.0

    def _set_states(self, lights, ego_id: str) -> None:
        for tl in lights:
            self.init_states[tl.id] = LightState.Green if tl.id == ego_id else LightState.Red
            self.flow_states[tl.id] = LightState.Red


@register("VanillaSignalizedTurnEncounterRedLight")
class VanillaSignalizedTurnEncounterRedLight(_Vanilla):
    signalized = True
    flow_duration = float("inf")

    def _set_states(self, lights, ego_id: str) -> None:
        for tl in lights:
            self.init_states[tl.id] = LightState.Red
            self.flow_states[tl.id] = LightState.Green if tl.id == ego_id else LightState.Red


@register("VanillaNonSignalizedTurn", "VanillaNonSignalizedTurnEncounterStopsign")
class VanillaNonSignalizedTurn(_Vanilla):
    signalized = False
