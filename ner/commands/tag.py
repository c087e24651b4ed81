"""``ner tag``: tag raw text (arguments, a file, a folder of files, or standard input) with a model bundle."""

from __future__ import annotations

import argparse
import sys

from ner.commands.common import BACKENDS
from ner.errors import NerError
from ner.inference.tagger import ENGINES, Tagger
from ner.tagging.render import FORMATS, render_texts
from ner.tagging.run import EXECUTORS, tag_inputs
from ner.tagging.shards import KINDS

MAX_NBEST = 1000


HELP = "tag raw text with a model bundle"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tag", help=HELP,
                       description="Tag texts given as arguments, in a file (one text per line, or a CoNLL "
                                   "file of tokens, which gets a tag column), in a folder of such files, or on "
                                   "standard input. Files are read in shards, so memory stays bounded; with "
                                   "--output an interrupted run resumes where it stopped when run again.")
    p.add_argument("model", metavar="MODEL", help="model bundle folder (models/NAME)")
    p.add_argument("text", nargs="*", metavar="TEXT", help="texts to tag (default: read --input or stdin)")
    p.add_argument("--input", metavar="PATH",
                   help="file or folder to tag ('-' for standard input); a folder's files (at any depth, hidden "
                        "ones left out) are tagged in sorted order into the same relative paths under --output")
    p.add_argument("--input-format", choices=KINDS, default="auto",
                   help="text: one text per line; conll: one token per line, blank line between "
                        "sentences, -DOCSTART- lines kept; auto: conll for .conll/.bio/.iob/.bmes/.tsv files "
                        "(default)")
    p.add_argument("--output", metavar="OUT",
                   help="write here instead of standard output: a file for a file, a folder for a folder "
                        "(needed then); finished shards are kept beside it until the end, so running the same "
                        "command again resumes; the file appears whole at the end")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --output file")
    p.add_argument("--format", choices=FORMATS, default="json",
                   help="json: one object per text; conll: token<TAB>tag lines; inline: [Angela Merkel|PER] "
                        "(CoNLL input always gives CoNLL)")
    p.add_argument("--nbest", type=int, metavar="K",
                   help="CRF models, json format: the K most probable analyses of each sentence with their "
                        "probabilities: {text, sentences: [{start, end, analyses: [{probability, entities}]}]}")
    p.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="worker processes (or Ray workers) tagging shards at once (default: 1, this process)")
    p.add_argument("--executor", choices=EXECUTORS, default="local",
                   help="local: worker processes on this machine; ray: --jobs Ray workers holding the model "
                        "(pip install -e '.[ray]'), on a local Ray instance or the cluster at --address; no "
                        "shared file system needed (default: local)")
    p.add_argument("--address", metavar="HOST:PORT",
                   help="with --executor ray: the Ray cluster to join ('auto': the one this machine belongs to)")
    p.add_argument("--cpus-per-run", type=float, default=1.0, metavar="C",
                   help="with --executor ray: CPUs each Ray worker holds and computes with (default: 1)")
    p.add_argument("--shard-size", type=int, default=1000, metavar="N",
                   help="texts (text input) or sentences (CoNLL input; a shard ends where a document ends) per "
                        "shard (default: 1000)")
    p.add_argument("--quiet", action="store_true", help="no progress line on stderr")
    p.add_argument("--engine", choices=ENGINES, default="auto",
                   help="numpy: tag without loading Keras (fast start; bundles with weights.npz); keras: the "
                        "saved Keras model on --backend; auto: numpy when the bundle allows (default)")
    p.add_argument("--backend", choices=BACKENDS, help="Keras backend (keras engine)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.nbest is not None and (not 1 <= args.nbest <= MAX_NBEST or args.format != "json"):
        raise NerError(f"--nbest: needs 1 <= K <= {MAX_NBEST} and text input in the json format")
    if args.text:
        if args.input:
            raise NerError("give TEXT arguments or --input, not both")
        if args.output:
            raise NerError("--output: goes with --input (TEXT arguments are tagged to standard output)")
        sys.stdout.write(render_texts(Tagger.load(args.model, engine=args.engine), list(args.text), args.format,
                                      args.nbest))
        return 0
    tag_inputs(args.model, args.input or "-", args.output, input_format=args.input_format, fmt=args.format,
               nbest=args.nbest,
               engine=args.engine, jobs=args.jobs, executor=args.executor, address=args.address,
               cpus_per_run=args.cpus_per_run, shard_size=args.shard_size, overwrite=args.overwrite,
               quiet=args.quiet or args.output is None and not sys.stderr.isatty())
    return 0
