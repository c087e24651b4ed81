"""``ner ensemble``: combine trained bundles into one ensemble bundle."""

from __future__ import annotations

import argparse

from ner.commands.common import BACKENDS

HELP = "combine trained bundles (e.g. seeds of one recipe) into one ensemble bundle"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ensemble", help=HELP,
        description="Combine trained model bundles into one bundle that tags with all of them: CRF members' "
                    "emission scores and transition scores are averaged before one Viterbi pass, softmax members' "
                    "probabilities are averaged. Members must share labels, training scheme, head and vocabularies "
                    "(models trained on the same data with the same vocabulary settings, e.g. different seeds). "
                    "The result works wherever a bundle does: ner tag, evaluate, info, compare --from, Tagger.")
    p.add_argument("models", nargs="+", metavar="MODEL", help="member bundles")
    p.add_argument("--out", required=True, metavar="models/NAME", help="ensemble bundle folder to write")
    p.add_argument("--data", metavar="PATH",
                   help="score the ensemble on this corpus's dev and test splits (metrics.json; default: no scores)")
    p.add_argument("--backend", choices=BACKENDS, help="Keras backend (default: $KERAS_BACKEND or tensorflow)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ner.training.ensemble import ensemble

    print(ensemble(args.models, out=args.out, data=args.data, verbose=0 if args.quiet else 1))
    return 0
