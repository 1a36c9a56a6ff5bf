#!/usr/bin/env bash
# The paper's Table 2 on a GPU (CIFAR-10 32 px, 50,000 train images, ResNet18/34/50, batch 128): every detachment
# mode timed in a fresh process, one after the other; writes efficiency.parquet/.csv/.json, sync_check.json,
# measurements/ and gpu_efficiency.log to $OUT (default ./gpu_out). Needs .gpu_data/cifar10-jpeg.tar.gz (or DATA=path) and python3 with torch, torchvision,
# numpy, pandas, pyarrow, pyyaml, pillow. Under 8 minutes on an H100; extra arguments go to efficiency/gpu_efficiency.py
# (e.g. --max-steps 0 for full epochs, --models resnet18).
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH=".${PYTHONPATH:+:$PYTHONPATH}"
OUT="${OUT:-./gpu_out}"
mkdir -p "$OUT"
python3 -u efficiency/gpu_efficiency.py --data "${DATA:-.gpu_data/cifar10-jpeg.tar.gz}" --out "$OUT" "$@" 2>&1 | tee "$OUT/gpu_efficiency.log"
