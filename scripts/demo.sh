#!/usr/bin/env bash
# The main job on the embedded world: the shipped TFv6 model (models/tfv6_small) drives
# routes of the held-out embedded evaluation set over ROS 2 (world + preprocess + policy
# + controller + route manager, lock-step), the leaderboard scores it, a recorder keeps
# the bag, and `lead view` turns the first route's bag into a video.
#   LEAD_DEMO_ROUTES  route ids of routes/embedded_bench/eval.xml (default 0)
#   LEAD_DEMO_OUT     results folder (default results/demo)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUTES="${LEAD_DEMO_ROUTES:-0}"
OUT="${LEAD_DEMO_OUT:-results/demo}"
LEAD=.venv/bin/lead
if [ ! -e models/tfv6_small/model.pt ] && [ ! -e models/tfv6_small/checkpoint.pt ]; then
    echo "demo: models/tfv6_small is missing; see README.md (Reproducing the shipped model)" >&2
    exit 1
fi
rm -rf "$OUT"
"$LEAD" eval --agent tfv6 --checkpoint models/tfv6_small --backend onnxruntime \
    --routes routes/embedded_bench/eval.xml --route-ids "$ROUTES" --out "$OUT" \
    -p record="$OUT/bags"
bag=$(ls "$OUT"/bags/*.mcap 2>/dev/null | head -1 || true)
if [ -n "$bag" ]; then
    "$LEAD" view "$bag" -o "$OUT/video.mp4" --fps 10
    echo
    echo "scores: $OUT/checkpoint_endpoint.json   video: $OUT/video.mp4   bag: $bag"
    echo "browse: $LEAD webapp $OUT"
fi
