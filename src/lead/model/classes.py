"""Label sets of TFv6's heads, in LEAD's order (lead/common/constants.py); index = class id."""
from __future__ import annotations

# CenterNet box classes (TransfuserBoundingBoxClass)
BOX_CLASSES: tuple[str, ...] = (
    "VEHICLE", "WALKER", "TRAFFIC_LIGHT", "STOP_SIGN", "SPECIAL", "OBSTACLE", "PARKING", "BIKER",
)

# Perspective semantic segmentation (TransfuserSemanticSegmentationClass)
SEMANTIC_CLASSES: tuple[str, ...] = (
    "UNLABELED", "VEHICLE", "ROAD", "TRAFFIC_LIGHT", "PEDESTRIAN", "ROAD_LINE", "OBSTACLE",
    "SPECIAL_VEHICLE", "STOP_SIGN", "BIKER",
)

# BEV semantic map (TransfuserBEVSemanticClass)
BEV_SEMANTIC_CLASSES: tuple[str, ...] = (
    "UNLABELED", "ROAD", "LANE_MARKERS", "STOP_SIGNS", "VEHICLE", "WALKER", "OBSTACLE", "PARKING_VEHICLE",
    "SPECIAL_VEHICLE", "BIKER", "TRAFFIC_GREEN", "TRAFFIC_RED_NORMAL", "TRAFFIC_RED_NOT_NORMAL",
)

# Discrete navigation command: CARLA RoadOption 1..6 -> one-hot index 0..5 (LEAD's command_to_one_hot)
COMMANDS: tuple[str, ...] = ("LEFT", "RIGHT", "STRAIGHT", "LANEFOLLOW", "CHANGELANELEFT", "CHANGELANERIGHT")
