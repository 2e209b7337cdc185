"""ros2 launch lead eval_bench2drive.launch.py [arg:=value ...] -- TFv6 on Bench2Drive (CARLA
Leaderboard 2.0 routes, Bench2Drive's scoring rules).

The eval graph of lead.graphs (world + route manager + preprocess + policy + controller, lock-step)
with agent tfv6, rules bench2drive; default routes: the 12-route Town01/02/10 subset of
Bench2Drive-220 in ../shared/data/routes. Same run without a ROS 2 launch install:
    lead eval --agent tfv6 --rules bench2drive --routes ROUTES --maps MAPS --out results/bench2drive
"""
import os
from pathlib import Path

import lead
from lead.launch_support import launch_graph

# the checkout beside ../shared (LEAD_SHARED overrides), wherever ros2 launch installed this file
REPO = Path(lead.__file__).resolve().parents[2]
SHARED = Path(os.environ.get("LEAD_SHARED", REPO.parent / "shared")) / "data"


def generate_launch_description():
    return launch_graph("eval", agent="tfv6", rules="bench2drive", out="results/bench2drive",
                        routes=str(SHARED / "routes" / "bench2drive_town01_02_10.xml"),
                        maps=str(SHARED / "maps" / "carla"))
