"""``ner tag``: tag raw text (arguments, a file, or standard input) with a model bundle."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ner.commands.common import BACKENDS
from ner.errors import NerError
from ner.inference.tagger import ENGINES, Tagger
from ner.io.files import strict_dumps

CONLL_SUFFIXES = {".conll", ".bio", ".iob", ".bmes", ".tsv"}
MAX_NBEST = 1000


HELP = "tag raw text with a model bundle"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tag", help=HELP,
                       description="Tag texts given as arguments, in a file (one text per line, or a CoNLL "
                                   "file of tokens, which gets a tag column), or on standard input.")
    p.add_argument("model", metavar="MODEL", help="model bundle folder (models/NAME)")
    p.add_argument("text", nargs="*", metavar="TEXT", help="texts to tag (default: read --input or stdin)")
    p.add_argument("--input", metavar="FILE", help="file to tag ('-' for standard input)")
    p.add_argument("--input-format", choices=("auto", "text", "conll"), default="auto",
                   help="text: one text per line; conll: one token per line, blank line between "
                        "sentences, -DOCSTART- lines kept; auto: conll for .conll/.bio/.iob/.bmes/.tsv files "
                        "(default)")
    p.add_argument("--format", choices=("json", "conll", "inline"), default="json",
                   help="json: one object per text; conll: token<TAB>tag lines; inline: [Angela Merkel|PER]")
    p.add_argument("--nbest", type=int, metavar="K",
                   help="CRF models, json format: the K most probable analyses of each sentence with their "
                        "probabilities: {text, sentences: [{start, end, analyses: [{probability, entities}]}]}")
    p.add_argument("--engine", choices=ENGINES, default="auto",
                   help="numpy: tag without loading Keras (fast start; bundles with weights.npz); keras: the "
                        "saved Keras model on --backend; auto: numpy when the bundle allows (default)")
    p.add_argument("--backend", choices=BACKENDS, help="Keras backend (keras engine)")
    p.set_defaults(func=run)


def inline(text: str, entities: list[dict]) -> str:
    """``text`` with each entity marked as ``[text|LABEL]``."""
    parts, pos = [], 0
    for e in sorted(entities, key=lambda e: e["start"]):
        parts += [text[pos:e["start"]], f"[{e['text']}|{e['label']}]"]
        pos = e["end"]
    return "".join(parts + [text[pos:]])


def _texts(args) -> list[str]:
    if args.text:
        if args.input:
            raise NerError("give TEXT arguments or --input, not both")
        return list(args.text)
    if args.input and args.input != "-":
        try:
            return Path(args.input).read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            raise NerError(f"--input: {args.input}: no such file") from None
        except OSError as exc:   # a folder, no permission, an unreadable device
            raise NerError(f"--input: {args.input}: cannot read it ({exc.strerror or exc})") from None
        except UnicodeDecodeError as exc:
            raise NerError(f"--input: {args.input}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return sys.stdin.read().splitlines()


def _print_conll(tagger, sentences: list[list[str]], documents: list[int | None] | None = None,
                 marked: bool = True) -> int:
    """Print token<TAB>tag lines, and with ``marked`` a -DOCSTART- line where each of ``documents`` starts. A model
    with document context reads each document whole (None: a sentence of its own)."""
    documents = documents or [None] * len(sentences)
    numbered = [i if d is None else -1 - d for i, d in enumerate(documents)]   # sentences alone never share one
    previous = None
    for tokens, tags, document in zip(sentences, tagger.tag_sentences(sentences, documents=numbered), documents):
        if marked and document is not None and document != previous:
            print("-DOCSTART-\tO", end="\n\n")
        previous = document
        print("\n".join(f"{tok}\t{tag}" for tok, tag in zip(tokens, tags)), end="\n\n")
    return 0


def run(args: argparse.Namespace) -> int:
    conll_in = args.input_format == "conll" or (
        args.input_format == "auto" and args.input and Path(args.input).suffix.lower() in CONLL_SUFFIXES)
    if args.nbest is not None and (not 1 <= args.nbest <= MAX_NBEST or args.format != "json" or conll_in):
        raise NerError(f"--nbest: needs 1 <= K <= {MAX_NBEST} and text input in the json format")
    tagger = Tagger.load(args.model, engine=args.engine)
    if conll_in:
        from ner.data.conll import read_conll

        if not args.input or args.input == "-":
            raise NerError("--input-format conll needs --input FILE")
        sentences = read_conll(args.input, tag_col=None)
        return _print_conll(tagger, [s.tokens for s in sentences], [s.document for s in sentences])
    texts = _texts(args)
    if args.format == "conll":
        from ner.data.tokenize import tokenize_text

        pairs = [([t.text for t in s], n) for n, text in enumerate(texts) for s in tokenize_text(text) if s]
        return _print_conll(tagger, [p[0] for p in pairs], [p[1] for p in pairs], marked=False)   # a line: a document
    if args.nbest is not None:
        for text, sentences in zip(texts, tagger.tag_many(texts, nbest=args.nbest)):
            print(strict_dumps({"text": text, "sentences": sentences}, ensure_ascii=False))
        return 0
    for text, entities in zip(texts, tagger.tag_many(texts)):
        if args.format == "json":
            print(strict_dumps({"text": text, "entities": entities}, ensure_ascii=False))
        else:
            print(inline(text, entities))
    return 0
