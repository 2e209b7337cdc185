"""Deterministic town generation from a seed."""
from __future__ import annotations

import numpy as np

from lead.world.routes import RouteConfig
from lead.world.towngen.layout import LayoutError, grid_layout, irregular_layout
from lead.world.towngen.network import Town, build_town
from lead.world.towngen.routegen import generate_routes
from lead.world.towngen.xodr import town_to_xodr

KINDS = ("grid", "irregular")
MAX_DRAWS = 50


def town_name(seed: int, kind: str) -> str:
    """Default town name, e.g. LeadGrid001; it is also the .xodr file's stem."""
    return f"Lead{kind.capitalize()}{seed:03d}"


def build(seed: int, kind: str = "grid", name: str | None = None) -> Town:
    """The road network of a town (before serialisation)."""
    if kind not in KINDS:
        raise ValueError(f"unknown town kind {kind!r}; choose one of {', '.join(KINDS)}")
    rng = np.random.default_rng(seed)
    name = name or town_name(seed, kind)
    for _ in range(MAX_DRAWS):
        try:
            layout = grid_layout(rng) if kind == "grid" else irregular_layout(rng)
            return build_town(name, layout, rng)
        except LayoutError:
            continue  # draw again from the same stream: still deterministic
    raise RuntimeError(f"no usable {kind} layout for seed {seed} in {MAX_DRAWS} draws")


def generate_town(seed: int, kind: str = "grid", name: str | None = None,
                  n_routes: int = 12) -> tuple[str, list[RouteConfig]]:
    """(OpenDRIVE text, Leaderboard 2.0 routes) of a procedural town; the same seed,
    kind and name always give the same output."""
    town = build(seed, kind, name)
    routes = generate_routes(town, np.random.default_rng([seed, 1]), n_routes)
    return town_to_xodr(town), routes
