#!/usr/bin/env bash
# GPU speed benchmark of bilstm-cnn + CRF with the JAX backend: one prepared run of a few minutes on the
# device machine (the speed issue's GPU figures). Nothing here runs in the test suite.
#
# Prepare on the development machine, from the project root (fetches the wheels the GPU image lacks into
# .whl/ and stages a git-ignored copy of CoNLL-2003 in .gpu-data/; never commit either):
#     bash ../shared/tools/gpu-wheels.sh --with-data
# Run on the device machine: carry [".whl", ".gpu-data"], command `bash bench/gpu.sh`, timeout_s 600.
# Results come back as $OUT/speed-gpu.jsonl (JSON lines, one per configuration) and $OUT/speed-gpu.md.
#
# Measured per configuration (bench/speed.py, each in its own process): training sentences/s over a
# steady-state epoch at batch 32 and at batch 256, compilation seconds, decoded sentences/s on the test
# split at batch 256, peak host and GPU memory, and dev F1 after 3 epochs (so speed is never bought with
# accuracy: compare with the CPU figure of the same seed in bench/README.md).
set -euo pipefail
OUT=${OUT:-bench/results}
mkdir -p "$OUT"
if [ -d .whl ]; then
  SITE=$(mktemp -d)
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" .whl/*.whl
  export PYTHONPATH="$SITE:$PWD"
fi
export KERAS_BACKEND=jax XLA_PYTHON_CLIENT_PREALLOCATE=false
DATA=${DATA:-.gpu-data/conll2003}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
for batch in 32 256; do
  python3 bench/speed.py --data "$DATA" --backends jax --encoders bilstm-cnn --heads crf \
      --batch-size "$batch" --f1-epochs 3 --json "$OUT/speed-gpu.jsonl" > "$OUT/speed-gpu.md"
done
cat "$OUT/speed-gpu.md"
