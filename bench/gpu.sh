#!/usr/bin/env bash
# GPU speed benchmark of bilstm-cnn + CRF with the JAX backend: one prepared run of a few minutes on the
# device machine (the speed issue's GPU figures). Nothing here runs in the test suite.
#
# Prepare on the development machine, from the project root (fetches the wheels the GPU image lacks into
# .whl/ and stages a git-ignored copy of CoNLL-2003 in .gpu-data/; never commit either; seqeval has no
# wheel on PyPI, so build one):
#     bash ../shared/tools/gpu-wheels.sh --with-data && pip wheel --no-deps seqeval==1.2.2 -w .whl
# Run on the device machine: carry [".whl", ".gpu-data"], command `bash bench/gpu.sh`, timeout_s 600.
# Results come back as $OUT/speed-gpu.jsonl (JSON lines, one per configuration), $OUT/speed-gpu.md (the
# table), $OUT/gpu-util.csv (nvidia-smi samples every 200 ms) and $OUT/gpu.log.
#
# Measured per configuration (bench/speed.py, each in its own process), most important first so that a
# run cut short still answers the targets: bilstm-cnn + CRF at batch 32 and at batch 256 with dev F1 after
# 3 epochs (compare with the CPU figure of the same seed in bench/README.md), then ablations at batch 32
# (softmax head: the CRF's cost; bilstm without the char CNN: its cost). Each row: training sentences/s
# over the median of 2 steady-state epochs, compilation seconds, decoded sentences/s on the test split at
# batch 256, peak host and GPU memory.
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
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
python3 -c "import jax, keras; print('jax', jax.__version__, jax.devices(), 'keras', keras.__version__)" || exit 1
nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv -lms 200 > "$OUT/gpu-util.csv" 2>/dev/null &
SMI=$!
bench() {
  echo "# $(date +%T) $*"
  python3 bench/speed.py --data "$DATA" --backends jax --timed-epochs 2 --json "$OUT/speed-gpu.jsonl" "$@" \
    > "$OUT/speed-gpu.md"
}
{
  bench --encoders bilstm-cnn --heads crf --batch-size 32 --f1-epochs 3
  bench --encoders bilstm-cnn --heads crf --batch-size 256 --f1-epochs 3
  bench --encoders bilstm-cnn --heads softmax --batch-size 32
  bench --encoders bilstm --heads crf --batch-size 32
} 2>&1 | tee "$OUT/gpu.log"
kill $SMI 2>/dev/null
cat "$OUT/speed-gpu.md"
