"""CARLA's Map and Waypoint on an OpenDRIVE file, without a CARLA server.

    m = Map.from_file("Town01.xodr")
    wp = m.get_waypoint(Location(100.0, 2.0, 0.0))
    wp.next(2.0), wp.get_left_lane(), wp.transform, wp.lane_width, wp.is_junction

Everything is in CARLA's world frame (left-handed, degrees) and follows LibCarla's
road::Map: a waypoint is (road_id, section_id, lane_id, s); lanes with negative ids drive
along s, positive ones against it; next()/previous() follow lane links, junction
connections included; get_waypoint() projects onto the nearest lane of the wanted type.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import numpy as np

from lead.world.gps import location_to_gps
from lead.world.index import LaneIndex
from lead.world.lane_types import LaneChange, LaneMarking, LaneType
from lead.world.lanes import RoadGeom
from lead.world.network import Lane, LaneSection, Road, RoadMark, RoadNetwork
from lead.world.opendrive import load_opendrive, parse_opendrive
from lead.world.transform import BoundingBox, Location, Rotation, Transform, Vector3D

if TYPE_CHECKING:
    from lead.world.signals import SignalData, TrafficLight, TrafficSign

# LibCarla's road::Map EPSILON: waypoints stay this far inside lane section ends
EPSILON = 10.0 * np.finfo(float).eps

LaneKey = tuple[int, int, int]   # (road_id, section_id, lane_id)


@dataclass(frozen=True)
class GeoLocation:
    latitude: float
    longitude: float
    altitude: float


@dataclass
class MarkSpan:
    """A lane marking along part of a lane boundary, road s from s0 to s1."""
    s0: float
    s1: float
    marking: LaneMarking


@dataclass
class LaneGeometry:
    """One lane of one lane section, sampled for renderers and rasterisers. Points run in
    the direction of travel; `left`/`right` are the boundaries on the driver's left/right
    (left = the side towards lane 0). Arrays are (n, 3) in CARLA's frame."""
    road_id: int
    section_id: int
    lane_id: int
    lane_type: LaneType
    is_junction: bool
    junction_id: int
    s: np.ndarray
    center: np.ndarray
    left: np.ndarray
    right: np.ndarray
    width: np.ndarray
    left_marks: list[MarkSpan] = field(default_factory=list)
    right_marks: list[MarkSpan] = field(default_factory=list)


