#!/usr/bin/env bash
# GPU speed benchmark of bilstm-cnn + CRF with the JAX backend: one prepared run of a few minutes on the
# device machine (the speed issue's GPU figures). Nothing here runs in the test suite.
#
# Prepare on the development machine, from the project root (fetches the wheels the GPU image lacks into
# .whl/ and stages a git-ignored copy of CoNLL-2003 in .gpu-data/; never commit either; seqeval has no
# wheel on PyPI, so build one):
#     bash ../shared/tools/gpu-wheels.sh --with-data && pip wheel --no-deps seqeval==1.2.2 -w .whl
# Run on the device machine: carry [".whl", ".gpu-data"], command `bash bench/gpu.sh`, timeout_s 580
# (about 8 minutes: five rows of about 70 s, at most 120 s each, and two micro-benchmarks of at most 60 s).
# Results come back as $OUT/speed-gpu.jsonl (JSON lines, one per row), $OUT/speed-gpu.md (the table),
# $OUT/gpu-util.csv (nvidia-smi samples every 200 ms) and $OUT/gpu.log.
#
# Rows (bench/speed.py, each in its own process, most important first so that a run cut short still
# answers the targets): CRF head, dev F1 after epoch 3 (scored outside the timed span), training speed
# from the median of 4 steady-state epochs (at batch 256 an epoch can still compile a shape first met
# there), decoded sentences/s on the test split at batch 256, peak host and GPU memory. Variants:
#   base           bilstm-cnn, the CRF looping over time (XLA's defaults; session 4 measured 10,000-11,700
#                  training sentences/s at batch 32 and 48,000-55,000 decoded)
#   parallel-crf   bilstm-cnn, --crf-scan parallel: log Z and Viterbi as log T-deep matrix-product trees /
#                  scans, no loop over time (model setting crf_scan, CRF(scan="parallel"))
#   fused-parallel bilstm-cnn-fused (both BiLSTM directions in one loop: T iterations instead of 2T) and
#                  the parallel CRF
#   cudnn-parallel bilstm-cnn-fused with --lstm-path cudnn (the BiLSTM as one cuDNN call per pass, each
#                  sentence over its own length: no loop in the program) and the parallel CRF
#   then the micro-benchmarks bench/lstm_paths.py (BiLSTM alone: Keras, fused loop, cuDNN, with each
#   one's largest difference from Keras' outputs: the check of the cuDNN kernel) and bench/crf_scan.py
#   (CRF alone, loop against parallel forms), $OUT/lstm-paths-gpu.* and $OUT/crf-scan-gpu.*, and last the
#   fastest row at batch 256 (session 4: base 37,600-43,100 in steady epochs).
# Command buffers for loops (XLA_FLAGS=--xla_gpu_enable_command_buffer=+WHILE,+CONDITIONAL) were measured
# in session 4 and did not pay (bench/README.md, gpu.sh); set XLA_FLAGS yourself to add them to a row.
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
echo "# commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown); command: bash bench/gpu.sh (rows carry their own)"
nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv -lms 200 > "$OUT/gpu-util.csv" 2>/dev/null &
SMI=$!
bench() {  # bench VARIANT ENCODER CRF_SCAN LSTM_PATH BATCH (rows go to $JSON and, with errors, to the log)
  echo "# $(date +%T) $1 batch $5"
  timeout 120 python3 bench/speed.py --data "$DATA" --backends jax --encoders "$2" --heads crf --crf-scan "$3" \
    --lstm-path "$4" --batch-size "$5" --f1-epochs 3 --timed-epochs 4 --variant "$1" --json "$JSON" > /dev/null
}
declare -A ROW=([base]="bilstm-cnn sequential loop" [parallel-crf]="bilstm-cnn parallel loop"
                [fused-parallel]="bilstm-cnn-fused parallel loop" [cudnn-parallel]="bilstm-cnn-fused parallel cudnn")
best() {  # the variant fastest at batch 32 (base when none finished)
  python3 - "$JSON" <<'PY'
import json, os, sys
rows = {r["variant"]: r["train_sentences_per_s"] for r in map(json.loads, open(sys.argv[1]))
        if r["batch_size"] == 32 and r.get("variant")} if os.path.exists(sys.argv[1]) else {}
print(max(rows, key=rows.get) if rows else "base")
PY
}
{
  for v in base parallel-crf fused-parallel cudnn-parallel; do bench "$v" ${ROW[$v]} 32; done
  echo "# $(date +%T) BiLSTM alone: Keras, fused loop, cuDNN"
  timeout 60 python3 bench/lstm_paths.py --repeats 20 --json "$OUT/lstm-paths-gpu.jsonl" > "$OUT/lstm-paths-gpu.md"
  echo "# $(date +%T) CRF alone: loop vs parallel"
  timeout 60 python3 bench/crf_scan.py --shapes 32x24,256x48 --repeats 20 --json "$OUT/crf-scan-gpu.jsonl" \
    > "$OUT/crf-scan-gpu.md"
  b=$(best)
  bench "$b" ${ROW[$b]:-${ROW[base]}} 256
} 2>&1 | tee "$OUT/gpu.log"
kill $SMI 2>/dev/null
[ -s "$JSON" ] && python3 -c "import json, sys; sys.path.insert(0, 'bench'); from speed import table
print(table([json.loads(line) for line in open('$JSON')]))" > "$OUT/speed-gpu.md"
cat "$OUT/speed-gpu.md" "$OUT/lstm-paths-gpu.md" "$OUT/crf-scan-gpu.md" 2>/dev/null
