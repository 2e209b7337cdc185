"""The control command every controller emits and the simulator consumes.

Mirrors carla.VehicleControl / carla_msgs/CarlaEgoVehicleControl field for field, so a
node converts it to the ROS message by copying attributes.
"""
from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class VehicleControl:
    throttle: float = 0.0  # 0..1
    steer: float = 0.0  # -1..1, positive turns right (towards CARLA +y)
    brake: float = 0.0  # 0..1
    hand_brake: bool = False
    reverse: bool = False
    gear: int = 0
    manual_gear_shift: bool = False

    def clipped(self) -> "VehicleControl":
        """The command as CARLA applies it: pedals to [0, 1], steer to [-1, 1]."""
        return replace(
            self,
            throttle=min(max(float(self.throttle), 0.0), 1.0),
            steer=min(max(float(self.steer), -1.0), 1.0),
            brake=min(max(float(self.brake), 0.0), 1.0),
        )