class Waypoint:
    """carla.Waypoint: a point on a lane centre, (road_id, section_id, lane_id, s)."""

    __slots__ = ("_map", "road_id", "section_id", "lane_id", "s", "_tf")

    def __init__(self, map_: "Map", road_id: int, section_id: int, lane_id: int, s: float):
        self._map, self.road_id, self.section_id, self.lane_id, self.s = map_, road_id, section_id, lane_id, s
        self._tf: tuple | None = None   # cached pose

    # ------------------------------------------------------------ identity
    @property
    def key(self) -> LaneKey:
        return (self.road_id, self.section_id, self.lane_id)

    @property
    def id(self) -> int:
        return hash((self.road_id, self.section_id, self.lane_id, round(self.s, 9)))

    def __eq__(self, other) -> bool:
        return (isinstance(other, Waypoint) and other._map is self._map and other.key == self.key
                and abs(other.s - self.s) < 1e-9)

    def __hash__(self) -> int:
        return self.id

    def __repr__(self) -> str:
        return f"Waypoint(road_id={self.road_id}, section_id={self.section_id}, lane_id={self.lane_id}, s={self.s:.3f})"

    # ------------------------------------------------------------ geometry
    @property
    def transform(self) -> Transform:
        """Lane-centre pose; a fresh object each time (CARLA returns values, not views)."""
        if self._tf is None:
            self._tf = self._map._pose(self.road_id, self.section_id, self.lane_id, self.s)
        x, y, z, pitch, yaw, _ = self._tf
        return Transform(Location(x, y, z), Rotation(pitch, yaw, 0.0))

    @property
    def xyz(self) -> tuple[float, float, float]:
        """Location as a plain tuple (cheaper than transform.location in tight loops)."""
        if self._tf is None:
            self._tf = self._map._pose(self.road_id, self.section_id, self.lane_id, self.s)
        return self._tf[0], self._tf[1], self._tf[2]

    @property
    def lane_width(self) -> float:
        if self._tf is None:
            self._tf = self._map._pose(self.road_id, self.section_id, self.lane_id, self.s)
        return self._tf[5]

    @property
    def lane_type(self) -> LaneType:
        return self._map._lane(self.key).type

    @property
    def is_junction(self) -> bool:
        return self._map.network.roads[self.road_id].is_junction

    is_intersection = is_junction

    @property
    def junction_id(self) -> int:
        return self._map.network.roads[self.road_id].junction

    @property
    def speed_limit(self) -> float | None:
        """km/h from the lane's or road's speed record at s (None when the file has none)."""
        lane = self._map._lane(self.key)
        if lane.speed_kmh is not None:
            return lane.speed_kmh
        return self._map.network.roads[self.road_id].speed_limit(self.s)

    # ------------------------------------------------------------ markings
    @property
    def right_lane_marking(self) -> LaneMarking | None:
        """Marking of this lane's outer border (on the driver's right)."""
        return self._map._marking(self.road_id, self.section_id, self.lane_id, self.s)

    @property
    def left_lane_marking(self) -> LaneMarking | None:
        """Marking of the inner neighbour's border (on the driver's left)."""
        inner = self.lane_id + 1 if self.lane_id < 0 else self.lane_id - 1
        return self._map._marking(self.road_id, self.section_id, inner, self.s)

    @property
    def lane_change(self) -> LaneChange:
        """Permitted lane changes in the direction of travel (CARLA's Waypoint::GetLaneChange)."""
        right, left = self.right_lane_marking, self.left_lane_marking
        c_right = right.lane_change if right is not None else LaneChange.Both
        c_left = left.lane_change if left is not None else LaneChange.Both
        if self.lane_id > 0:
            c_right = _swap(c_right)
        inner = self.lane_id - 1 if self.lane_id > 0 else self.lane_id + 1
        if inner > 0:
            c_left = _swap(c_left)
        return LaneChange((c_right & LaneChange.Right) | (c_left & LaneChange.Left))

    # ------------------------------------------------------------ navigation
    def next(self, distance: float) -> list["Waypoint"]:
        """Waypoints `distance` metres ahead along the lane, one per branch."""
        return [Waypoint(self._map, *k, s) for k, s in self._map._advance(self.key, self.s, distance, True)]

    def previous(self, distance: float) -> list["Waypoint"]:
        return [Waypoint(self._map, *k, s) for k, s in self._map._advance(self.key, self.s, distance, False)]

    def next_until_lane_end(self, distance: float) -> list["Waypoint"]:
        """Waypoints every `distance` metres up to and including the end of this lane."""
        return self._until_end(distance, True)

    def previous_until_lane_start(self, distance: float) -> list["Waypoint"]:
        return self._until_end(distance, False)

    def _until_end(self, distance: float, forward: bool) -> list["Waypoint"]:
        out: list[Waypoint] = []
        cur = self
        remaining = self._map._remaining(self.key, self.s, forward)
        while remaining > distance:
            nxt = cur.next(distance) if forward else cur.previous(distance)
            if len(nxt) != 1 or nxt[0].key != self.key:
                break
            cur = nxt[0]
            out.append(cur)
            remaining = self._map._remaining(self.key, cur.s, forward)
        sec = self._map._section(self.key)
        end_s = sec.s1 - EPSILON if (self.lane_id < 0) == forward else sec.s0 + EPSILON
        out.append(Waypoint(self._map, *self.key, end_s))
        return out

    def get_left_lane(self) -> "Waypoint | None":
        lid = -self.lane_id if abs(self.lane_id) == 1 else (self.lane_id - 1 if self.lane_id > 0 else self.lane_id + 1)
        return self._neighbour(lid)

    def get_right_lane(self) -> "Waypoint | None":
        return self._neighbour(self.lane_id + 1 if self.lane_id > 0 else self.lane_id - 1)

    def _neighbour(self, lane_id: int) -> "Waypoint | None":
        if lane_id not in self._map._section(self.key).lanes:
            return None
        return Waypoint(self._map, self.road_id, self.section_id, lane_id, self.s)

    def get_junction(self) -> "Junction | None":
        return self._map.get_junction(self.junction_id) if self.is_junction else None


