#!/usr/bin/env bash
# The main job on the embedded world. Grows with the stack: today it runs the most
# complete graph that exists.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/lead run smoke --timeout "${LEAD_DEMO_SECONDS:-10}"
