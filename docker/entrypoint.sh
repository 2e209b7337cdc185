#!/usr/bin/env bash
# `ros2 ...` / `rviz2`: apt's ROS 2 Kilted (Python 3.12); anything else (lead ...): /lead/.venv only.
set -e
case "${1:-}" in
  ros2|rviz2)
    # shellcheck disable=SC1091
    source /opt/ros/kilted/setup.bash
    ;;
esac
exec "$@"