def _swap(c: LaneChange) -> LaneChange:
    if c == LaneChange.Right:
        return LaneChange.Left
    if c == LaneChange.Left:
        return LaneChange.Right
    return c


class Junction:
    """carla.Junction: id, bounding box and the lanes crossing it."""

    def __init__(self, map_: "Map", junction_id: int):
        self._map, self.id = map_, junction_id
        self._bbox: BoundingBox | None = None

    @property
    def bounding_box(self) -> BoundingBox:
        if self._bbox is None:
            lanes = [g for g in self._map.lane_geometry(step=1.0) if g.junction_id == self.id]
            pts = [g.left for g in lanes] + [g.right for g in lanes]
            p = np.concatenate(pts) if pts else np.zeros((1, 3))
            lo, hi = p.min(0), p.max(0)
            c, e = (lo + hi) / 2, (hi - lo) / 2
            self._bbox = BoundingBox(Location(*map(float, c)), Vector3D(*map(float, e)))
        return self._bbox

    def get_waypoints(self, lane_type: LaneType = LaneType.Driving) -> list[tuple[Waypoint, Waypoint]]:
        """(start, end) waypoints of every lane of the junction's connecting roads."""
        m = self._map
        out = []
        for road in m.network.roads.values():
            if road.junction != self.id:
                continue
            for sec in road.sections:
                for lid, lane in sorted(sec.lanes.items()):
                    if lid != 0 and lane.type & lane_type:
                        key = (road.id, sec.index, lid)
                        out.append((m._lane_start(key), m._lane_end(key)))
        return out


