"""Detail levels, sizes and colours of the static town.

Facts kept from CARLA (its towns and LibCarla's OpenDRIVE mesh generator):
- kerbs/sidewalks stand ~0.15 m above the road (the towns' `curb` road marks are 0.152 m);
- lane marks are the widths the .xodr gives (0.125 m in Town01/Town10HD), white or yellow;
- broken marks: LibCarla's MeshFactory paints 3 x vertex_distance and leaves 3 x
  vertex_distance free, with the default vertex_distance of 2 m: 6 m on, 6 m off;
- no lane marks inside junctions (MeshFactory skips junction roads);
- crosswalks, stop lines and lane marks are class RoadLine (24); kerbs are SideWalks.
Colours are linear-ish RGB picked to look like the towns under the renderer's sun.
"""
from __future__ import annotations

from dataclasses import dataclass

KERB_HEIGHT = 0.15          # m, sidewalk top above the road
MARK_LIFT = 0.01            # m, paint above the surface it lies on
BROKEN_ON, BROKEN_OFF = 6.0, 6.0   # m, LibCarla: 3 x 2 m painted, 3 x 2 m free
DOUBLE_GAP = 0.12           # m between the two lines of a double mark
BOTTS_SPACING = 2.0         # m between botts dots
STOP_LINE_WIDTH = 0.40      # m
CROSSWALK_BAR, CROSSWALK_GAP = 0.50, 0.60   # m, continental bars along the traffic
TERRAIN_LIFT = 0.10         # m, grass plots above the road (below the kerb top)
GROUND_DROP = 0.05          # m, the far ground plane below the lowest road
GROUND_MARGIN = 600.0       # m the ground plane reaches past the town

ASPHALT = (62, 62, 64)
ASPHALT_JUNCTION = (60, 60, 62)
SHOULDER = (74, 72, 70)
SIDEWALK_TOP = (150, 148, 142)
KERB = (172, 170, 164)
MEDIAN_TOP = (88, 112, 58)
WHITE_PAINT = (222, 222, 215)
YELLOW_PAINT = (215, 170, 40)
GRASS = (86, 112, 54)
GROUND = (92, 106, 62)
POLE_GREY = (105, 105, 110)
TRUNK = (88, 68, 50)

FACADES = [(176, 160, 140), (150, 92, 72), (190, 188, 182), (122, 122, 128), (208, 198, 176),
           (140, 150, 162), (168, 128, 98), (200, 176, 150), (110, 104, 98), (182, 186, 194)]
ROOFS = [(82, 80, 78), (96, 92, 88), (70, 72, 76), (118, 62, 50), (104, 74, 58)]
WINDOW = (48, 58, 72)
SHOPFRONT = (36, 42, 50)
CROWNS = [(58, 104, 44), (66, 112, 48), (52, 92, 40), (74, 116, 54), (60, 98, 36)]
HEDGE = (54, 92, 40)
FENCE = (120, 110, 96)
WALL = (160, 150, 136)


@dataclass(frozen=True)
class Detail:
    """What one detail level builds; triangles traded for speed."""
    name: str
    step: float               # m between lane samples
    tolerance: float          # m a simplified ribbon may stray from the lane
    cell: float               # m, the ground raster's cell
    max_rect: int             # cells, longest side of one merged grass rectangle
    windows: bool             # window bands on facades
    roofs: bool               # pitched roofs on low buildings
    street_trees: float       # probability of a tree at each sidewalk slot
    park_tree_area: float     # m^2 of open grass per tree (0: none)
    max_park_trees: int       # at most this many (large maps)
    lamps: bool               # street lamps along sidewalks
    street_props: bool        # hydrants, bins, benches
    fences: bool              # fences, walls and hedges in frontage gaps
    tree_sides: int           # crown polygon sides


DETAILS = {
    "low": Detail("low", step=2.0, tolerance=0.05, cell=1.0, max_rect=24, windows=False, roofs=False,
                  street_trees=0.35, park_tree_area=0.0, max_park_trees=0, lamps=False, street_props=False,
                  fences=False, tree_sides=5),
    "normal": Detail("normal", step=1.0, tolerance=0.02, cell=0.5, max_rect=32, windows=True, roofs=True,
                     street_trees=0.7, park_tree_area=220.0, max_park_trees=2500, lamps=True, street_props=True,
                     fences=True, tree_sides=7),
    "high": Detail("high", step=0.5, tolerance=0.01, cell=0.5, max_rect=32, windows=True, roofs=True,
                   street_trees=0.85, park_tree_area=120.0, max_park_trees=6000, lamps=True, street_props=True,
                   fences=True, tree_sides=9),
}


def detail_level(name: str) -> Detail:
    try:
        return DETAILS[name]
    except KeyError:
        raise ValueError(f"unknown scene detail {name!r}; known: {sorted(DETAILS)}") from None
