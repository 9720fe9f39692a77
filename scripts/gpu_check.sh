#!/usr/bin/env bash
# The checks that need a CUDA device, as one script for a lent GPU machine (which has torch,
# triton, numpy and pytest but none of microturn's other dependencies, and no network):
#   GPU tests (tests/gpu), `microturn bench step --device cuda`, and the AOT kernel build.
# Usage: OUT=DIR bash scripts/gpu_check.sh   (writes logs and JSON reports into DIR)
set -u -o pipefail
OUT=${OUT:-runs/gpu_check}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
step() { echo "=== $* ($(date -u +%H:%M:%S))"; }

step "machine"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv | tee "$OUT/nvidia-smi.csv"
$PY -c "import torch, triton, numpy; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'triton', triton.__version__, 'numpy', numpy.__version__)"

step "install microturn without dependencies"
$PY -m pip install -q --no-deps --no-build-isolation --no-index -e . 2>&1 | tail -3

step "GPU tests"
timeout 300 $PY -m pytest tests/gpu -v -p no:cacheprovider -o addopts="" --durations=5 \
    --junitxml="$OUT/gpu_tests.xml" 2>&1 | tee "$OUT/gpu_tests.log" | grep -v "^$" | tail -30

step "bench step --device cuda"
timeout 240 microturn bench step --device cuda --json --out "$OUT/bench_step_cuda.json" > /dev/null \
    || echo "bench step failed or timed out (rc $?)"
[ -f "$OUT/bench_step_cuda.json" ] && $PY - "$OUT/bench_step_cuda.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(json.dumps(r.get("moe", {}), indent=None)[:3000])
print(json.dumps(r.get("step", {}), indent=None))
PY

step "AOT kernel build (sm_90, bfloat16)"
timeout 120 $PY -m microturn.kernels.aot --arch 90 --dtype bfloat16 --out "$OUT/aot" 2>&1 | tail -5
ls "$OUT/aot" 2>/dev/null | head; rm -rf "$OUT/aot"   # cubins are build products, not results
step "done"
