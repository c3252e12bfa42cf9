#!/usr/bin/env bash
# One lease of a GPU machine, prepared to fit its 15 minutes (run from the repository root; results in $OUT):
#   1. issue 24, item 1: the whole training step as one CUDA graph, solo and packed (train_gpu.py --graph);
#   2. issue 24, item 2: the library's packs (pack.Stack, what `disentangle sweep --pack K` trains) of 4 / 16 / 64;
#   3. issue 25, item 3: studies/correlated_dsprites_small.yaml trained (`--train-only`, packs on the GPU) and
#      carried back by benchmarks/sweep_bundle.py; evaluated at home by the same `disentangle sweep` without it.
# Four archives of <= 15 MB and one log: within what a lease returns (8 files, 64 MiB).
# Each part has its own time limit, so a slow part cannot take the others' results with it.
set -u
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/gpu_lease}; mkdir -p "$OUT"
BUDGET_S=${BUDGET_S:-560}        # the whole script; the study gets what the measurements leave
begin=$(date +%s)
{ date -u; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader; nproc;
  python3 -c "import torch, numba, sklearn; print('torch', torch.__version__, 'numba', numba.__version__, 'sklearn', sklearn.__version__)"; } 2>&1 | tee "$OUT/lease.txt"
timeout 110 python3 benchmarks/train_gpu.py --graph --steps 300 --repeats 3 2>&1 | tee -a "$OUT/lease.txt"
timeout 110 python3 benchmarks/train_gpu.py --packs 4,16,64 --modes vmap --steps 200 --repeats 3 2>&1 | tee -a "$OUT/lease.txt"
start=$(date +%s)
STUDY_S=$(( BUDGET_S - (start - begin) - 25 ))
timeout "$STUDY_S" python3 -m disentanglement sweep studies/correlated_dsprites_small.yaml --out /tmp/correlated \
    --pack 6 --workers 2 --train-only --no-progress 2>&1 | tee -a "$OUT/lease.txt"
pkill -9 -f "disentanglement sweep" ; pkill -9 -f multiprocessing ; sleep 1    # a cut sweep's workers too
echo "study: $(( $(date +%s) - start )) s (limit $STUDY_S)" | tee -a "$OUT/lease.txt"
python3 benchmarks/sweep_bundle.py pack /tmp/correlated "$OUT" --max-files 4 2>&1 | tee -a "$OUT/lease.txt"
