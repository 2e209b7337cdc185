#!/usr/bin/env bash
# Idempotent setup of a fresh machine: system packages, .venv with pinned wheels,
# and our ROS 2 interface packages (ros2_ws/src) built into the venv prefix.
# Each step is skipped when its inputs have not changed (stamps under .venv/.lead/).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${LEAD_VENV:-$ROOT/.venv}
PY=${LEAD_PYTHON:-python3.11}
STAMPS=$VENV/.lead
log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }
die() { printf '\033[1;31m[setup] error:\033[0m %s\n' "$*" >&2; exit 1; }
hash_of() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }

# 1. system packages: a compiler + cmake for the interface build, Mesa EGL for CPU rendering
need=()
command -v cmake >/dev/null || need+=(cmake)
command -v g++ >/dev/null || need+=(g++)
for p in libegl1 libgl1-mesa-dri libegl-mesa0; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing system packages: ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    die "missing system packages: ${need[*]} (install them with: sudo apt-get install ${need[*]})"
  fi
fi

# optional: Debian's chromium for the web app's browser test (skipped, saying so, without it)
if ! command -v chromium >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  log "installing chromium for the browser test (optional)"
  (DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends chromium >/dev/null) || log "chromium not installed: the browser test will skip"
fi

# 2. the virtual environment
command -v "$PY" >/dev/null || die "$PY not found: lead needs CPython 3.11 (the ROS 2 Kilted wheels are cp311). Set LEAD_PYTHON to another 3.11 interpreter."
if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV"
  "$PY" -m venv "$VENV"
fi
mkdir -p "$STAMPS"
PIP="$VENV/bin/python -m pip"

want=$(hash_of pyproject.toml requirements.lock)
if [ "$(cat "$STAMPS/pip" 2>/dev/null)" != "$want" ]; then
  log "installing pinned Python packages (first time: ~2 min)"
  if ! $PIP install -q -c requirements.lock -e ".[msgs-build,dev,carla]" >"$STAMPS/pip.log" 2>&1; then
    grep -v "is ignored: it is neither" "$STAMPS/pip.log" | tail -n 30 >&2
    die "pip install failed (full log: $STAMPS/pip.log)"
  fi
  "$VENV/bin/python" -c "import rclpy, torch, moderngl, mcap_ros2" || die "installed packages do not import"
  echo "$want" > "$STAMPS/pip"
fi
rosv=$(grep -i '^ros-' requirements.lock | sha256sum | cut -c1-16)
if [ "$(cat "$STAMPS/ros" 2>/dev/null)" != "$rosv" ]; then
  rm -f "$STAMPS"/msgs-*   # other ROS wheels: rebuild our interfaces against them
  echo "$rosv" > "$STAMPS/ros"
fi

# 3. our interface packages (carla_msgs, derived_object_msgs, tf2_msgs, lead_msgs)
"$VENV/bin/python" scripts/build_interfaces.py --prefix "$VENV" --src ros2_ws/src --stamps "$STAMPS"
log "ready: $VENV"