class Map:
    """carla.Map for an OpenDRIVE road network."""

    def __init__(self, network: RoadNetwork, name: str, opendrive: str | None = None,
                 index_step: float = 1.0):
        self.network = network
        self.name = name
        self._opendrive = opendrive
        self._geoms = {rid: RoadGeom(r) for rid, r in network.roads.items()}
        self._succ, self._pred = self._links()
        self._index_step = index_step
        self._index: LaneIndex | None = None
        self._index_keys: list[LaneKey] = []
        self._lane_geometry: dict[float, list[LaneGeometry]] = {}
        self._signals = None
        self._junctions = {jid: Junction(self, jid) for jid in network.junctions}

    # ------------------------------------------------------------ loading
    @classmethod
    def from_file(cls, path: str | Path, name: str | None = None) -> "Map":
        """Load an .xodr file; the map's name is the file's stem unless given."""
        path = Path(path)
        net = load_opendrive(path)
        return cls(net, name or path.stem, None)

    @classmethod
    def from_string(cls, text: str, name: str = "<string>") -> "Map":
        """Build a map from OpenDRIVE text (e.g. carla_msgs/CarlaWorldInfo.opendrive)."""
        return cls(parse_opendrive(text, source=name), name, text)

    def to_opendrive(self) -> str:
        """The OpenDRIVE text of this map."""
        if self._opendrive is None:
            self._opendrive = Path(self.network.source).read_text(encoding="utf-8")
        return self._opendrive

    # ------------------------------------------------------------ lanes
    def _section(self, key: LaneKey) -> LaneSection:
        return self.network.roads[key[0]].sections[key[1]]

    def _lane(self, key: LaneKey) -> Lane:
        return self.network.roads[key[0]].sections[key[1]].lanes[key[2]]

    def _pose(self, road_id: int, section_id: int, lane_id: int, s: float):
        road = self.network.roads[road_id]
        return self._geoms[road_id].pose(road.sections[section_id], lane_id, s)

    def _marking(self, road_id: int, section_id: int, lane_id: int, s: float) -> LaneMarking | None:
        sec = self.network.roads[road_id].sections[section_id]
        lane = sec.lanes.get(lane_id)
        if lane is None or not lane.road_marks:
            return None
        rec = _mark_at(lane.road_marks, s - sec.s0)
        return _marking(rec) if rec is not None else None

    def _links(self) -> tuple[dict[LaneKey, list[LaneKey]], dict[LaneKey, list[LaneKey]]]:
        """Successor lanes in the direction of travel, as LibCarla's MapBuilder links them
        (lane links inside a road, road links, junction connections of incoming roads;
        see _edge_lane for contact points)."""
        roads, junctions = self.network.roads, self.network.junctions
        succ: dict[LaneKey, list[LaneKey]] = {}
        for road in roads.values():
            last = len(road.sections) - 1
            for sec in road.sections:
                for lid, lane in sec.lanes.items():
                    if lid == 0:
                        continue
                    fwd = lid < 0
                    nxt = lane.successor if fwd else lane.predecessor
                    out: list[LaneKey] = []
                    at_end = sec.index == last if fwd else sec.index == 0
                    link = road.successor if fwd else road.predecessor
                    if not at_end:
                        if nxt is not None:
                            nsec = road.sections[sec.index + (1 if fwd else -1)]
                            if nxt in nsec.lanes:
                                out.append((road.id, nsec.index, nxt))
                    elif link is not None and link.element_type == "road":
                        if nxt is not None:
                            k = _edge_lane(roads[link.element_id], nxt, link.contact_point)
                            if k:
                                out.append(k)
                    elif link is not None:
                        for con in junctions[link.element_id].connections:
                            if con.incoming_road != road.id:
                                continue
                            for ll in con.lane_links:
                                if ll.from_lane == lid and ll.to_lane != 0:
                                    k = _edge_lane(roads[con.connecting_road], ll.to_lane, con.contact_point)
                                    if k:
                                        out.append(k)
                    succ[(road.id, sec.index, lid)] = list(dict.fromkeys(out))
        pred: dict[LaneKey, list[LaneKey]] = {k: [] for k in succ}
        for k, outs in succ.items():
            for o in outs:
                if k not in pred[o]:
                    pred[o].append(k)
        return succ, pred

    def successors(self, key: LaneKey) -> list[LaneKey]:
        """Lanes that follow lane `key` (road_id, section_id, lane_id) in its direction of travel."""
        return self._succ.get(key, [])

    def predecessors(self, key: LaneKey) -> list[LaneKey]:
        return self._pred.get(key, [])

    def lane_keys(self, lane_type: LaneType = LaneType.Any) -> Iterator[LaneKey]:
        """All (road_id, section_id, lane_id) of lanes matching `lane_type`, in file order."""
        for road in self.network.roads.values():
            for sec in road.sections:
                for lid in sorted(sec.lanes):
                    if lid != 0 and sec.lanes[lid].type & lane_type:
                        yield (road.id, sec.index, lid)

    def _lane_start(self, key: LaneKey) -> Waypoint:
        sec = self._section(key)
        s = sec.s0 + 10 * EPSILON if key[2] <= 0 else sec.s1 - 10 * EPSILON
        return Waypoint(self, *key, s)

    def _lane_end(self, key: LaneKey) -> Waypoint:
        sec = self._section(key)
        s = sec.s1 - 10 * EPSILON if key[2] <= 0 else sec.s0 + 10 * EPSILON
        return Waypoint(self, *key, s)

    def _remaining(self, key: LaneKey, s: float, forward: bool) -> float:
        sec = self._section(key)
        along_s = (key[2] <= 0) == forward
        return sec.s1 - s if along_s else s - sec.s0

    def _advance(self, key: LaneKey, s: float, distance: float, forward: bool) -> list[tuple[LaneKey, float]]:
        """LibCarla's GetNext/GetPrevious: move `distance` along the lane, branching at its end."""
        if distance <= 0:
            raise ValueError(f"distance must be positive, got {distance}")
        out: list[tuple[LaneKey, float]] = []
        stack = [(key, s, distance, 0)]
        links = self._succ if forward else self._pred
        while stack:
            k, s_, d, depth = stack.pop()
            remaining = max(self._remaining(k, s_, forward), 0.0)
            if d <= remaining:
                along_s = (k[2] <= 0) == forward
                out.append((k, s_ + d - EPSILON if along_s else s_ - d + EPSILON))
                continue
            if depth > 10000:  # a loop of zero-length lanes: stop rather than spin
                continue
            nxt = links.get(k, [])
            for n in reversed(nxt):
                w = self._lane_start(n) if forward else self._lane_end(n)
                stack.append((n, w.s, d - remaining, depth + 1))
        return out

    # ------------------------------------------------------------ waypoints
    def _lane_index(self) -> LaneIndex:
        if self._index is None:
            polylines, stations, flags, along, keys = [], [], [], [], []
            for key in self.lane_keys(LaneType.Any | LaneType.NONE):
                road = self.network.roads[key[0]]
                sec = road.sections[key[1]]
                s = _stations(sec.s0, sec.s1, self._index_step / max(1.0, _curvature_factor(road)))
                if len(s) < 2:
                    continue
                pts = self._geoms[key[0]].sample(sec, key[2], s)["center"]
                polylines.append(pts)
                stations.append(s)
                flags.append(int(sec.lanes[key[2]].type))
                along.append(key[2] < 0)
                keys.append(key)
            self._index = LaneIndex(polylines, stations, flags, along)
            self._index_keys = keys
        return self._index

    def get_waypoint(self, location: Vector3D, project_to_road: bool = True,
                     lane_type: LaneType = LaneType.Driving) -> Waypoint | None:
        """The waypoint at the centre of the nearest lane of `lane_type`. With
        project_to_road=False it is None unless the location lies inside that lane
        (2-D distance to the centre below half the lane width), as in CARLA."""
        index = self._lane_index()
        hit = index.nearest(location.x, location.y, location.z, int(lane_type))
        if hit is None:
            return None
        key = self._index_keys[hit[0]]
        sec = self._section(key)
        s = min(max(hit[1], sec.s0 + EPSILON), sec.s1 - EPSILON) if sec.s1 - sec.s0 > 2 * EPSILON else sec.s0
        wp = Waypoint(self, *key, s)
        if project_to_road:
            return wp
        loc = wp.transform.location
        if math.hypot(loc.x - location.x, loc.y - location.y) < 0.5 * wp.lane_width:
            return wp
        return None

    def get_waypoint_xodr(self, road_id: int, lane_id: int, s: float) -> Waypoint | None:
        """The waypoint at OpenDRIVE (road, lane, s), or None if there is no such lane."""
        road = self.network.roads.get(road_id)
        if road is None or s < 0.0 or s >= road.length:
            return None
        sec = road.sections[road.section_index(s)]
        if lane_id == 0 or lane_id not in sec.lanes:
            return None
        return Waypoint(self, road_id, sec.index, lane_id, s)

    def generate_waypoints(self, distance: float) -> list[Waypoint]:
        """Waypoints on every driving lane every `distance` metres of road s (CARLA's order:
        road by road, s from EPSILON, lanes by ascending id)."""
        if distance <= 0:
            raise ValueError(f"distance must be positive, got {distance}")
        out = []
        for road in self.network.roads.values():
            n = int(math.ceil((road.length - 2 * EPSILON) / distance)) if road.length > 2 * EPSILON else 0
            for i in range(n):
                s = EPSILON + i * distance
                if s >= road.length - EPSILON:
                    break
                sec = road.sections[road.section_index(s)]
                for lid in sorted(sec.lanes):
                    if lid != 0 and sec.lanes[lid].type & LaneType.Driving:
                        out.append(Waypoint(self, road.id, sec.index, lid, s))
        return out

    def get_topology(self) -> list[tuple[Waypoint, Waypoint]]:
        """(start of lane, start of each successor lane) for every driving lane section,
        or (start, end) of a lane without successors; CARLA's Map::GenerateTopology."""
        out = []
        for key in self.lane_keys(LaneType.Driving):
            start = self._lane_start(key)
            succs = self._succ.get(key, [])
            if not succs:
                out.append((start, self._lane_end(key)))
            for n in succs:
                out.append((start, self._lane_start(n)))
        return out

    def get_spawn_points(self, spacing: float = 20.0, margin: float = 3.0) -> list[Transform]:
        """Spawn transforms on driving lanes outside junctions, every `spacing` metres
        along each lane, `margin` metres clear of lane ends, 0.5 m above the road (CARLA
        raises its generated spawn points by 50 cm)."""
        out = []
        for key in self.lane_keys(LaneType.Driving):
            if self.network.roads[key[0]].is_junction:
                continue
            sec = self._section(key)
            length = sec.s1 - sec.s0
            d = margin
            while d <= length - margin:
                s = sec.s0 + d if key[2] < 0 else sec.s1 - d
                x, y, z, _, yaw, _ = self._pose(*key, s)
                out.append(Transform(Location(x, y, z + 0.5), Rotation(0.0, yaw, 0.0)))
                d += spacing
        return out

    # ------------------------------------------------------------ junctions, geo
    @property
    def junctions(self) -> dict[int, Junction]:
        return self._junctions

    def get_junction(self, junction_id: int) -> Junction | None:
        return self._junctions.get(junction_id)

    @property
    def lat_lon_ref(self) -> tuple[float, float]:
        """The leaderboard's (lat_ref, lon_ref) from the header's geoReference."""
        g = self.network.geo_reference
        return g.lat_0, g.lon_0

    def transform_to_geolocation(self, location: Vector3D) -> GeoLocation:
        lat0, lon0 = self.lat_lon_ref
        g = location_to_gps(lat0, lon0, location.x, location.y, location.z)
        return GeoLocation(g["lat"], g["lon"], g["z"])

    # ------------------------------------------------------------ geometry export
    def lane_geometry(self, step: float = 0.5, lane_type: LaneType = LaneType.Any | LaneType.NONE) -> list[LaneGeometry]:
        """Every lane of `lane_type` sampled about every `step` metres (lane ends
        included), for renderers and rasterisers; cached per step."""
        if step not in self._lane_geometry:
            out = []
            for key in self.lane_keys(LaneType.Any | LaneType.NONE):
                out.append(self._sample_lane(key, step))
            self._lane_geometry[step] = out
        return [g for g in self._lane_geometry[step] if g.lane_type & lane_type]

    def _sample_lane(self, key: LaneKey, step: float) -> LaneGeometry:
        road = self.network.roads[key[0]]
        sec = road.sections[key[1]]
        lane = sec.lanes[key[2]]
        s = _stations(sec.s0, sec.s1, step)
        if len(s) < 2:
            s = np.array([sec.s0, sec.s1])
        smp = self._geoms[key[0]].sample(sec, key[2], s)
        center, inner, outer, width = smp["center"], smp["inner"], smp["outer"], smp["width"]
        right_marks = _mark_spans(lane.road_marks, sec)
        inner_lane = sec.lanes.get(key[2] + 1 if key[2] < 0 else key[2] - 1)
        left_marks = _mark_spans(inner_lane.road_marks, sec) if inner_lane is not None else []
        if key[2] > 0:  # travel against s
            s, center, inner, outer, width = s[::-1], center[::-1], inner[::-1], outer[::-1], width[::-1]
        return LaneGeometry(key[0], key[1], key[2], lane.type, road.is_junction, road.junction,
                            s, center, inner, outer, width, left_marks, right_marks)

    # ------------------------------------------------------------ signals, crosswalks
    def _signal_data(self) -> "SignalData":
        if self._signals is None:
            from lead.world.signals import extract_signals
            self._signals = extract_signals(self)
        return self._signals

    def get_traffic_lights(self) -> list["TrafficLight"]:
        """Traffic lights (OpenDRIVE type 1000001) as lead.world.signals.TrafficLight."""
        return self._signal_data().traffic_lights

    def get_traffic_light_groups(self) -> dict[int, list["TrafficLight"]]:
        """Traffic lights grouped per junction (CARLA cycles a junction's group together)."""
        return self._signal_data().groups

    def get_stop_signs(self) -> list["TrafficSign"]:
        """Stop signs (type 206) as lead.world.signals.TrafficSign."""
        return [s for s in self._signal_data().signs if s.type == "206"]

    def get_yield_signs(self) -> list["TrafficSign"]:
        return [s for s in self._signal_data().signs if s.type == "205"]

    def get_traffic_signs(self) -> list["TrafficSign"]:
        """All signals that are not traffic lights (stop, yield, speed, ...)."""
        return list(self._signal_data().signs)

    def get_crosswalks(self) -> list[list[Location]]:
        """Crosswalk polygons (closed as the file closes them), one list per crosswalk."""
        return self._signal_data().crosswalks

    def get_stop_lines(self) -> list[list[Location]]:
        """Painted stop lines the file gives as objects, as polylines."""
        return self._signal_data().stop_lines


