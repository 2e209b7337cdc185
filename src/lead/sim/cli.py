"""`lead sim snapshot`: what the embedded world's sensors see, as PNGs for people to look at;
`lead scenario preview`: a top-down clip of a route's scenario with the blind route follower."""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sim", help="embedded simulator tools",
                       description="Tools for the embedded simulator (the default world).")
    s = p.add_subparsers(dest="sim_command", metavar="SUBCOMMAND")
    snap = s.add_parser("snapshot", help="save the front camera (RGB, semantics, depth) and a LiDAR bird's-eye view",
                        description="Load a town, put the ego at a spawn point, run a few ticks of traffic and save "
                        "PNGs of what the rig sees: front RGB, semantic ids in CARLA's palette, depth, LiDAR BEV.")
    snap.add_argument("--town", default="LeadGrid001", help="CARLA town name or generated town (default: %(default)s)")
    snap.add_argument("--maps", action="append", default=[], metavar="DIR", help="extra folders with .xodr towns")
    snap.add_argument("--spawn", type=int, default=3, help="spawn point index (default: %(default)s)")
    snap.add_argument("--seed", type=int, default=1)
    snap.add_argument("--ticks", type=int, default=40, help="ticks of traffic before the snapshot")
    snap.add_argument("--rig", default="lead")
    snap.add_argument("--camera", default="rgb_2", help="camera sensor id (default: %(default)s)")
    snap.add_argument("-o", "--out", default="docs", help="output folder (default: %(default)s)")
    snap.set_defaults(func=_snapshot)
    p.set_defaults(func=lambda a: p.print_help() or 2)

    sc = sub.add_parser("scenario", help="scenario tools: preview a route's scenario as a top-down clip",
                        description="Tools for Leaderboard 2.0 scenarios in the embedded world.")
    ss = sc.add_subparsers(dest="scenario_command", metavar="SUBCOMMAND")
    pv = ss.add_parser("preview", help="render a top-down clip of one route's scenario (route follower, no ROS)",
                       description="Drive ROUTE_ID of ROUTES.xml with the blind route follower in the embedded "
                       "world and write a top-down clip from a few seconds before the scenario triggers until "
                       "a few seconds after it ends: ego green, scenario actors red, props orange, traffic grey. "
                       ".mp4 (H.264) or .gif by the output's suffix.")
    pv.add_argument("routes", help="Leaderboard 2.0 route file")
    pv.add_argument("--id", required=True, help="route id")
    pv.add_argument("-o", "--out", required=True, help="output clip (.mp4 or .gif)")
    pv.add_argument("--maps", action="append", default=[], metavar="DIR", help="extra folders with .xodr towns")
    pv.add_argument("--seed", type=int, default=0)
    pv.add_argument("--target-speed", type=float, default=6.0, help="route follower speed, m/s")
    pv.add_argument("--max-seconds", type=float, default=40.0, help="clip length limit after the trigger")
    pv.add_argument("--json", action="store_true", help="print one JSON summary as the last line")
    pv.set_defaults(func=_preview)
    sc.set_defaults(func=lambda a: sc.print_help() or 2)


def _preview(a: argparse.Namespace) -> int:
    import sys

    from lead.sim.preview import preview

    try:
        r = preview(a.routes, a.id, a.out, a.maps, a.seed, a.target_speed, max_s=a.max_seconds)
    except (KeyError, ValueError, FileNotFoundError) as e:
        print(f"lead scenario preview: {e.args[0] if e.args else e}", file=sys.stderr)
        return 2
    for line in r.events:
        print(line)
    print(f"wrote {r.path}: {r.frames} frames, {r.seconds:.1f} s, {r.path.stat().st_size / 1e3:.0f} kB")
    if a.json:
        print(json.dumps({"path": str(r.path), "frames": r.frames, "seconds": r.seconds, "events": r.events}))
    return 0


