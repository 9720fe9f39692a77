#!/usr/bin/env bash
# Does the interaction model want more compute or a bigger model? Three training runs side by
# side on one lent GPU, on a data set made here (the lent machines have no eSpeak NG):
#   A  tiny-mel40,  16 crops a step (the shipped recipe's batch, many more steps than 2 CPU cores make)
#   B  tiny-mel40,  64 crops a step
#   C  small-mel40, 64 crops a step (5x the weights)
# each for MINUTES of step time, with the shipped recipe's other options, plus the GPU training test.
# DATA is a .tar.gz holding `dlate/` (training) and `ho/` (held-out, `--split eval`) folders in
# `train data`'s format; the audio may be left out of the .npz files when the dMel cache
# (`*.dmel-40x16.npy`) is there, which keeps it small enough to carry.
# Usage: OUT=DIR DATA=FILE [MINUTES=5] bash scripts/gpu_train.sh   (checkpoints come back as ck*.tar)
set -u -o pipefail
OUT=${OUT:-runs/gpu_train}
MINUTES=${MINUTES:-5}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
step() { echo "=== $* ($(date -u +%H:%M:%S))"; }

step "machine"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
$PY -m pip install -q --no-deps --no-build-isolation --no-index -e . 2>&1 | tail -3

step "GPU training test"
timeout 120 $PY -m pytest tests/gpu/test_train_gpu.py -q -p no:cacheprovider -o addopts="" 2>&1 | tail -15

step "data"
mkdir -p /tmp/gpu_train/data /tmp/gpu_train/ck
tar xzf "$DATA" -C /tmp/gpu_train/data && ls /tmp/gpu_train/data

LIMIT=$(awk "BEGIN { print int($MINUTES * 60 + 150) }")  # step time + loading and evaluation
run() {
    local name=$1; shift
    timeout "$LIMIT" microturn train --data /tmp/gpu_train/data/dlate --eval-data /tmp/gpu_train/data/ho \
        --out /tmp/gpu_train/ck/$name --minutes "$MINUTES" --seed 2 --group-weight YIELD=1.0 --device "${DEVICE:-cuda}" \
        --threads 4 --quiet "$@" > /tmp/gpu_train/$name.json 2> /tmp/gpu_train/$name.err
    echo "--- $name (rc $?): $*"
    tail -c 1500 /tmp/gpu_train/$name.json; tail -5 /tmp/gpu_train/$name.err
    cp /tmp/gpu_train/$name.json /tmp/gpu_train/ck/$name/result.json 2>/dev/null
    tar cf "$OUT/ck$name.tar" --exclude trainer.pt -C /tmp/gpu_train/ck "$name" 2>/dev/null
}
step "training, $MINUTES minutes each, side by side"
run A --config tiny-mel40 --batch-size 16 &
run B --config tiny-mel40 --batch-size 64 &
run C --config small-mel40 --batch-size 64 &
wait
nvidia-smi --query-gpu=memory.used --format=csv,noheader
step "done"
