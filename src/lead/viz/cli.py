"""`lead view BAG -o out.mp4`: render a recorded MCAP bag to an overlay video."""
from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "view", help="render an MCAP bag to an MP4 (camera + BEV inset + plan, boxes, lights, scores, infractions)",
        description="Render a bag recorded by lead (one route) to an MP4: the front camera with an inset "
                    "bird's-eye view (route, planned waypoints, ground-truth and detected boxes, traffic "
                    "lights), speed and target speed, the leaderboard scores, and a red flash when an "
                    "infraction happens. One frame every 1/FPS sim seconds. A sidecar OUT.json gives the "
                    "sim time of the first frame, so `lead webapp` can seek to infractions. For people "
                    "without RViz or Foxglove (config/lead.rviz, config/foxglove_layout.json).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("bag", help="MCAP bag file (.mcap)")
    p.add_argument("-o", "--out", help="output video (default: BAG with .mp4)")
    p.add_argument("--fps", type=float, default=20.0, help="video frames per sim second")
    p.add_argument("--camera", default=None,
                   help="camera image topic (default: rgb_front of rig minimal, else rgb_2 of rig lead, "
                        "else the first RGB camera in the bag)")
    p.add_argument("--codec", choices=("auto", "h264", "mp4v"), default="auto",
                   help="h264 (PyAV libx264, plays in browsers) or mp4v (OpenCV); auto picks h264 when present")
    p.add_argument("--width", type=int, default=960, help="video width in pixels")
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    p.set_defaults(func=_view)


def _view(args) -> int:
    import json
    import sys
    from pathlib import Path

    from lead.viz.overlay import OverlayStyle
    from lead.viz.render import render_bag

    bag = Path(args.bag)
    if not bag.is_file():
        print(f"lead view: {bag}: no such bag file", file=sys.stderr)
        return 2
    if args.fps <= 0 or args.width < 64:
        print("lead view: --fps must be > 0 and --width at least 64", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else bag.with_suffix(".mp4")
    try:
        st = render_bag(bag, out, fps=args.fps, camera_topic=args.camera, codec=args.codec,
                        style=OverlayStyle(width=args.width), progress=sys.stderr.isatty())
    except (ValueError, LookupError, OSError) as e:
        print(f"lead view: {e}", file=sys.stderr)
        return 1
    print(f"{out}: {st.frames} frames {st.size[0]}x{st.size[1]} at {st.fps:g} fps ({st.codec}), "
          f"{st.infractions} infraction(s)")
    if args.json:
        print(json.dumps({"video": str(out), "frames": st.frames, "width": st.size[0], "height": st.size[1],
                          "fps": st.fps, "codec": st.codec, "start_s": st.start_s, "infractions": st.infractions}))
    return 0
