"""ros2 launch lead eval_fail2drive.launch.py [arg:=value ...] -- TFv6 on Fail2Drive (Leaderboard 2.0
format generalisation routes, official scoring).

The eval graph of lead.graphs (world + route manager + preprocess + policy + controller, lock-step)
with agent tfv6, rules leaderboard; default routes: Fail2Drive's route file, which the repository
does not ship: give routes:=FILE (and maps:=DIR for its towns). Same run without a ROS 2 launch
install:
    lead eval --agent tfv6 --rules leaderboard --routes ROUTES --maps MAPS --out results/fail2drive
"""
import os
from pathlib import Path

import lead
from lead.launch_support import launch_graph

# the checkout beside ../shared (LEAD_SHARED overrides), wherever ros2 launch installed this file
REPO = Path(lead.__file__).resolve().parents[2]
SHARED = Path(os.environ.get("LEAD_SHARED", REPO.parent / "shared")) / "data"


def generate_launch_description():
    return launch_graph("eval", agent="tfv6", rules="leaderboard", out="results/fail2drive",
                        routes=str(SHARED / "routes" / "fail2drive.xml"),
                        maps=str(SHARED / "maps" / "carla"))
