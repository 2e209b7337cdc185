"""ros2 launch lead eval_embedded.launch.py [arg:=value ...] -- TFv6 on the embedded evaluation set.

The eval graph of lead.graphs (world + route manager + preprocess + policy + controller, lock-step)
with agent tfv6 and official Leaderboard scoring on routes/embedded_bench/eval.xml (lead's own
towns, no CARLA map needed). Same run without a ROS 2 launch install:
    lead eval --agent tfv6 --routes routes/embedded_bench/eval.xml --out results/embedded
"""
from pathlib import Path

import lead
from lead.launch_support import launch_graph

REPO = Path(lead.__file__).resolve().parents[2]  # the checkout, wherever ros2 launch installed this file


def generate_launch_description():
    return launch_graph("eval", agent="tfv6", rules="leaderboard", out="results/embedded",
                        routes=str(REPO / "routes" / "embedded_bench" / "eval.xml"))
