"""ControlLoss (scenario_runner's control_loss.py): the ego loses control over three
patches of debris.

Three dirt-debris props on the ego's lane 14, 48 and 74 m after the trigger point
(1 m steps, stopping at a junction). While the ego is within 2 m of a patch, noise is
added to its control each tick: throttle + N(+-0.03, 0.01), steer + N(+-0.055, 0.015),
the signs drawn per patch. The scenario ends 36 m after the last patch (110 m in all,
whichever comes first). No criteria of its own. Use ScenarioManager.filter_control on
the agent's control to apply the noise.

The debris is flat (the ego drives over it); see the package docs for how such props are
kept in the world.
"""
from __future__ import annotations

from dataclasses import replace

from lead.control.vehicle_control import VehicleControl

from .base import Behaviour, Scenario, register
from .geometry import waypoint_in_distance, wp_pose


@register("ControlLoss")
class ControlLoss(Scenario):
    distances = (14.0, 48.0, 74.0)
    end_distance = 110.0
    trigger_dist = 2.0
    throttle_mean, throttle_std = 0.03, 0.01
    steer_mean, steer_std = 0.055, 0.015

    def setup(self) -> None:
        self.debris_locations = []
        for i, d in enumerate(self.distances):
            wp, _ = waypoint_in_distance(self.reference_waypoint, d)
            self.actor("static.prop.dirtdebris01", role="prop", label=f"debris_{i + 1}").place(wp_pose(wp))
            self.debris_locations.append(wp.xyz)
        self.noise: tuple[float, float, float, float] | None = None
        self.noisy_ticks = 0

    def _noise_parameters(self) -> tuple[float, float, float, float]:
        return (float(self.rng.choice([self.throttle_mean, -self.throttle_mean])), self.throttle_std,
                float(self.rng.choice([self.steer_mean, -self.steer_mean])), self.steer_std)

    def behaviour(self) -> Behaviour:
        for loc in self.debris_locations:
            yield from self.wait(lambda: self.ego_within(loc, self.trigger_dist))
            self.noise = self._noise_parameters()
            while self.ego_within(loc, self.trigger_dist):   # until farther than 2 m (operator.gt)
                yield
            self.noise = None
        last = self.distances[-1]
        yield from self.drive_distance(self.end_distance - last)

    def end_condition(self) -> bool:
        # the parallel DriveDistance(ego, 110) from the scenario's start
        return self.ego_odometer - self._odo_start > self.end_distance

    def _trigger(self) -> None:
        self._odo_start = self.ego_odometer
        super()._trigger()

    def modify_control(self, control: VehicleControl) -> VehicleControl:
        if self.noise is None:
            return control
        tm, ts, sm, ss = self.noise
        self.noisy_ticks += 1
        throttle = min(1.0, max(0.0, control.throttle + float(self.rng.normal(tm, ts))))
        steer = min(1.0, max(-1.0, control.steer + float(self.rng.normal(sm, ss))))
        return replace(control, throttle=throttle, steer=steer)
