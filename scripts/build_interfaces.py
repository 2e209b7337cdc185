#!/usr/bin/env python3
"""Build the ament_cmake interface packages of ros2_ws/src into a venv prefix.

The ROS 2 wheels carry the CMake config files of every message package, but those
files name the Python include directory of the machine that built the wheels
(/opt/python/cp311-cp311/...). We rewrite that path to this interpreter's, then run
cmake configure/build/install per package in dependency order. A package is rebuilt
only when its files change; one the ROS install already provides is left alone.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import sysconfig
import time
import xml.etree.ElementTree as ET
from pathlib import Path

WHEEL_PY_INCLUDE = "/opt/python/cp311-cp311/include/python3.11"
WHEEL_NUMPY_INCLUDE = "/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include"
MARKER = ".built_by_lead"


def log(msg: str) -> None:
    print(f"\033[1;34m[interfaces]\033[0m {msg}", flush=True)


def patch_wheel_cmake_files(prefix: Path) -> int:
    import numpy

    here_inc = sysconfig.get_paths()["include"]
    here_np = numpy.get_include()
    n = 0
    for f in (prefix / "share").glob("*/cmake/*.cmake"):
        text = f.read_text(errors="replace")
        if "/opt/python/cp311" not in text:
            continue
        f.write_text(text.replace(WHEEL_NUMPY_INCLUDE, here_np).replace(WHEEL_PY_INCLUDE, here_inc))
        n += 1
    return n


def read_package(path: Path) -> dict:
    root = ET.parse(path / "package.xml").getroot()
    deps = {e.text.strip() for tag in ("depend", "build_depend") for e in root.findall(tag) if e.text}
    build_type = root.findtext("export/build_type", default="ament_cmake").strip()
    return {"name": root.findtext("name").strip(), "path": path, "deps": deps, "build_type": build_type}


def topo_order(pkgs: dict[str, dict]) -> list[dict]:
    done, order = set(), []

    def visit(name: str, stack: tuple = ()) -> None:
        if name in done:
            return
        if name in stack:
            raise SystemExit(f"dependency cycle: {' -> '.join(stack + (name,))}")
        for d in sorted(pkgs[name]["deps"]):
            if d in pkgs:
                visit(d, stack + (name,))
        done.add(name)
        order.append(pkgs[name])

    for n in sorted(pkgs):
        visit(n)
    return order


def tree_hash(path: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        h.update(str(f.relative_to(path)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def build(pkg: dict, prefix: Path, build_root: Path) -> None:
    env = dict(os.environ)
    env["AMENT_PREFIX_PATH"] = str(prefix)
    env["CMAKE_PREFIX_PATH"] = str(prefix)
    env["PATH"] = f"{prefix / 'bin'}:{env.get('PATH', '')}"
    bdir = build_root / pkg["name"]
    logf = build_root / f"{pkg['name']}.log"
    cmds = [
        ["cmake", "-S", str(pkg["path"]), "-B", str(bdir), f"-DCMAKE_INSTALL_PREFIX={prefix}",
         f"-DPython3_EXECUTABLE={sys.executable}", "-DBUILD_TESTING=OFF", "-DCMAKE_BUILD_TYPE=Release"],
        ["cmake", "--build", str(bdir), "-j", str(os.cpu_count() or 2)],
        ["cmake", "--install", str(bdir)],
    ]
    with open(logf, "w") as out:
        for c in cmds:
            r = subprocess.run(c, env=env, stdout=out, stderr=subprocess.STDOUT)
            if r.returncode != 0:
                tail = logf.read_text(errors="replace").splitlines()[-40:]
                print("\n".join(tail), file=sys.stderr)
                raise SystemExit(f"building {pkg['name']} failed at `{' '.join(c[:2])}` (log: {logf})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prefix", type=Path, required=True, help="venv to install into")
    ap.add_argument("--src", type=Path, default=Path("ros2_ws/src"))
    ap.add_argument("--stamps", type=Path, required=True)
    ap.add_argument("--build-dir", type=Path, default=Path("build/ros2_ws"))
    ap.add_argument("--force", action="store_true", help="rebuild every package")
    a = ap.parse_args()
    prefix = a.prefix.resolve()

    n = patch_wheel_cmake_files(prefix)
    if n:
        log(f"rewrote the wheel build machine's Python include path in {n} CMake files")

    pkgs = {}
    for pxml in sorted(a.src.glob("*/package.xml")):
        p = read_package(pxml.parent)
        if p["build_type"] == "ament_cmake":
            pkgs[p["name"]] = p
    a.build_dir.mkdir(parents=True, exist_ok=True)
    for pkg in topo_order(pkgs):
        name = pkg["name"]
        share = prefix / "share" / name
        if (share / "package.xml").exists() and not (share / MARKER).exists():
            log(f"{name}: provided by the ROS install, not built")
            continue
        want = tree_hash(pkg["path"])
        stamp = a.stamps / f"msgs-{name}"
        if not a.force and (share / MARKER).exists() and stamp.exists() and stamp.read_text() == want:
            continue
        t0 = time.time()
        log(f"{name}: building")
        build(pkg, prefix, a.build_dir.resolve())
        (share / MARKER).write_text(want)
        stamp.write_text(want)
        log(f"{name}: installed in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
