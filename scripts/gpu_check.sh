#!/usr/bin/env bash
# GPU checks for a CUDA machine (none on this project's CPU machines or CI): fractional GPUs share one device,
# a CUDA out-of-memory error fails only its own trial, and mixed precision trains. Run from the repository root:
#   bash scripts/gpu_check.sh [DATA_ROOT] [OUT_DIR]
# It prints PASS / FAIL per check and exits non-zero if any failed.
set -uo pipefail
DATA=${1:-../shared/data}
OUT=${2:-$(mktemp -d /tmp/genstudy-gpu-XXXX)}
PY=${PY:-.venv/bin/python}
mkdir -p "$OUT"
fails=0
check() { if [ "$1" = 0 ]; then echo "PASS $2"; else echo "FAIL $2"; fails=$((fails + 1)); fi; }

"$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" \
  || { echo "no CUDA device visible to torch: nothing to check"; exit 2; }
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader

# 1. four trials at 0.25 GPU each share one device at once (nvidia-smi sees four processes of ours on it)
( for _ in $(seq 1 240); do nvidia-smi --query-compute-apps=pid --format=csv,noheader | wc -l; sleep 1; done ) \
  > "$OUT/gpu_procs.txt" 2>/dev/null &
SAMPLER=$!
"$PY" -m study.run vae_beta_sweep --profile smoke --num-samples 4 --max-concurrent 4 --gpus-per-trial 0.25 \
  --cpus-per-trial 1 --scheduler fifo --confirm 0 --data-root "$DATA" \
  --tracking-uri "sqlite:///$OUT/fractional.db" --storage-path "$OUT/ray-fractional" > "$OUT/fractional.log" 2>&1
rc=$?
kill $SAMPLER 2>/dev/null
peak=$(sort -n "$OUT/gpu_procs.txt" | tail -1)
echo "fractional: exit $rc, at most ${peak:-0} processes on the GPU at once"
[ "$rc" = 0 ] && [ "${peak:-0}" -ge 4 ]; check $? "four trials at 0.25 GPU ran together on one device"

# 2. a forced CUDA OOM (a batch of 50,000 32-px images through a 128-channel U-Net) fails that trial only;
#    the grid's other point (batch 32) finishes
"$PY" -m study.run ddpm_loss_sweep --profile quick --searcher grid --set batch_size=32,50000 \
  --set base_channels=128 --max-epochs 1 --confirm 0 --data-root "$DATA" --gpus-per-trial 0.5 \
  --tracking-uri "sqlite:///$OUT/oom.db" --storage-path "$OUT/ray-oom" > "$OUT/oom.log" 2>&1
rc=$?
"$PY" - "$OUT/oom.db" <<'PY'
import sys
from record import schema as S
from record.store import client
c = client(f"sqlite:///{sys.argv[1]}")
exp = c.get_experiment_by_name("ddpm_loss_sweep")
runs = [r for r in c.search_runs([exp.experiment_id]) if S.PARENT_RUN_ID in r.data.tags]
by_batch = {r.data.params["batch_size"]: r for r in runs}
oom, ok = by_batch.get("50000"), by_batch.get("32")
print({b: (r.info.status, r.data.tags.get(S.FAILURE_REASON)) for b, r in by_batch.items()})
assert oom is not None and oom.info.status == "FAILED" and oom.data.tags.get(S.FAILURE_REASON) == S.CUDA_OOM
assert ok is not None and ok.info.status == "FINISHED"
PY
check $? "CUDA OOM fails its trial only (study exit $rc)"

# 3. mixed precision: bf16 and fp16 (with its gradient scaler) both train to a finite loss
"$PY" -m study.run ddpm_loss_sweep --profile quick --searcher grid --set mixed_precision=bf16,fp16 \
  --max-epochs 1 --confirm 0 --data-root "$DATA" --gpus-per-trial 0.5 \
  --tracking-uri "sqlite:///$OUT/amp.db" --storage-path "$OUT/ray-amp" > "$OUT/amp.log" 2>&1
check $? "mixed precision bf16 and fp16 train (see $OUT/amp.log)"

echo "logs in $OUT"
exit $fails
