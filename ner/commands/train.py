"""``ner train``: train a tagger and write a model bundle."""

from __future__ import annotations

import argparse
import dataclasses

from ner.commands.common import BACKENDS, TAGS_COLUMN_HELP, TOKENS_COLUMN_HELP
from ner.errors import NerError

# flags whose TrainConfig field has another name or an inverted sense are handled explicitly
_FLAGS = {
    "data": ("PATH", str, "corpus: CoNLL file or folder, save_to_disk folder, parquet/json, or hf:NAME[:CONFIG]"),
    "encoder": ("NAME", str, "encoder to train (see the list above)"),
    "epochs": ("N", int, "maximum number of epochs"),
    "batch_size": ("B", int, "training batch size (sentences)"),
    "lr": ("X", float, "learning rate (default 2e-3 for adam, 1e-2 for sgd)"),
    "lr_decay": ("D", float, "learning-rate decay: lr / (1 + D * epoch)"),
    "clipnorm": ("C", float, "gradient clipping by norm"),
    "optimizer": ("NAME", str, "adam, nadam or sgd"),
    "context": ("WHAT", str, "what a token sees beyond its sentence: sentence (nothing); document (the other "
                             "occurrences of its word in its document); document-mean (its whole document)"),
    "dropout": ("P", float, "dropout rate"),
    "hidden": ("H", int, "hidden units per direction"),
    "layers": ("L", int, "number of stacked encoder layers"),
    "word_dim": ("D", int, "word embedding size"),
    "casing_dim": ("D", int, "casing-feature embedding size (0: off)"),
    "embeddings": ("VECTORS", str, "pretrained word vectors: GloVe or word2vec text, fastText .vec or word2vec "
                                  "binary, each plain or gzip-compressed (format found from the content); "
                                  "words of any split with a vector join the vocabulary"),
    "extra_vector_words": ("N", int, "with --embeddings: also add the vector file's first N words that the corpus "
                                     "lacks (files list the most frequent first), for tagging raw text later"),
    "scheme": ("SCHEME", str, "tag scheme the model is trained in: bio or bioes"),
    "seed": ("S", int, "random seed"),
    "patience": ("P", int, "early stopping: epochs without dev F1 gain (0: off)"),
    "word_dropout": ("P", float, "probability of replacing a training word seen once by <unk>"),
    "min_freq": ("N", int, "minimum word frequency for the vocabulary"),
    "dev_fraction": ("F", float, "share of train held out as dev when the corpus has none"),
    "init": ("BUNDLE", str, "start from this bundle's weights (resume or fine-tune)"),
    "token_col": ("I", int, "CoNLL files: column of the tokens"),
    "tag_col": ("I", int, "CoNLL files: column of the tags"),
    "tokens_column": ("NAME", str, TOKENS_COLUMN_HELP),
    "tags_column": ("NAME", str, TAGS_COLUMN_HELP),
    "crf_scan": ("MODE", str, "CRF log Z and Viterbi: sequential (a loop over time), parallel (log T-deep "
                              "matrix products; JAX only, for GPUs: slower on a CPU) or auto (parallel on JAX "
                              "with a GPU, else sequential; saved with the model, decided where it runs)"),
    "lstm_path": ("PATH", str, "BiLSTM of bilstm-cnn-fused: loop, cudnn (one cuDNN call per pass; JAX, for "
                               "GPUs) or auto (cudnn on JAX with a GPU, else loop)"),
}


HELP = "train a tagger and write a model bundle"


def register(sub: argparse._SubParsersAction) -> None:
    from ner.layers.encoders import list_encoders

    names = ", ".join(list_encoders())
    p = sub.add_parser("train", help=HELP,
                       description=f"Train a tagger. Encoders: {names}.",
                       epilog="With --backend jax, compiled programs are cached in ~/.cache/ner/jax for later runs; "
                              "JAX_COMPILATION_CACHE_DIR sets another folder (empty: no cache).")
    defaults = dataclasses.asdict(_defaults())
    for name, (metavar, kind, text) in _FLAGS.items():
        p.add_argument(f"--{name.replace('_', '-')}", dest=name, metavar=metavar, type=kind,
                       default=argparse.SUPPRESS,
                       help=text if "default" in text else f"{text} (default: {defaults[name]})")
    p.add_argument("--out", metavar="models/NAME", default=argparse.SUPPRESS,
                   help=f"bundle folder to write (default: {defaults['out']})")
    p.add_argument("--crf", dest="crf", action="store_true", default=argparse.SUPPRESS,
                   help="CRF head (default)")
    p.add_argument("--no-crf", dest="crf", action="store_false", default=argparse.SUPPRESS,
                   help="softmax head")
    p.add_argument("--char-cnn", dest="char_cnn", action="store_true", default=argparse.SUPPRESS,
                   help="add the character CNN to any encoder (bilstm-cnn has it already)")
    p.add_argument("--no-char-cnn", dest="char_cnn", action="store_false", default=argparse.SUPPRESS,
                   help="drop the character CNN")
    p.add_argument("--no-constraints", dest="constraints", action="store_false", default=argparse.SUPPRESS,
                   help="do not forbid ill-formed transitions in the CRF")
    p.add_argument("--clip-global", dest="clip_global", action="store_true", default=argparse.SUPPRESS,
                   help="clip the norm of all gradients together to --clipnorm (default: each variable's)")
    p.add_argument("--variational-dropout", dest="variational_dropout", action="store_true",
                   default=argparse.SUPPRESS,
                   help="dropout of the encoder's inputs and outputs with one mask per sentence and feature, the "
                        "same at every time step (default: a new mask at each step)")
    p.add_argument("--freeze-embeddings", dest="freeze_embeddings", action="store_true",
                   default=argparse.SUPPRESS,
                   help="with --embeddings: word rows that start from a pretrained vector are not trained")
    p.add_argument("--no-lowercase", dest="lowercase", action="store_false", default=argparse.SUPPRESS,
                   help="keep word case in the word vocabulary")
    p.add_argument("--config", metavar="FILE.json", help="settings as JSON (same names as the flags; flags win)")
    p.add_argument("--backend", choices=BACKENDS, help="Keras backend (default: $KERAS_BACKEND or tensorflow)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=run)


def _defaults():
    from ner.training.config import TrainConfig

    return TrainConfig()


def run(args: argparse.Namespace) -> int:
    from ner.training.config import TrainConfig
    from ner.training.fit import train

    settings = TrainConfig.from_json(args.config) if args.config else {}
    try:   # a value out of range in the file is named with the file
        TrainConfig(**settings).validate()
    except NerError as exc:
        raise NerError(f"--config: {args.config}: {exc}") from None
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    settings.update({k: v for k, v in vars(args).items() if k in fields})
    if args.quiet:
        settings["verbose"] = 0
    path = train(**settings)
    print(path)
    return 0
