"""ament_python package `lead` for full ROS 2 installs (colcon build; ros2 launch lead ...).

The Python code, launch files and configs are the repository's own (symlinked here);
every module of lead.nodes becomes an executable of the same name. Python
dependencies (torch, mcap, ...) come from `pip install -e .` at the repository root.
"""
from pathlib import Path

from setuptools import find_packages, setup

here = Path(__file__).resolve().parent
nodes = sorted(p.stem for p in (here / "lead" / "nodes").glob("*.py") if not p.stem.startswith("_"))


def files(folder: str):
    base = here / folder
    out = {}
    for f in base.rglob("*"):
        if f.is_file() and "__pycache__" not in f.parts:
            dest = f"share/lead/{folder}/{f.parent.relative_to(base)}".rstrip("/.")
            out.setdefault(dest, []).append(str(f.relative_to(here)))
    return list(out.items())


setup(
    name="lead",
    version="0.1.0",
    packages=find_packages(include=["lead", "lead.*"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/lead"]),
        ("share/lead", ["package.xml"]),
        *files("launch"),
        *files("config"),
    ],
    zip_safe=False,
    entry_points={"console_scripts": [f"{n} = lead.nodes.{n}:main" for n in nodes]},
)
