"""Recipe screening: one change to the default training recipe at a time, judged on CoNLL-2003 dev F1.

    python bench/recipe.py --data ../shared/data/conll2003 [--variants baseline,unk-0.5,...] [--seeds 1]
        [--runs bench/runs/recipe] [--out bench/results/recipe-cpu.jsonl]

Each variant is the ``ner train`` recipe ``BASE`` (``bilstm-cnn`` + CRF) with the settings of ``VARIANTS``; each
(variant, seed) is a normal ``ner.train`` run into RUNS/VARIANT/seed-N, skipped when its bundle is complete, so the
screening runs in pieces and resumes after an interruption. After each run one row is appended to --out
(unless a row for that variant, seed and settings is there already): dev F1, best epoch, epochs run and
training seconds, with the commit, command, machine and versions. The table printed at the end shows dev F1
only: variants are chosen on dev, and test F1 is reported once per final configuration (bench/accuracy.py),
never here.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from _provenance import line, provenance

# the recipe every variant changes: ner train's defaults when the screening ran, word dropout 0.1 (since then the
# default is 0.5, the screening's winner); every row records it as "base"
BASE = {"word_dropout": 0.1}
# name -> the ner.train settings that differ from BASE
VARIANTS: dict[str, dict] = {
    "baseline": {},
    "unk-0.5": {"word_dropout": 0.5},             # training words seen once -> <unk> with p 0.5 (BASE: 0.1)
    "2x100": {"layers": 2, "hidden": 100},        # two stacked BiLSTMs of 100 per direction (default one of 200)
    "bio": {"scheme": "bio"},                     # trained in BIO (default BIOES)
    "batch-16": {"batch_size": 16},
    "patience-10": {"patience": 10, "epochs": 40},
    "no-casing": {"casing_dim": 0},
    "nadam-global-1": {"optimizer": "nadam", "clip_global": True, "clipnorm": 1.0},   # Nadam, global norm 1
    "variational": {"variational_dropout": True},   # one dropout mask per sentence at every step
    "document": {"context": "document"},            # + mean state of the word's other occurrences in the document
    "document-mean": {"context": "document-mean"},  # + mean state of the whole document
}


def done_rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(text) for text in path.read_text(encoding="utf-8").splitlines() if text.strip()]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared/data/conll2003"))
    p.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, from: {', '.join(VARIANTS)}")
    p.add_argument("--seeds", default="1", help="comma-separated seeds (screen on 1, confirm winners on 3)")
    p.add_argument("--runs", default="bench/runs/recipe", help="where the bundles go (git-ignored)")
    p.add_argument("--out", default="bench/results/recipe-cpu.jsonl", help="rows are appended here")
    args = p.parse_args()
    names = args.variants.split(",")
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        p.error(f"unknown variant(s) {', '.join(unknown)} (known: {', '.join(VARIANTS)})")

    import keras

    import ner
    from ner.bundle import load_bundle, read_meta
    from ner.errors import NerError

    out = Path(args.out)
    for name in names:
        for seed in (int(s) for s in args.seeds.split(",")):
            settings = VARIANTS[name]
            if any(r["variant"] == name and r["seed"] == seed and r["settings"] == settings for r in done_rows(out)):
                continue
            path = Path(args.runs) / name / f"seed-{seed}"
            try:
                complete = read_meta(path)["status"] == "complete"
            except NerError:
                complete = False
            if not complete:
                print(f"# training {name} seed {seed}: {settings}", file=sys.stderr, flush=True)
                # verbose=0: the training log names test F1
                ner.train(data=args.data, seed=seed, out=str(path), verbose=0, **{**BASE, **settings})
            meta = load_bundle(path).meta
            metrics = json.loads((path / "metrics.json").read_text(encoding="utf-8"))
            row = {"variant": name, "seed": seed, "settings": settings, "base": BASE, "dev_f1": metrics["dev"]["f1"],
                   "best_epoch": meta["best_epoch"], "epochs_run": meta["epochs_run"],
                   "train_seconds": meta["train_seconds"], **provenance(keras.backend.backend())}
            with open(out, "a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")
    print(line())
    print("| variant | settings | seeds | dev F1 (mean ± std) | best epochs | train s |\n|---|---|---|---|---|---|")
    rows = done_rows(out)
    for name in names:
        mine = [r for r in rows if r["variant"] == name and r["settings"] == VARIANTS[name]]
        if not mine:
            continue
        f1 = [r["dev_f1"] for r in mine]
        spread = f" ± {statistics.stdev(f1):.4f}" if len(f1) > 1 else ""
        print(f"| {name} | {json.dumps(VARIANTS[name])} | {len(mine)} | {statistics.mean(f1):.4f}{spread} | "
              f"{', '.join(str(r['best_epoch']) for r in mine)} | "
              f"{', '.join(str(round(r['train_seconds'])) for r in mine)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
