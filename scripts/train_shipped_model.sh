#!/usr/bin/env bash
# Reproduce models/tfv6_small: expert data on all 48 embedded_bench training routes -> cache ->
# pretrain (perception heads) -> posttrain (all heads) -> one epoch with the junctions' other
# branches (--junction-branches) -> models/tfv6_small/.
# Times measured on the 2-core development machine are in models/tfv6_small/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
L=.venv/bin/lead
DATA=${LEAD_DATA:-data/embedded_train}
# every training route (four towns: LeadGrid001/003, LeadIrregular007/009); the evaluation set
# drives two other towns. ~26 GB of bags with the perturbated views.
ROUTES=${LEAD_TRAIN_ROUTES:-0-47}
$L collect --routes routes/embedded_bench/train.xml --out "$DATA" --route-ids "$ROUTES" --rig lead --resume
$L data cache "$DATA/bags" --out data/cache --config config/model/tfv6_small.yaml --workers 2
# The shipped weights were pretrained with the no-speed variant (it was made for another
# recipe); in this stage the speed reaches only the radar decoder, whose speed weights the
# posttrain then learns from scratch.
$L train --config tfv6_small_nospeed --data data/cache --stage pretrain --out runs/tfv6_small_pre \
    --epochs 1 --batch-size 8 --workers 1 --val-fraction 0.1 --seed 0
# --standing-keep 2: each wait of the expert gives only its first and last 2 frames (not in
# LEAD's recipe; see the model card); --precision bf16: autocast as LEAD does on GPUs
$L train --config tfv6_small --data data/cache --stage posttrain \
    --init runs/tfv6_small_pre/model_0001.pth --out runs/tfv6_small_post \
    --epochs 3 --batch-size 8 --workers 1 --val-fraction 0.1 --seed 0 --standing-keep 2 --precision bf16
# --junction-branches (not in LEAD's recipe): each frame whose lane also leads another way through
# the junction ahead is trained once more with that branch's command, target points and route
# (route loss only), so the route head follows its planning inputs; one epoch, seed 1 (the shipped
# weights started from the float16 weights of the posttrain as shipped before, on a second
# collection of the same routes; see the model card)
$L train --config tfv6_small --data data/cache --stage posttrain \
    --init runs/tfv6_small_post/model_0003.pth --out runs/tfv6_small_branches \
    --epochs 1 --batch-size 8 --workers 1 --val-fraction 0.1 --seed 1 --standing-keep 2 --precision bf16 \
    --junction-branches
.venv/bin/python scripts/ship_model.py --finetune runs/tfv6_small_branches \
    runs/tfv6_small_pre runs/tfv6_small_post models/tfv6_small