def _edge_lane(road: Road, lane_id: int, contact: str | None) -> LaneKey | None:
    """Lane `lane_id` of `road` where travel enters it. LibCarla infers the entry end
    from the lane's sign (negative lanes start at s=0); a contact point that names the
    other end links two lanes head to head (only sidewalks and shoulders in CARLA's
    towns), which no vehicle can follow, so that link is dropped."""
    entry = "start" if lane_id < 0 else "end"
    if contact is not None and contact != entry:
        return None
    secs = road.sections if lane_id < 0 else list(reversed(road.sections))
    for sec in secs:
        if lane_id in sec.lanes:
            return (road.id, sec.index, lane_id)
    return None


def _mark_at(marks: list[RoadMark], ds: float) -> RoadMark | None:
    """The road mark in force at ds from the section start (None before the first)."""
    rec = None
    for m in marks:
        if m.s_offset <= ds + 1e-9:
            rec = m
        else:
            break
    return rec


_MARK_CACHE: dict[tuple, LaneMarking] = {}


def _marking(rec: RoadMark) -> LaneMarking:
    k = (rec.type, rec.color, rec.lane_change, rec.width)
    m = _MARK_CACHE.get(k)
    if m is None:
        m = _MARK_CACHE[k] = LaneMarking.from_record(*k)
    return m


