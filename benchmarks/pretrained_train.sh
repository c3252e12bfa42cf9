#!/usr/bin/env bash
# Train one of the shipped pretrained models with our own CLI, in chunks of EVERY steps, keeping the
# weights of every chunk's end in RUN/snapshots/step_<N>.pt (for the metrics-vs-steps table).
# Resumable: re-running continues from the run's checkpoint; finished chunks are skipped.
#
#   OMP_NUM_THREADS=1 nohup bash benchmarks/pretrained_train.sh beta_tcvae RUN_DIR 100000 > LOG 2>&1 &
#
# NAME: beta_tcvae (beta = 6, Chen et al. 2018) or beta_vae (beta = 4, Higgins et al. 2017); the study's
# conv nets, batch 64, Adam 1e-4 (Locatello et al. 2019), seed 0, dSprites generated on the fly.
set -euo pipefail
name=$1; run=$2; final=${3:-100000}; every=${EVERY:-5000}
case $name in
  beta_tcvae) sets=(--set penalty.beta=6) ;;
  beta_vae) sets=(--set penalty.beta=4) ;;
  *) echo "unknown model $name (beta_tcvae | beta_vae)" >&2; exit 2 ;;
esac
for ((n = every; n <= final; n += every)); do
  snap=$run/snapshots/step_$n.pt
  [[ -f $snap ]] && continue
  if [[ -f $run/config.yaml ]]; then
    disentangle train --resume "$run" --steps "$n" --no-report --no-progress
  else
    disentangle train --model "$name" --dataset dsprites --steps "$n" --seed 0 --out "$run" "${sets[@]}" \
      --set checkpoint_every=1000 --no-report --no-progress
  fi
  python - "$run" "$n" <<'PY'
import sys, torch
from pathlib import Path
from disentanglement.runs import atomic_save
run, n = Path(sys.argv[1]), int(sys.argv[2])
state = torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=True)
assert state["step"] == n, (state["step"], n)
atomic_save({"step": n, "model": state["model"]}, run / "snapshots" / f"step_{n}.pt")
print(f"snapshot step {n}", flush=True)
PY
done
