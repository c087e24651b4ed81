#!/usr/bin/env bash
# GPU speed benchmark of bilstm-cnn + CRF with the JAX backend: one prepared run of a few minutes on the
# device machine (the speed issue's GPU figures). Nothing here runs in the test suite.
#
# Prepare on the development machine, from the project root (fetches the wheels the GPU image lacks into
# .whl/ and stages a git-ignored copy of CoNLL-2003 in .gpu-data/; never commit either; seqeval has no
# wheel on PyPI, so build one):
#     bash ../shared/tools/gpu-wheels.sh --with-data && pip wheel --no-deps seqeval==1.2.2 -w .whl
# Run on the device machine: carry [".whl", ".gpu-data"], command `bash bench/gpu.sh`, timeout_s 450.
# Results come back as $OUT/speed-gpu.jsonl (JSON lines, one per row), $OUT/speed-gpu.md (the table),
# $OUT/gpu-util.csv (nvidia-smi samples every 200 ms) and $OUT/gpu.log.
#
# Rows (bench/speed.py, each in its own process, most important first so that a run cut short still
# answers the targets): bilstm-cnn + CRF, dev F1 after epoch 3 (scored outside the timed span), training
# speed from the median of 4 steady-state epochs (at batch 256 an epoch can still compile a shape first
# met there), decoded sentences/s on the test split at batch 256, peak host and GPU memory:
#   base           batch 32 and 256, XLA's defaults
#   cb-while       batch 32, XLA_FLAGS=--xla_gpu_enable_command_buffer=+WHILE,+CONDITIONAL: scan loops run
#                  as CUDA graphs with conditional nodes instead of one host round trip per time step
#   cb-while-unroll  the same plus --xla_gpu_command_buffer_unroll_loops=true (loops unrolled in the graph)
#   then the faster variant (if > 5% over base at batch 32) at batch 256.
set -uo pipefail
OUT=${OUT:-bench/results}
mkdir -p "$OUT"
if [ -d .whl ]; then
  SITE=$(mktemp -d)
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" .whl/*.whl \
    || exit 1
  export PYTHONPATH="$SITE:$PWD"
fi
export KERAS_BACKEND=jax XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
DATA=${DATA:-.gpu-data/conll2003}
JSON="$OUT/speed-gpu.jsonl"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
python3 -c "import jax, keras; print('jax', jax.__version__, jax.devices(), 'keras', keras.__version__)" || exit 1
nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv -lms 200 > "$OUT/gpu-util.csv" 2>/dev/null &
SMI=$!
declare -A FLAGS=(
  [base]=""
  [cb-while]="--xla_gpu_enable_command_buffer=+WHILE,+CONDITIONAL"
  [cb-while-unroll]="--xla_gpu_enable_command_buffer=+WHILE,+CONDITIONAL --xla_gpu_command_buffer_unroll_loops=true"
)
bench() {  # bench VARIANT BATCH
  echo "# $(date +%T) $1 batch $2"
  XLA_FLAGS="${FLAGS[$1]}" timeout 150 python3 bench/speed.py --data "$DATA" --backends jax --encoders bilstm-cnn \
    --heads crf --batch-size "$2" --f1-epochs 3 --timed-epochs 4 --variant "$1" --json "$JSON" > "$OUT/speed-gpu.md"
}
best() {  # the variant fastest at batch 32 if it beats base by > 5%, else nothing
  python3 - "$JSON" <<'PY'
import json, sys
rows = {r["variant"]: r["train_sentences_per_s"] for r in map(json.loads, open(sys.argv[1])) if r["batch_size"] == 32}
name = max((v for v in rows if v != "base"), key=rows.get, default=None)
print(name if name and "base" in rows and rows[name] > 1.05 * rows["base"] else "")
PY
}
{
  bench base 32
  bench cb-while 32
  bench base 256
  bench cb-while-unroll 32
  b=$(best); [ -n "$b" ] && bench "$b" 256
} 2>&1 | tee "$OUT/gpu.log"
kill $SMI 2>/dev/null
cat "$OUT/speed-gpu.md"
