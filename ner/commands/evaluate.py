"""``ner evaluate``: entity-level scores of a saved model, or of an already tagged file."""

from __future__ import annotations

import argparse
import sys

from ner.commands.common import BACKENDS, TAGS_COLUMN_HELP, TOKENS_COLUMN_HELP
from ner.errors import NerError
from ner.inference.tagger import ENGINES
from ner.io.files import strict_dumps

HELP = "score a model bundle (seqeval entity-level P/R/F1)"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help=HELP,
                       description="Entity-level precision, recall and F1, overall and per type (seqeval; "
                                   "conlleval-compatible by default). Exit 0 on success, 2 on bad input.")
    p.add_argument("model", nargs="?", metavar="MODEL", help="model bundle folder (models/NAME)")
    p.add_argument("--data", default="data/sample",
                   help="corpus to score on (default: data/sample): a folder of train/dev(valid,validation)/test "
                        "files (or a dataset with such splits), scored on --split; or one file, scored whatever "
                        "--split says")
    p.add_argument("--split", default="test",
                   help="split of a folder or dataset to score (default: test); one --data file is that split")
    p.add_argument("--strict", action="store_true", help="strict IOB2/IOBES chunk matching")
    p.add_argument("--json", action="store_true", help="print the scores as one JSON object")
    p.add_argument("--predictions", metavar="OUT.conll", help="write 'token gold predicted' columns")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --predictions file")
    p.add_argument("--errors", action="store_true",
                   help="add an error analysis (type confusions, boundary errors, missed, spurious)")
    p.add_argument("--scored", metavar="FILE",
                   help="score an existing 'token gold predicted' file instead of a model")
    p.add_argument("--token-col", type=int, default=0, help="CoNLL files: column of the tokens (default 0)")
    p.add_argument("--tag-col", type=int, default=-1, help="CoNLL files: column of the gold tags (default -1)")
    p.add_argument("--tokens-column", metavar="NAME", help=TOKENS_COLUMN_HELP)
    p.add_argument("--tags-column", metavar="NAME", help=TAGS_COLUMN_HELP)
    p.add_argument("--engine", choices=ENGINES, default="auto",
                   help="numpy: tag without loading Keras (fast start; bundles with weights.npz); keras: the "
                        "saved Keras model on --backend; auto: numpy when the bundle allows (default)")
    p.add_argument("--backend", choices=BACKENDS, help="Keras backend (keras engine)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ner.evaluation import evaluate, format_errors, format_scores, score_file

    if args.scored:
        if args.model:
            raise NerError("give either MODEL or --scored FILE, not both")
        scores = score_file(args.scored, strict=args.strict, errors=args.errors)
        title = f"{args.scored}"
    else:
        if not args.model:
            raise NerError("MODEL is required (or --scored FILE)")
        scores = evaluate(args.model, args.data, split=args.split, strict=args.strict,
                          predictions=args.predictions, errors=args.errors,
                          token_col=args.token_col, tag_col=args.tag_col, tokens_column=args.tokens_column,
                          tags_column=args.tags_column, engine=args.engine, overwrite=args.overwrite)
        title = f"{args.model} on {args.data} [{args.split}]"
    if scores.get("unseen_labels"):
        unseen = ", ".join(f"{k} ({v})" for k, v in scores["unseen_labels"].items())
        print(f"ner: warning: labels the model never saw (counted as missed): {unseen}", file=sys.stderr)
    if args.json:
        print(strict_dumps(scores, ensure_ascii=False))
        return 0
    print(format_scores(scores, title))
    if "errors" in scores:
        print(format_errors(scores["errors"]))
    if args.predictions:
        print(f"predictions written to {args.predictions}", file=sys.stderr)
    return 0
