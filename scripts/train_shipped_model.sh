#!/usr/bin/env bash
# Reproduce models/tfv6_small: expert data on embedded_bench training routes -> cache ->
# pretrain (perception heads) -> posttrain (all heads) -> models/tfv6_small/.
# Times measured on the 2-core development machine are in models/tfv6_small/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
L=.venv/bin/lead
DATA=${LEAD_DATA:-data/embedded_train}
# 14 training routes (junction turns, lights, stop signs, pedestrians, yielding) in three of the
# four training towns (LeadGrid001, LeadIrregular007, LeadGrid003); no evaluation town among them
ROUTES=${LEAD_TRAIN_ROUTES:-0,13,14,15,16,17,19,22,23,24,25,26,27,28}
$L collect --routes routes/embedded_bench/train.xml --out "$DATA" --route-ids "$ROUTES" --rig lead --resume
$L data cache "$DATA/bags" --out data/cache --config config/model/tfv6_small.yaml --workers 2
$L train --config config/model/tfv6_small.yaml --data data/cache --stage pretrain --out runs/tfv6_small_pre \
    --epochs 1 --batch-size 8 --workers 1 --val-fraction 0.15 --seed 0
$L train --config config/model/tfv6_small.yaml --data data/cache --stage posttrain \
    --init runs/tfv6_small_pre/model_0001.pth --out runs/tfv6_small_post \
    --epochs 3 --batch-size 8 --workers 1 --val-fraction 0.15 --seed 0
.venv/bin/python scripts/ship_model.py runs/tfv6_small_pre runs/tfv6_small_post models/tfv6_small
