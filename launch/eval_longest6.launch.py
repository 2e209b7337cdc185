"""ros2 launch lead eval_longest6.launch.py [arg:=value ...] -- TFv6 on Longest6 v2 (CARLA Leaderboard
1.0 route format, official Leaderboard scoring).

The eval graph of lead.graphs (world + route manager + preprocess + policy + controller, lock-step)
with agent tfv6, rules leaderboard; default routes: the 12-route Town01/02 subset of Longest6 in
../shared/data/routes. Same run without a ROS 2 launch install:
    lead eval --agent tfv6 --rules leaderboard --routes ROUTES --maps MAPS --out results/longest6
"""
import os
from pathlib import Path

import lead
from lead.launch_support import launch_graph

# the checkout beside ../shared (LEAD_SHARED overrides), wherever ros2 launch installed this file
REPO = Path(lead.__file__).resolve().parents[2]
SHARED = Path(os.environ.get("LEAD_SHARED", REPO.parent / "shared")) / "data"


def generate_launch_description():
    return launch_graph("eval", agent="tfv6", rules="leaderboard", out="results/longest6",
                        routes=str(SHARED / "routes" / "longest6_town01_02_10.xml"),
                        maps=str(SHARED / "maps" / "carla"))
