"""``ner compare``: train a grid of encoders × heads × seeds (or score trained bundles) and write a report."""

from __future__ import annotations

import argparse

from ner.commands.common import BACKENDS, TAGS_COLUMN_HELP, TOKENS_COLUMN_HELP
from ner.comparison import DEFAULT_ENCODERS, DEFAULT_EPOCHS
from ner.model import HEADS

# optional training settings passed to every run: flag -> (TrainConfig field, type, metavar, help)
_TRAINING = {
    "patience": (int, "P", "early stopping: epochs without dev F1 gain (0: off; default 5)"),
    "batch_size": (int, "B", "training batch size (default 32)"),
    "hidden": (int, "H", "hidden units per direction (default 200)"),
    "word_dim": (int, "D", "word embedding size (default 100)"),
    "layers": (int, "L", "stacked encoder layers (default 1)"),
    "dropout": (float, "P", "dropout rate (default 0.5)"),
    "lr": (float, "X", "learning rate (default 2e-3 for adam)"),
    "optimizer": (str, "NAME", "adam, nadam or sgd (default adam)"),
    "embeddings": (str, "VECTORS", "pretrained word vectors for every run (GloVe, word2vec text or binary, "
                                    "fastText .vec; optionally gzip-compressed)"),
    "extra_vector_words": (int, "N", "with --embeddings: also the vector file's first N words that the corpus "
                                     "lacks (default 0)"),
}


HELP = "train a grid of encoders × heads and compare them in a report"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare", help=HELP,
        description="Train every encoder × head × seed on one corpus (each a normal `ner train` run kept under "
                    "OUT/runs/), score each on the test split, and write OUT/report.md, report.json, PNG figures "
                    "and index.html, with verdicts on common claims about the encoders. Rerunning the same "
                    "command skips completed runs (and times again decode speeds taken while the machine was "
                    "busy). With --from, already trained bundles are scored instead.",
    )
    p.add_argument("--data", default="data/sample", metavar="PATH",
                   help="corpus with a test split: CoNLL folder, save_to_disk folder, parquet/json or hf:NAME "
                        "(default: data/sample)")
    p.add_argument("--tokens-column", metavar="NAME", help=TOKENS_COLUMN_HELP)
    p.add_argument("--tags-column", metavar="NAME", help=TAGS_COLUMN_HELP)
    p.add_argument("--token-col", type=int, default=0, metavar="N",
                   help="CoNLL files: column of the tokens, 0-based, negative from the end (default 0)")
    p.add_argument("--tag-col", type=int, default=-1, metavar="N",
                   help="CoNLL files: column of the tags (default -1, the last)")
    p.add_argument("--encoders", default=",".join(DEFAULT_ENCODERS), metavar="LIST",
                   help=f"comma-separated encoders (default: {','.join(DEFAULT_ENCODERS)}; "
                        "`ner train --help` lists all); ENCODER+document (or +document-mean) is a row of that "
                        "encoder with document context (ner train --context)")
    p.add_argument("--heads", default=",".join(HEADS), metavar="LIST",
                   help="comma-separated heads: softmax, crf (default: both)")
    p.add_argument("--seeds", type=int, default=1, metavar="N",
                   help="seeds 1..N per configuration (default: 1; 3 or more let the verdicts weigh the "
                        "seed-to-seed spread)")
    p.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS, metavar="N",
                   help=f"maximum epochs per run (default: {DEFAULT_EPOCHS})")
    p.add_argument("--out", default="reports/compare", metavar="reports/NAME",
                   help="report folder (default: reports/compare)")
    p.add_argument("--jobs", type=int, default=1, metavar="J",
                   help="runs trained at once (default: 1); above 1, decode speed is re-measured alone "
                        "afterwards and training times are marked not comparable")
    p.add_argument("--executor", choices=("local", "ray"), default="local",
                   help="where the runs train: local (this machine, --jobs at a time; default) or ray (each run one "
                        "Ray task, on a local Ray instance or the cluster at --address; the corpus and the files "
                        "runs read are sent to the workers; needs pip install 'ner[ray]')")
    p.add_argument("--address", metavar="HOST:PORT|auto",
                   help="with --executor ray: join this Ray cluster (its head's HOST:PORT, or auto: the cluster "
                        "this machine belongs to); default: start a local Ray instance for the grid")
    p.add_argument("--cpus-per-run", type=float, metavar="X",
                   help="with --executor ray: CPUs Ray reserves for each run (fractions allowed; default 1)")
    p.add_argument("--gpus-per-run", type=float, metavar="X",
                   help="with --executor ray: GPUs for each run (default 0); a fraction such as 0.25 puts several "
                        "runs on one GPU, each taking that share of its memory (JAX preallocates 75%% of a GPU per "
                        "process otherwise)")
    p.add_argument("--threads", type=int, metavar="N",
                   help="CPU threads each run computes with (TensorFlow's op pools; on JAX only 1 is set); "
                        "default: a Ray run's whole CPUs, at least 1, and the framework's own choice locally. "
                        "Runs give identical results on both executors only with the same threads")
    p.add_argument("--max-train", type=int, default=None, metavar="N",
                   help="train on the first N training sentences only (default: all)")
    for name, (kind, metavar, text) in _TRAINING.items():
        p.add_argument(f"--{name.replace('_', '-')}", dest=name, type=kind, metavar=metavar,
                       default=argparse.SUPPRESS, help=text)
    p.add_argument("--freeze-embeddings", dest="freeze_embeddings", action="store_true", default=argparse.SUPPRESS,
                   help="with --embeddings: word rows that start from a pretrained vector are not trained")
    p.add_argument("--from", dest="bundles", nargs="+", metavar="BUNDLE",
                   help="score these trained bundles on --data instead of training a grid")
    p.add_argument("--resamples", type=int, default=1000, metavar="N",
                   help="paired bootstrap resamples for the verdicts (default: 1000)")
    p.add_argument("--backend", choices=BACKENDS, help="Keras backend (default: $KERAS_BACKEND or tensorflow)")
    p.add_argument("--verbose", action="store_true", help="show each training run's epoch lines")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ner.comparison.grid import compare

    settings = {name: getattr(args, name) for name in (*_TRAINING, "freeze_embeddings") if hasattr(args, name)}
    path = compare(data=args.data, encoders=args.encoders, heads=args.heads, seeds=args.seeds, epochs=args.epochs,
                   out=args.out, jobs=args.jobs, max_train=args.max_train, bundles=args.bundles,
                   resamples=args.resamples, backend=args.backend, verbose=2 if args.verbose else 0,
                   quiet=args.quiet, tokens_column=args.tokens_column, tags_column=args.tags_column,
                   token_col=args.token_col, tag_col=args.tag_col, executor=args.executor, address=args.address,
                   cpus_per_run=args.cpus_per_run, gpus_per_run=args.gpus_per_run, threads=args.threads, **settings)
    print(path)
    return 0
