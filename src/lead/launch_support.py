"""Build a ROS 2 LaunchDescription from a lead graph (full ROS 2 installs only).

`ros2 launch lead <graph>.launch.py arg:=value` runs the same nodes with the same
parameters as `lead run <graph> --param arg=value`: both read lead.graphs.
"""
from __future__ import annotations

import shutil


def launch_graph(name: str, **overrides):
    from launch import LaunchDescription
    from launch.actions import DeclareLaunchArgument, OpaqueFunction, SetEnvironmentVariable, Shutdown
    from launch.substitutions import LaunchConfiguration
    from launch_ros.actions import Node

    from lead.graphs import get_graph
    from lead.io import dds

    graph = get_graph(name)
    defaults = {**graph.arguments, **overrides}

    def nodes(context):
        values = {k: LaunchConfiguration(k).perform(context) for k in graph.arguments}
        actions = []
        for n in graph.resolve(values):
            actions.append(Node(
                package="lead", executable=n.executable, name=n.name, output="screen",
                parameters=[{**n.parameters, "use_sim_time": n.use_sim_time}],
                remappings=list(n.remappings.items()),
                respawn=n.respawn, respawn_delay=n.respawn_delay,
                on_exit=Shutdown() if n.required else None,
                # NodeSpec.sched_idle, as lead.runner sets it
                **({"prefix": "chrt --idle 0"} if n.sched_idle and shutil.which("chrt") else {}),
            ))
        return actions

    env = dds.dds_environment()
    return LaunchDescription([
        *[SetEnvironmentVariable(k, env[k]) for k in (dds.VARIABLE, dds.PROFILES_VARIABLE) if k in env],
        *[DeclareLaunchArgument(k, default_value=str(v), description=f"graph argument {k}")
          for k, v in defaults.items()],
        OpaqueFunction(function=nodes),
    ])
