#!/usr/bin/env bash
# One lease of a GPU machine, prepared to fit its 15 minutes: run from the repository root, results in $OUT
# (one log and at most four archives of <= 15 MB: within what a lease returns, 8 files, 64 MiB). Parts, in order:
#   graph       issue 24, item 1: the whole training step as one CUDA graph, solo and packed (train_gpu.py --graph)
#   packs       issue 24, item 2: the library's packs of 4 / 16 / 64 beside a solo run
#   trainer     `disentangle train` with batches from the CPU thread and rendered on the device (data_on_device)
#   correlated  issue 25, item 3: studies/correlated_dsprites_small.yaml trained (--train-only) and carried back
#               (benchmarks/sweep_bundle.py), evaluated at home by the same `disentangle sweep` without it
#   chen        issue 24, item 3a: studies/chen2018_grid.yaml trained and evaluated there; metrics carried back
#   flow        issue 22, item 5: the Flow fidelity runs (benchmarks/causal_pendulum.py --dataset flow), one process
#               per run and seed (FLOW_RUNS, "key:seed ..."), all at once on the one card, each scored there on
#               the held-out scenes (the readouts come trained from home: DISENTANGLE_CACHE=.lease/cache, carried);
#               the rows come back in flow.json
#   bash benchmarks/gpu_lease.sh graph packs correlated      # 2026-12-04's lease
#   bash benchmarks/gpu_lease.sh flow graph                  # 2026-12-04's second lease (carry .lease)
#   bash benchmarks/gpu_lease.sh graph trainer chen          # the next one
# Each part has its own time limit; a sweep gets what the measurements before it left of BUDGET_S.
set -u
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/gpu_lease}; mkdir -p "$OUT"
BUDGET_S=${BUDGET_S:-560}
begin=$(date +%s)
log() { tee -a "$OUT/lease.txt"; }
{ date -u; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader; nproc;
  python3 -c "import torch, numba, sklearn; print('torch', torch.__version__, 'numba', numba.__version__, 'sklearn', sklearn.__version__)"; } 2>&1 | log
left() { echo $(( BUDGET_S - ($(date +%s) - begin) - 25 )); }
sweep() {   # study, directory, extra sweep options...; then the bundle
    local study=$1 dir=$2; shift 2
    local start=$(date +%s) limit=$(left)
    timeout "$limit" python3 -m disentanglement sweep "$study" --out "$dir" --no-progress "$@" 2>&1 | log
    pkill -9 -f "disentanglement sweep" ; pkill -9 -f multiprocessing ; sleep 1    # a cut sweep's workers too
    echo "$study: $(( $(date +%s) - start )) s (limit $limit)" | log
}
for part in "$@"; do
    echo "== $part" | log
    case $part in
        graph) timeout 110 python3 -X faulthandler benchmarks/train_gpu.py --graph --steps 300 --repeats 3 2>&1 | log ;;
        packs) timeout 110 python3 benchmarks/train_gpu.py --packs 4,16,64 --modes vmap --steps 200 --repeats 3 2>&1 | log ;;
        trainer) timeout 150 python3 benchmarks/train_gpu.py --trainer --steps 1000 --repeats 3 2>&1 | log ;;
        correlated) sweep studies/correlated_dsprites_small.yaml /tmp/correlated --pack 6 --workers 2 --train-only
                    python3 benchmarks/sweep_bundle.py pack /tmp/correlated "$OUT" --max-files 4 2>&1 | log ;;
        chen) sweep studies/chen2018_grid.yaml /tmp/chen --workers 2
              python3 benchmarks/sweep_bundle.py pack /tmp/chen "$OUT" --max-files 2 --no-weights 2>&1 | log ;;
        flow) limit=${FLOW_LIMIT:-$(( $(left) - 15 ))}; start=$(date +%s)
              export DISENTANGLE_CACHE=${DISENTANGLE_CACHE:-$PWD/.lease/cache}
              for spec in ${FLOW_RUNS:-causal_zero:1 causal_zero:2 causal_discovered:1 causal_discovered:2 causal_authors:0 causal_authors:1 causal_authors:2 beta_vae:0 beta_vae:1 beta_vae:2}; do
                  key=${spec%:*}; seed=${spec#*:}
                  OMP_NUM_THREADS=1 timeout "$limit" python3 benchmarks/causal_pendulum.py --dataset flow --runs "$key" \
                      --seeds "$seed" ${FLOW_STEPS:+--steps $FLOW_STEPS} --out "/tmp/flow/$key$seed" > "/tmp/flow_$key$seed.log" 2>&1 &
              done
              wait
              echo "flow: $(( $(date +%s) - start )) s (limit $limit)" | log
              tail -n 3 /tmp/flow_*.log | log
              python3 - "$OUT/flow.json" <<'PY' 2>&1 | log
import json, pathlib, sys
rows = []
for f in sorted(pathlib.Path("/tmp/flow").glob("*/causal_flow.json")):
    rows += json.loads(f.read_text())["rows"]
steps = {}
for f in pathlib.Path("/tmp/flow").glob("*/*/log.jsonl"):          # how far each run got, finished or not
    last = f.read_text().strip().splitlines()[-1:]
    steps[f.parent.name] = json.loads(last[0]).get("step") if last else 0
pathlib.Path(sys.argv[1]).write_text(json.dumps({"rows": rows, "steps": steps}, indent=1) + "\n")
print(len(rows), "rows;", "steps reached:", steps)
PY
              ;;
        *) echo "unknown part $part (graph, packs, trainer, correlated, chen, flow)" | log ;;
    esac
done