def _mark_spans(marks: list[RoadMark], sec: LaneSection) -> list[MarkSpan]:
    spans = []
    for i, m in enumerate(marks):
        s0 = sec.s0 + max(m.s_offset, 0.0)
        s1 = sec.s0 + marks[i + 1].s_offset if i + 1 < len(marks) else sec.s1
        if s1 > s0:
            spans.append(MarkSpan(s0, min(s1, sec.s1), _marking(m)))
    return spans


def _stations(s0: float, s1: float, step: float) -> np.ndarray:
    """s0..s1 inclusive in equal steps of at most `step`."""
    if s1 - s0 <= 1e-9:
        return np.array([s0]) if s1 - s0 >= 0 else np.array([])
    n = max(1, int(math.ceil((s1 - s0) / step)))
    return np.linspace(s0, s1, n + 1)


def _curvature_factor(road: Road) -> float:
    """How much finer than 1 m a road must be sampled so polyline chords stay within
    ~5 mm of the true lane centre (chord error = step² · curvature / 8)."""
    kmax = 0.0
    for g in road.plan_view.geometries:
        if g.kind == "arc":
            kmax = max(kmax, abs(g.curvature))
        elif g.kind == "spiral":
            kmax = max(kmax, abs(g.curv_start), abs(g.curv_end))
        elif g.kind in ("poly3", "paramPoly3") and g.length > 0:
            _, _, h = g.evaluate(np.linspace(0.0, g.length, 33))
            kmax = max(kmax, float(np.abs(np.diff(np.unwrap(h))).max()) / (g.length / 32))
    if kmax <= 0:
        return 1.0
    step = math.sqrt(8 * 0.005 / (2 * kmax))  # 2x: lanes inside a curve bend more than its reference
    return max(1.0, 1.0 / max(step, 0.1))
