"""CARLA's lane enums and LaneMarking (names and values as carla.LaneType,
carla.LaneChange, carla.LaneMarkingType, carla.LaneMarkingColor)."""
from __future__ import annotations

import enum
from dataclasses import dataclass


class LaneType(enum.IntFlag):
    """Lane types as flags (carla.LaneType); `Any` matches every type except NONE, as
    CARLA's -2 does."""
    NONE = 0x1
    Driving = 0x1 << 1
    Stop = 0x1 << 2
    Shoulder = 0x1 << 3
    Biking = 0x1 << 4
    Sidewalk = 0x1 << 5
    Border = 0x1 << 6
    Restricted = 0x1 << 7
    Parking = 0x1 << 8
    Bidirectional = 0x1 << 9
    Median = 0x1 << 10
    Special1 = 0x1 << 11
    Special2 = 0x1 << 12
    Special3 = 0x1 << 13
    RoadWorks = 0x1 << 14
    Tram = 0x1 << 15
    Rail = 0x1 << 16
    Entry = 0x1 << 17
    Exit = 0x1 << 18
    OffRamp = 0x1 << 19
    OnRamp = 0x1 << 20
    Any = 0x1FFFFE


# OpenDRIVE lane type strings as CARLA's parser maps them; anything else is NONE
_LANE_TYPE_NAMES = {
    "driving": LaneType.Driving, "stop": LaneType.Stop, "shoulder": LaneType.Shoulder,
    "biking": LaneType.Biking, "sidewalk": LaneType.Sidewalk, "border": LaneType.Border,
    "restricted": LaneType.Restricted, "parking": LaneType.Parking,
    "bidirectional": LaneType.Bidirectional, "median": LaneType.Median,
    "special1": LaneType.Special1, "special2": LaneType.Special2, "special3": LaneType.Special3,
    "roadworks": LaneType.RoadWorks, "tram": LaneType.Tram, "rail": LaneType.Rail,
    "entry": LaneType.Entry, "exit": LaneType.Exit, "offramp": LaneType.OffRamp,
    "onramp": LaneType.OnRamp,
}


def lane_type_from_name(name: str) -> LaneType:
    return _LANE_TYPE_NAMES.get(name.strip().lower(), LaneType.NONE)


class LaneChange(enum.IntFlag):
    """carla.LaneChange: which lane changes a marking permits."""
    NONE = 0x0
    Right = 0x1
    Left = 0x2
    Both = 0x3


class LaneMarkingType(enum.IntEnum):
    Other = 0
    Broken = 1
    Solid = 2
    SolidSolid = 3
    SolidBroken = 4
    BrokenSolid = 5
    BrokenBroken = 6
    BottsDots = 7
    Grass = 8
    Curb = 9
    NONE = 10


class LaneMarkingColor(enum.IntEnum):
    Standard = 0
    Blue = 1
    Green = 2
    Red = 3
    White = 0
    Yellow = 4
    Other = 5


_MARK_TYPES = {
    "broken": LaneMarkingType.Broken, "solid": LaneMarkingType.Solid,
    "solid solid": LaneMarkingType.SolidSolid, "solid broken": LaneMarkingType.SolidBroken,
    "broken solid": LaneMarkingType.BrokenSolid, "broken broken": LaneMarkingType.BrokenBroken,
    "botts dots": LaneMarkingType.BottsDots, "grass": LaneMarkingType.Grass,
    "curb": LaneMarkingType.Curb, "none": LaneMarkingType.NONE,
}
_MARK_COLORS = {
    "standard": LaneMarkingColor.Standard, "blue": LaneMarkingColor.Blue,
    "green": LaneMarkingColor.Green, "red": LaneMarkingColor.Red,
    "white": LaneMarkingColor.White, "yellow": LaneMarkingColor.Yellow,
}
# OpenDRIVE laneChange as CARLA maps it: "increase" -> Right, "decrease" -> Left
_LANE_CHANGES = {
    "increase": LaneChange.Right, "decrease": LaneChange.Left,
    "both": LaneChange.Both, "none": LaneChange.NONE,
}


@dataclass(frozen=True)
class LaneMarking:
    """carla.LaneMarking: type, colour, permitted lane change and width (m)."""
    type: LaneMarkingType
    color: LaneMarkingColor
    lane_change: LaneChange
    width: float = 0.0

    @classmethod
    def from_record(cls, type_name: str, color: str, lane_change: str, width: float) -> "LaneMarking":
        return cls(
            _MARK_TYPES.get(type_name.strip().lower(), LaneMarkingType.Other),
            _MARK_COLORS.get(color.strip().lower(), LaneMarkingColor.Other),
            _LANE_CHANGES.get(lane_change.strip().lower(), LaneChange.NONE),
            width,
        )
