"""Sensor rendering for the embedded simulator: plain numpy geometry in, CARLA-like sensor
data out (cameras with RGB/depth/semantic ids, ray-cast LiDAR, radar). Knows nothing of
maps or ROS; the world builds the static mesh once per map and passes actors every tick.

The camera module imports moderngl lazily (only when a renderer is created), so LiDAR and
radar work where no EGL driver is installed.
"""
from .actors import actor_template, actors_mesh
from .camera import CameraImages, CameraRenderer, CameraSpec, EGLUnavailable, create_context
from .depth import FAR_PLANE_M, decode_depth, encode_depth
from .lidar import LidarScan, LidarSpec, RayCastLidar
from .meshes import (INHERIT_CLASS, Material, Mesh, arm, box, empty_mesh, extruded_polygon, flat_polygon,
                     polyline_strip, pole, prism, ribbon, simplify, stop_sign, tree)
from .pose import pose_matrix, poses_matrices, rotation_matrix, world_matrix
from .radar import Radar, RadarSpec, radar_to_xyz
from .raycast import RayCaster, RayHits
from .scene import DEFAULT_CLASS, Actor, ActorKind, TrafficLightState, Weather, actor_matrices
from .semantic import CITYSCAPES_PALETTE, SemanticClass, semantic_to_cityscapes

__all__ = [
    "Actor", "ActorKind", "CITYSCAPES_PALETTE", "CameraImages", "CameraRenderer", "CameraSpec", "DEFAULT_CLASS",
    "EGLUnavailable", "FAR_PLANE_M", "INHERIT_CLASS", "LidarScan", "LidarSpec", "Material", "Mesh", "Radar",
    "RadarSpec", "RayCastLidar", "RayCaster", "RayHits", "SemanticClass", "TrafficLightState", "Weather",
    "actor_matrices", "actor_template", "actors_mesh", "arm", "box", "create_context", "decode_depth",
    "empty_mesh", "encode_depth", "extruded_polygon", "flat_polygon", "pole", "polyline_strip", "pose_matrix",
    "poses_matrices", "prism", "radar_to_xyz", "ribbon", "rotation_matrix", "semantic_to_cityscapes",
    "simplify", "stop_sign", "tree", "world_matrix",
]