def lidar_bev(points: list, size_m: float = 64.0, px_per_m: int = 8):
    """Top view of LiDAR points (ego frame, x up the image) coloured by height."""
    import cv2
    import numpy as np

    n = int(size_m * px_per_m)
    img = np.full((n, n, 3), 20, np.uint8)
    pts = np.concatenate(points) if points else np.zeros((0, 4), np.float32)
    col = (n / 2 - pts[:, 0] * px_per_m).astype(int)
    row = (n / 2 + pts[:, 1] * px_per_m).astype(int)
    ok = (col >= 0) & (col < n) & (row >= 0) & (row < n)
    z = np.clip((pts[ok, 2] + 2.5) / 5.0, 0, 1)
    colours = cv2.applyColorMap((z * 255).astype(np.uint8)[:, None], cv2.COLORMAP_TURBO)[:, 0]
    img[col[ok], row[ok]] = colours
    c = n // 2
    cv2.rectangle(img, (c - 8, c - 20), (c + 8, c + 20), (255, 255, 255), 1)  # the ego, ~4.9 x 2.1 m
    return img


def _snapshot(a: argparse.Namespace) -> int:
    import cv2
    import numpy as np

    from lead.control.vehicle_control import VehicleControl
    from lead.sim.embedded.sensors import decode_depth  # noqa: F401  (depth is already metres)
    from lead.sim.embedded.sensors.camera import CHANNELS
    from lead.sim.embedded.sensors.semantic import semantic_to_cityscapes
    from lead.sim.embedded.world import EmbeddedWorld, WorldConfig
    from lead.sim.rig import SensorSpec

    w = EmbeddedWorld(WorldConfig(rig=a.rig, maps_dirs=a.maps, camera_channels=CHANNELS))  # all three images
    w.load(a.town, seed=a.seed)
    sp = w.map.get_spawn_points()
    t = sp[a.spawn % len(sp)]
    w.spawn_ego((t.location.x, t.location.y, t.location.z, 0.0, 0.0, t.rotation.yaw))
    w.apply_control(VehicleControl(brake=1.0))
    for _ in range(a.ticks):
        frame = w.tick()
    readings = w.sense(frame)
    if a.camera not in readings:
        raise SystemExit(f"lead sim snapshot: rig '{a.rig}' has no camera '{a.camera}' "
                         f"(cameras: {', '.join(s.id for s in w.sensors() if s.is_camera)})")
    cam = readings[a.camera]
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    files = {"rgb": out / f"sim_{a.town}_{a.camera}_rgb.png", "semantic": out / f"sim_{a.town}_{a.camera}_semantic.png",
             "depth": out / f"sim_{a.town}_{a.camera}_depth.png", "lidar": out / f"sim_{a.town}_lidar_bev.png"}
    cv2.imwrite(str(files["rgb"]), cam.rgb[..., ::-1])
    cv2.imwrite(str(files["semantic"]), semantic_to_cityscapes(cam.semantic)[..., ::-1])
    depth = np.clip(np.log1p(cam.depth) / np.log1p(100.0), 0, 1)
    cv2.imwrite(str(files["depth"]), cv2.applyColorMap(((1 - depth) * 255).astype(np.uint8), cv2.COLORMAP_MAGMA))
    lidars = [s for s in w.sensors() if isinstance(s, SensorSpec) and s.type == "sensor.lidar.ray_cast"]
    pts = []
    for s in lidars:  # sensor frame -> ego frame (the rig's LiDARs are yawed only)
        p = readings[s.id].copy()
        yaw = np.radians(s.pose[5])
        x, y = p[:, 0] * np.cos(yaw) - p[:, 1] * np.sin(yaw), p[:, 0] * np.sin(yaw) + p[:, 1] * np.cos(yaw)
        p[:, 0], p[:, 1], p[:, 2] = x + s.pose[0], y + s.pose[1], p[:, 2] + s.pose[2]
        pts.append(p)
    cv2.imwrite(str(files["lidar"]), lidar_bev(pts))
    print(json.dumps({k: str(v) for k, v in files.items()}))
    return 0
