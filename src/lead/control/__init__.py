"""lead's controllers (LEAD's expert and TFv6 sensor-agent control) and LEAD's forecast
bicycle model. Plain Python, CARLA frame (x forward, y right), speeds in m/s."""
from lead.control.bicycle import BicycleParams, ForecastBicycle
from lead.control.lateral import CheckpointLateralController, LateralConfig, RouteLateralController, advance_route_index
from lead.control.longitudinal import LinearLongitudinalController, LongitudinalConfig
from lead.control.pid import WindowedPID
from lead.control.sensor_agent import SensorAgentConfig, SensorAgentController
from lead.control.vehicle_control import VehicleControl

__all__ = [
    "BicycleParams",
    "CheckpointLateralController",
    "ForecastBicycle",
    "LateralConfig",
    "LinearLongitudinalController",
    "LongitudinalConfig",
    "RouteLateralController",
    "SensorAgentConfig",
    "SensorAgentController",
    "VehicleControl",
    "WindowedPID",
    "advance_route_index",
]
