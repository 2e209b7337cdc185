"""The parsed OpenDRIVE road network, as plain data in the file's own frame.

Produced by lead.world.opendrive; lead.world.map builds CARLA's view on top of it.
Ids follow CARLA: road, junction and lane ids are ints, lane sections are numbered
0.. in order of s, signal ids are strings.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from lead.world.geometry import CubicSeq, ReferenceLine
from lead.world.lane_types import LaneType


@dataclass
class RoadLink:
    """<predecessor>/<successor> of a road."""
    element_type: str            # "road" or "junction"
    element_id: int
    contact_point: str | None    # "start", "end" or None


@dataclass
class RoadMark:
    """<roadMark> of a lane; s_offset is relative to the lane section start."""
    s_offset: float
    type: str = "none"
    color: str = "standard"
    lane_change: str = "both"    # OpenDRIVE's default when the attribute is absent
    width: float = 0.0
    weight: str = "standard"
    material: str = "standard"
    height: float = 0.0


@dataclass
class Lane:
    id: int
    type: LaneType
    type_name: str               # the file's spelling, e.g. "driving", "curb"
    level: bool = False
    predecessor: int | None = None   # lane id in the previous section / road
    successor: int | None = None
    widths: CubicSeq = field(default_factory=CubicSeq)    # s relative to the section start
    borders: CubicSeq = field(default_factory=CubicSeq)   # outer border t, if no widths
    road_marks: list[RoadMark] = field(default_factory=list)
    speed_kmh: float | None = None   # lane <speed> record (first), if any


@dataclass
class LaneSection:
    index: int                   # CARLA's section_id
    s0: float
    s1: float
    lanes: dict[int, Lane]       # id -> lane, includes lane 0 when the file has it

    @property
    def length(self) -> float:
        return self.s1 - self.s0


@dataclass
class RoadTypeRecord:
    s0: float
    type: str
    speed_kmh: float | None


@dataclass
class Validity:
    from_lane: int
    to_lane: int

    def lanes(self) -> list[int]:
        lo, hi = sorted((self.from_lane, self.to_lane))
        return [i for i in range(lo, hi + 1) if i != 0]


@dataclass
class Signal:
    """<signal>: traffic light (CARLA type 1000001), stop (206), yield (205), others."""
    id: str
    road_id: int
    s: float
    t: float
    name: str = ""
    type: str = ""
    subtype: str = ""
    country: str = ""
    dynamic: bool = False
    orientation: str = "+"       # "+" (valid in +s direction), "-" or "none"
    z_offset: float = 0.0
    h_offset: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0
    height: float = 0.0
    width: float = 0.0
    value: float | None = None
    validities: list[Validity] = field(default_factory=list)


@dataclass
class SignalReference:
    """<signalReference>: a signal placed on another road also governs these lanes."""
    signal_id: str
    road_id: int
    s: float
    t: float
    orientation: str = "+"
    validities: list[Validity] = field(default_factory=list)


@dataclass
class RoadObject:
    """<object>; outline points are (u, v, z) local to the object (cornerLocal) or
    (s, t, dz) on the road (cornerRoad), as `outline_kind` says."""
    id: str
    road_id: int
    s: float
    t: float
    name: str = ""
    type: str = ""
    subtype: str = ""
    z_offset: float = 0.0
    hdg: float = 0.0
    orientation: str = "none"
    length: float = 0.0
    width: float = 0.0
    radius: float = 0.0
    height: float = 0.0
    outline_kind: str = ""       # "local", "road" or "" (no outline)
    outline: list[tuple[float, float, float]] = field(default_factory=list)

    @property
    def is_crosswalk(self) -> bool:
        return self.type.lower() == "crosswalk" or "crosswalk" in self.name.lower()

    @property
    def is_stop_line(self) -> bool:
        key = (self.name + " " + self.type + " " + self.subtype).lower().replace("_", "").replace(" ", "")
        return "stopline" in key


@dataclass
class Road:
    id: int
    name: str
    length: float
    junction: int                # -1 when the road is not part of a junction
    plan_view: ReferenceLine
    elevation: CubicSeq
    lane_offset: CubicSeq
    sections: list[LaneSection]
    predecessor: RoadLink | None = None
    successor: RoadLink | None = None
    types: list[RoadTypeRecord] = field(default_factory=list)
    signals: list[Signal] = field(default_factory=list)
    signal_references: list[SignalReference] = field(default_factory=list)
    objects: list[RoadObject] = field(default_factory=list)
    rule: str = "RHT"

    @property
    def is_junction(self) -> bool:
        return self.junction != -1

    def section_index(self, s: float) -> int:
        """Index of the lane section holding s (the last one starting at or before s)."""
        lo, hi = 0, len(self.sections) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.sections[mid].s0 <= s:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def speed_limit(self, s: float) -> float | None:
        """Speed limit in km/h from the <type> record in force at s, if it has one."""
        rec = None
        for t in self.types:
            if t.s0 <= s + 1e-9:
                rec = t
        return rec.speed_kmh if rec is not None else None


@dataclass
class LaneLink:
    from_lane: int
    to_lane: int


@dataclass
class Connection:
    id: str
    incoming_road: int
    connecting_road: int
    contact_point: str
    lane_links: list[LaneLink] = field(default_factory=list)


@dataclass
class Junction:
    id: int
    name: str
    connections: list[Connection] = field(default_factory=list)
    controllers: list[str] = field(default_factory=list)   # controller ids, in file order


@dataclass
class Controller:
    id: str
    name: str
    sequence: int | None
    signal_ids: list[str] = field(default_factory=list)


@dataclass
class GeoReference:
    """The header's <geoReference> PROJ string and the leaderboard's lat/lon reference
    (+lat_0 / +lon_0; 42.0 / 2.0 when absent, as the leaderboard defaults)."""
    proj: str = ""
    lat_0: float = 42.0
    lon_0: float = 2.0


@dataclass
class RoadNetwork:
    source: str
    revision: tuple[int, int]
    roads: dict[int, Road]
    junctions: dict[int, Junction]
    controllers: dict[str, Controller]
    geo_reference: GeoReference
    header_name: str = ""
    vendor: str = ""
    warnings: list[str] = field(default_factory=list)
