"""Find a town's OpenDRIVE file by its CARLA name (Town01, Town10HD, a generated town).

Search order: the project's routes/ towns, then every directory of LEAD_MAPS_PATH
(os.pathsep-separated), then the extra directories the caller gives (``--maps DIR``).
A directory may be a plain folder of .xodr files, CARLA's
``CarlaUE4/Content/Carla/Maps/OpenDrive`` folder, or a ``Maps`` folder whose large towns
keep theirs in ``<Town>/OpenDrive/<Town>.xodr`` (Town12, Town13, Town15).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

MAPS_PATH_ENV = "LEAD_MAPS_PATH"
PROJECT_TOWNS = Path(__file__).resolve().parents[3] / "routes"


class MapNotFoundError(FileNotFoundError):
    """No .xodr for a town name; the message lists every place searched."""


def search_dirs(extra_dirs: Iterable[str | Path] = ()) -> list[Path]:
    """The directories searched, in order of precedence."""
    dirs = [PROJECT_TOWNS]
    dirs += [Path(p) for p in os.environ.get(MAPS_PATH_ENV, "").split(os.pathsep) if p.strip()]
    dirs += [Path(p) for p in extra_dirs]
    return dirs


def _town_name(name: str) -> str:
    # CARLA reports maps as "Carla/Maps/Town01" (CarlaWorldInfo.map_name); keep the last part
    return name.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1].removesuffix(".xodr")


def _candidates(d: Path, town: str) -> list[Path]:
    return [d / f"{town}.xodr", d / "OpenDrive" / f"{town}.xodr", d / town / "OpenDrive" / f"{town}.xodr"]


def find_map(name: str, extra_dirs: Iterable[str | Path] = ()) -> Path:
    """Path of the .xodr for town `name`; an existing .xodr path is returned as is.

    The first hit in search order wins. CARLA's "_Opt" layered variants (Town10HD_Opt)
    fall back to the plain town's file, which has the same road network.
    """
    direct = Path(name)
    if direct.suffix == ".xodr" and direct.is_file():
        return direct
    town = _town_name(name)
    if not town:
        raise MapNotFoundError(f"empty town name {name!r}")
    names = [town] + ([town.removesuffix("_Opt")] if town.endswith("_Opt") else [])
    looked: list[Path] = []
    dirs = search_dirs(extra_dirs)
    for t in names:
        for d in dirs:
            for c in _candidates(d, t):
                if c.is_file():
                    return c
                looked.append(c)
    where = "\n  ".join(str(p) for p in looked)
    raise MapNotFoundError(
        f"no OpenDRIVE file for town {town!r}; looked in:\n  {where}\n"
        f"Point {MAPS_PATH_ENV} or --maps at a folder of .xodr files "
        f"(CARLA's CarlaUE4/Content/Carla/Maps/OpenDrive).")


def list_maps(extra_dirs: Iterable[str | Path] = ()) -> list[tuple[str, Path]]:
    """Every town found on the maps path as (name, path), first occurrence of a name winning,
    sorted by name."""
    found: dict[str, Path] = {}
    for d in search_dirs(extra_dirs):
        if not d.is_dir():
            continue
        files = sorted(d.glob("*.xodr")) + sorted(d.glob("OpenDrive/*.xodr")) + sorted(d.glob("*/OpenDrive/*.xodr"))
        for f in files:
            found.setdefault(f.stem, f)
    return sorted(found.items())
