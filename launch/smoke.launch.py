"""ros2 launch lead smoke.launch.py — the install check graph (see `lead graphs`)."""
from lead.launch_support import launch_graph


def generate_launch_description():
    return launch_graph("smoke")
