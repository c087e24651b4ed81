"""``ner probe``: the long-range probe, F1 against the distance between an entity and the word that decides its
type, on generated corpora, with verdicts on where a plain RNN forgets and what only a BiLSTM solves."""

from __future__ import annotations

import argparse

from ner.commands.common import BACKENDS

HELP = "measure F1 against dependency distance on generated long-range tasks"

# defaults shown in the help; the values live in ner.comparison.probe and ner.data.probe (not imported here:
# ner --help stays fast), and tests/test_probe.py checks that the two agree
DEFAULTS = {"encoders": "rnn,lstm,bilstm", "heads": "crf", "distances": "1,5,10,20,50", "tasks": "left,right",
            "seeds": 2, "epochs": 30}
# generated corpus: flag -> (ProbeSpec field, type, metavar, help)
_CORPUS = {
    "types": ("types", int, "N", "entity types; chance F1 is 1/N (default 4)"),
    "words": ("words", int, "N", "entity words, one pool shared by every type (default 50)"),
    "fillers": ("fillers", int, "N", "filler and distractor words (default 50)"),
    "cues": ("cues", int, "N", "cue words per type (default 1)"),
    "entity-max": ("entity_max", int, "N", "entities are 1..N tokens long (default 2)"),
    "pad": ("pad", int, "N", "0..N filler tokens before and after the cue-entity segment (default 5)"),
    "noise": ("noise", float, "P", "probability that a filler is a decoy cue word of a random type, so that only "
                                   "the cue at exactly K decides; needs --spread 0 (default 0)"),
    "spread": ("spread", float, "P", "share of training sentences whose distance is drawn from 1..K instead of K; "
                                     "dev and test are always at K (default 0.5)"),
    "train": ("train", int, "N", "training sentences per corpus (default 2000)"),
    "dev": ("dev", int, "N", "dev sentences (default 300)"),
    "test": ("test", int, "N", "test sentences (default 500)"),
    "data-seed": ("seed", int, "N", "seed of the generated corpora (default 1)"),
}
# training settings for every run: flag -> (TrainConfig field, type, metavar, help)
_TRAINING = {
    "hidden": ("hidden", int, "H", "hidden units per direction (default 64)"),
    "word-dim": ("word_dim", int, "D", "word embedding size (default 32)"),
    "layers": ("layers", int, "L", "stacked encoder layers (default 1)"),
    "dropout": ("dropout", float, "P", "dropout rate (default 0)"),
    "lr": ("lr", float, "X", "learning rate (default 0.01)"),
    "batch-size": ("batch_size", int, "B", "training batch size (default 32)"),
    "patience": ("patience", int, "P", "early stopping: epochs without dev F1 gain (0: off; default 10)"),
}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "probe", help=HELP,
        description="Generate corpora where an entity's type is decided only by a cue word K tokens before it "
                    "(left task) or after it (right task), with distractor words between; train every encoder × "
                    "head × seed on each task and distance (each an ordinary compare grid under OUT/grids/, the "
                    "corpora under OUT/data/); and write OUT/report.md, report.json and f1_vs_distance.png with "
                    "verdicts on where a plain RNN forgets and whether only bidirectional encoders solve the right "
                    "task. The control (left task, K = 1) is always run. Rerunning the same command skips "
                    "completed runs.",
    )
    p.add_argument("--out", default="reports/probe", metavar="reports/NAME",
                   help="report folder (default: reports/probe)")
    p.add_argument("--encoders", default=DEFAULTS["encoders"], metavar="LIST",
                   help=f"comma-separated encoders (default: {DEFAULTS['encoders']}; `ner train --help` lists all; "
                        "names starting with bi count as bidirectional)")
    p.add_argument("--heads", default=DEFAULTS["heads"], metavar="LIST",
                   help=f"comma-separated heads: softmax, crf (default: {DEFAULTS['heads']})")
    p.add_argument("--distances", default=DEFAULTS["distances"], metavar="LIST",
                   help=f"comma-separated distances K in tokens between the entity and its cue "
                        f"(default: {DEFAULTS['distances']})")
    p.add_argument("--tasks", default=DEFAULTS["tasks"], metavar="LIST",
                   help="comma-separated tasks: left (cue before the entity), right (cue after it) "
                        f"(default: {DEFAULTS['tasks']})")
    p.add_argument("--seeds", type=int, default=DEFAULTS["seeds"], metavar="N",
                   help=f"training seeds 1..N per encoder, head, task and distance (default: {DEFAULTS['seeds']})")
    p.add_argument("--epochs", type=int, default=DEFAULTS["epochs"], metavar="N",
                   help=f"maximum epochs per run (default: {DEFAULTS['epochs']})")
    corpus = p.add_argument_group("generated corpora")
    for flag, (_, kind, metavar, text) in _CORPUS.items():
        corpus.add_argument(f"--{flag}", dest=f"corpus_{flag.replace('-', '_')}", type=kind, metavar=metavar,
                            default=argparse.SUPPRESS, help=text)
    training = p.add_argument_group("training (every run)")
    for flag, (_, kind, metavar, text) in _TRAINING.items():
        training.add_argument(f"--{flag}", dest=f"train_{flag.replace('-', '_')}", type=kind, metavar=metavar,
                              default=argparse.SUPPRESS, help=text)
    p.add_argument("--data-only", action="store_true",
                   help="only write the generated corpora under OUT/data/ (no training); each is a CoNLL folder "
                        "for ner train or ner compare")
    p.add_argument("--jobs", type=int, default=1, metavar="J", help="runs trained at once (default: 1)")
    p.add_argument("--resamples", type=int, default=1000, metavar="N",
                   help="bootstrap resamples of the test sentences for the intervals (default: 1000)")
    p.add_argument("--backend", choices=BACKENDS, help="Keras backend (default: $KERAS_BACKEND or tensorflow)")
    p.add_argument("--verbose", action="store_true", help="show each training run's epoch lines")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ner.comparison.probe import probe

    corpus = {field: getattr(args, f"corpus_{flag.replace('-', '_')}") for flag, (field, *_) in _CORPUS.items()
              if hasattr(args, f"corpus_{flag.replace('-', '_')}")}
    settings = {field: getattr(args, f"train_{flag.replace('-', '_')}") for flag, (field, *_) in _TRAINING.items()
                if hasattr(args, f"train_{flag.replace('-', '_')}")}
    path = probe(out=args.out, encoders=args.encoders, heads=args.heads, distances=args.distances, tasks=args.tasks,
                 seeds=args.seeds, epochs=args.epochs, corpus=corpus, jobs=args.jobs, resamples=args.resamples,
                 backend=args.backend, verbose=2 if args.verbose else 0, quiet=args.quiet,
                 data_only=args.data_only, **settings)
    print(path)
    return 0
