#!/usr/bin/env bash
# Test suite time, this checkout against an earlier commit, alternated: the machine's speed drifts by
# +-15% within an hour, so one run of each says little.
#
#   bash bench/suite_ab.sh BASE_REF [PAIRS]      (default 2 pairs: base/new, then new/base)
#
# Runs the README's test command (the TensorFlow pass, then the JAX pass) from the current virtual
# environment with PYTHONPATH set to each tree; BASE_REF is checked out in a temporary git worktree.
# Prints first the two commits, the command line, the machine and the library versions (Python, pytest,
# ner, Keras, numpy, TensorFlow, JAX), then one line per pass (wall, user and sys seconds; pytest's summary),
# and keeps pytest's --durations=0 output in $OUT (default bench/runs/suite-ab) for per-test comparisons.
# FILES="tests/test_x.py ..." restricts both passes to those files (a quick check of the script).
set -euo pipefail
base_ref=${1:?usage: bash bench/suite_ab.sh BASE_REF [PAIRS]}
pairs=${2:-2}
new=$(git rev-parse --show-toplevel)
out=${OUT:-$new/bench/runs/suite-ab}
python=${PYTHON:-python}
mkdir -p "$out"
base=$(mktemp -d)/base
ln -s "$(cd "$new/.." && pwd)/shared" "$(dirname "$base")/shared"   # tests read ../shared/data
git -C "$new" worktree add -q --detach "$base" "$base_ref"
trap 'git -C "$new" worktree remove --force "$base"' EXIT
jax_files=${FILES:-tests/test_crf.py tests/test_encoders.py tests/test_model.py tests/test_runtime.py}
TIMEFORMAT='%R %U %S'
dirty=$(git -C "$new" status --porcelain --untracked-files=no)
versions=$($python - "$new/bench" <<'PY'
import sys
from importlib import metadata

sys.path.insert(0, sys.argv[1])
from _provenance import provenance  # noqa: E402

p = provenance()
found = {"python": p["versions"].pop("python"), "pytest": metadata.version("pytest"), **p["versions"]}
print(", ".join(f"{name} {version}" for name, version in found.items()) + "; " + p["machine"])
PY
)
echo "# base $base_ref = $(git -C "$new" rev-parse --short "$base_ref"), new $(git -C "$new" rev-parse --short HEAD)${dirty:++dirty}; command: bash bench/suite_ab.sh $*${FILES:+ (FILES=$FILES)}; $versions"

passes() {  # label tree
    local label=$1 tree=$2 t
    cd "$tree"
    # shellcheck disable=SC2086
    t=$( { time PYTHONPATH=$tree $python -m pytest -q -p no:cacheprovider --durations=0 ${FILES:-} \
            > "$out/$label-tf.txt" 2>&1 || true; } 2>&1 )
    echo "$label tensorflow wall/user/sys $t: $(tail -n 1 "$out/$label-tf.txt")"
    # shellcheck disable=SC2086
    t=$( { time KERAS_BACKEND=jax PYTHONPATH=$tree $python -m pytest -q -p no:cacheprovider --durations=0 \
            $jax_files > "$out/$label-jax.txt" 2>&1 || true; } 2>&1 )
    echo "$label jax wall/user/sys $t: $(tail -n 1 "$out/$label-jax.txt")"
}

for i in $(seq 1 "$pairs"); do
    if (( i % 2 )); then passes "base$i" "$base"; passes "new$i" "$new"
    else passes "new$i" "$new"; passes "base$i" "$base"; fi
done
