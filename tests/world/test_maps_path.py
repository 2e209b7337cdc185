"""Maps by name: project towns first, then LEAD_MAPS_PATH, then extra dirs (CARLA's layout)."""
from __future__ import annotations

import os
import shutil

import pytest

from lead.world.maps_path import MAPS_PATH_ENV, PROJECT_TOWNS, MapNotFoundError, find_map, list_maps, search_dirs


@pytest.fixture
def carla_tree(carla_maps, tmp_path):
    """A CARLA-like install: Maps/OpenDrive/Town01.xodr and Maps/Town10HD/OpenDrive/Town10HD.xodr."""
    maps = tmp_path / "CarlaUE4" / "Content" / "Carla" / "Maps"
    (maps / "OpenDrive").mkdir(parents=True)
    shutil.copy(carla_maps / "Town01.xodr", maps / "OpenDrive" / "Town01.xodr")
    (maps / "Town10HD" / "OpenDrive").mkdir(parents=True)
    shutil.copy(carla_maps / "Town10HD.xodr", maps / "Town10HD" / "OpenDrive" / "Town10HD.xodr")
    return maps


def test_project_towns_come_first(tmp_path, monkeypatch):
    shipped = sorted(PROJECT_TOWNS.glob("*.xodr"))
    assert len(shipped) >= 2
    name = shipped[0].stem
    decoy = tmp_path / f"{name}.xodr"
    decoy.write_text("<OpenDRIVE/>")
    monkeypatch.setenv(MAPS_PATH_ENV, str(tmp_path))
    assert find_map(name) == shipped[0]
    assert find_map(name, extra_dirs=[tmp_path]) == shipped[0]


def test_env_path_and_extra_dirs(carla_maps, carla_tree, tmp_path, monkeypatch):
    monkeypatch.setenv(MAPS_PATH_ENV, os.pathsep.join([str(tmp_path / "empty"), str(carla_maps)]))
    assert find_map("Town02") == carla_maps / "Town02.xodr"
    assert find_map("Carla/Maps/Town02") == carla_maps / "Town02.xodr"   # CarlaWorldInfo.map_name style
    assert find_map("Town10HD_Opt") == carla_maps / "Town10HD.xodr"      # layered map -> same roads
    monkeypatch.delenv(MAPS_PATH_ENV)
    assert find_map("Town01", extra_dirs=[carla_tree]) == carla_tree / "OpenDrive" / "Town01.xodr"
    assert find_map("Town10HD", extra_dirs=[carla_tree]) == carla_tree / "Town10HD" / "OpenDrive" / "Town10HD.xodr"
    assert find_map("Town01", extra_dirs=[carla_tree / "OpenDrive"]) == carla_tree / "OpenDrive" / "Town01.xodr"
    direct = carla_maps / "Town02.xodr"
    assert find_map(str(direct)) == direct


def test_missing_town_lists_every_place(tmp_path, monkeypatch):
    env_dir = tmp_path / "env"
    monkeypatch.setenv(MAPS_PATH_ENV, str(env_dir))
    with pytest.raises(MapNotFoundError) as err:
        find_map("Town99", extra_dirs=[tmp_path / "extra"])
    msg = str(err.value)
    for d in (PROJECT_TOWNS, env_dir, tmp_path / "extra"):
        assert str(d / "Town99.xodr") in msg
        assert str(d / "Town99" / "OpenDrive" / "Town99.xodr") in msg
    assert MAPS_PATH_ENV in msg
    with pytest.raises(MapNotFoundError, match="empty town name"):
        find_map("")


def test_list_maps(carla_maps, carla_tree, monkeypatch):
    monkeypatch.setenv(MAPS_PATH_ENV, str(carla_maps))
    found = dict(list_maps(extra_dirs=[carla_tree]))
    for p in PROJECT_TOWNS.glob("*.xodr"):
        assert found[p.stem] == p
    assert found["Town02"] == carla_maps / "Town02.xodr"
    assert found["Town01"] == carla_maps / "Town01.xodr"  # LEAD_MAPS_PATH before the extra dir
    assert found["Town10HD"] == carla_maps / "Town10HD.xodr"
    assert search_dirs([carla_tree]) == [PROJECT_TOWNS, carla_maps, carla_tree]
    assert list(found) == sorted(found)
