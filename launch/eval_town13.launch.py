"""ros2 launch lead eval_town13.launch.py [arg:=value ...] -- TFv6 on Town13 (Leaderboard 2.0
validation routes, official scoring).

The eval graph of lead.graphs (world + route manager + preprocess + policy + controller, lock-step)
with agent tfv6, rules leaderboard; default routes: Leaderboard 2.0's routes_validation.xml
(Town13), which the repository does not ship: give routes:=FILE and maps:=DIR (with
Town13/OpenDrive/Town13.xodr). Same run without a ROS 2 launch install:
    lead eval --agent tfv6 --rules leaderboard --routes ROUTES --maps MAPS --out results/town13
"""
import os
from pathlib import Path

import lead
from lead.launch_support import launch_graph

# the checkout beside ../shared (LEAD_SHARED overrides), wherever ros2 launch installed this file
REPO = Path(lead.__file__).resolve().parents[2]
SHARED = Path(os.environ.get("LEAD_SHARED", REPO.parent / "shared")) / "data"


def generate_launch_description():
    return launch_graph("eval", agent="tfv6", rules="leaderboard", out="results/town13",
                        routes=str(SHARED / "routes" / "routes_validation.xml"),
                        maps=str(SHARED / "maps" / "carla"))
