"""lead's road network: OpenDRIVE parsing, CARLA's Map/Waypoint API, the global route
planner, Leaderboard route files and town generation. Pure Python, no ROS.

    from lead.world import Map, Location, GlobalRoutePlanner
    m = Map.from_file("Town01.xodr")

Names are imported lazily so that `import lead.world.<module>` stays light.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "Map": "lead.world.map", "Waypoint": "lead.world.map", "Junction": "lead.world.map",
    "LaneGeometry": "lead.world.map",
    "Location": "lead.world.transform", "Rotation": "lead.world.transform",
    "Transform": "lead.world.transform", "Vector3D": "lead.world.transform",
    "BoundingBox": "lead.world.transform",
    "LaneType": "lead.world.lane_types", "LaneChange": "lead.world.lane_types",
    "LaneMarking": "lead.world.lane_types", "LaneMarkingType": "lead.world.lane_types",
    "LaneMarkingColor": "lead.world.lane_types",
    "GlobalRoutePlanner": "lead.world.planner", "RoadOption": "lead.world.planner",
    "interpolate_trajectory": "lead.world.planner", "NoRouteError": "lead.world.planner",
    "OpenDriveError": "lead.world.opendrive",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(f"module 'lead.world' has no attribute {name!r}")
    return getattr(importlib.import_module(mod), name)
