"""``ner data``: corpus statistics, validation against the tag scheme, and scheme conversion."""

from __future__ import annotations

import argparse
import sys
from contextlib import nullcontext
from pathlib import Path

from ner.commands.common import TAGS_COLUMN_HELP, TOKENS_COLUMN_HELP
from ner.data.conll import replace_column, write_conll
from ner.data.schemes import SCHEMES, convert, detect_scheme, normalize_scheme, validate
from ner.errors import NerError
from ner.io.files import strict_dumps
from ner.io.outputs import MARK, check_file, claim, mark_folder, replace_folder, safe_name

HELP = "inspect, validate and convert corpora"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``ner data {stats,validate,convert}`` to the ``ner`` command line."""
    parser = subparsers.add_parser(
        "data", help=HELP,
        description="Inspect, validate and convert NER corpora. PATH is a CoNLL file or a folder of "
                    "train/dev(valid,validation)/test files, a save_to_disk folder, .parquet/.json/.jsonl "
                    "file(s), or hf:NAME[:CONFIG] for a Hugging Face hub dataset (needs network, or a copy in "
                    "the local cache: HF_HUB_OFFLINE=1 skips the hub). Table sources have their token and tag "
                    "columns detected (--tokens-column/--tags-column choose). A folder's "
                    "files are its splits; one file is the train split here (ner evaluate scores it as the "
                    "split asked for). Files are UTF-8, or UTF-16/UTF-32 with a byte-order mark; a line of "
                    "only whitespace or invisible characters is blank. A -DOCSTART- line (or a row of only "
                    "that token) ends a document.")
    parser.set_defaults(func=lambda args: _print_help(parser))
    actions = parser.add_subparsers(dest="data_command", metavar="ACTION")

    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("input columns")
    group.add_argument("--token-col", type=int, default=0, metavar="N",
                       help="CoNLL files: column holding the token, 0-based; negative counts from the end "
                            "(default 0)")
    group.add_argument("--tag-col", type=int, default=-1, metavar="N",
                       help="CoNLL files: column holding the tag, 0-based; negative counts from the end (default "
                            "-1, the last column)")
    group.add_argument("--tokens-column", metavar="NAME", help=TOKENS_COLUMN_HELP)
    group.add_argument("--tags-column", metavar="NAME", help=TAGS_COLUMN_HELP)

    stats = actions.add_parser(
        "stats", parents=[common], help="sentences, documents, tokens, entities and lengths per split",
        description="Per split: sentences, documents (one per sentence without -DOCSTART- marks) and "
                    "sentences per document, tokens, entities per type, detected tag scheme and "
                    "sentence-length percentiles (nearest rank).")
    stats.add_argument("path", metavar="PATH", help="corpus file, folder or hf:NAME[:CONFIG]")
    stats.add_argument("--json", action="store_true",
                       help='print JSON: {"splits": {SPLIT: {"sentences", "documents", "tokens", "scheme", '
                            '"entities", "length": {"p50", "p95", "max"}, "sentences_per_document": {"mean", '
                            '"max"}}}}')
    stats.set_defaults(func=_stats)

    check = actions.add_parser(
        "validate", parents=[common], help="list tag sequences that break the scheme (exit 1 if any)",
        description="List every tag that breaks the tag scheme as FILE:LINE: problem (unknown prefixes, "
                    "I- after O in BIO, unclosed entities in BIOES, ...). Exit 0 when clean, 1 otherwise.")
    check.add_argument("path", metavar="PATH", help="corpus file, folder or hf:NAME[:CONFIG]")
    check.add_argument("--scheme", choices=SCHEMES, help="check against this scheme (default: detected)")
    check.set_defaults(func=_validate)

    conv = actions.add_parser(
        "convert", parents=[common], help="rewrite a corpus in another tag scheme",
        description="Rewrite the tags of a corpus in another scheme; ill-formed sequences are read leniently "
                    "(like conlleval). A CoNLL file becomes a file and a CoNLL folder a folder with the same "
                    "file names, every other column and line (-DOCSTART- too) kept; other sources become "
                    "OUT/SPLIT.txt, with a -DOCSTART- line starting each document they mark. "
                    "Files are written atomically.")
    conv.add_argument("input", metavar="IN", help="corpus file, folder or hf:NAME[:CONFIG]")
    conv.add_argument("output", metavar="OUT", help="output file (for a CoNLL file) or folder")
    conv.add_argument("--to", required=True, type=str.lower, choices=SCHEMES + ("iob2", "iobes"),
                      help="target scheme")
    conv.add_argument("--from", dest="source", type=str.lower, choices=SCHEMES + ("iob2", "iobes"),
                      help="scheme of IN (default: detected)")
    conv.add_argument("--overwrite", action="store_true",
                      help="replace an existing OUT file (a folder OUT is replaced when ner wrote it)")
    conv.set_defaults(func=_convert)


def _print_help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _columns(args) -> dict:
    return dict(token_col=args.token_col, tag_col=args.tag_col, tokens_column=args.tokens_column,
                tags_column=args.tags_column)


def _stats(args) -> int:
    from ner.data.corpus import corpus_stats, load_corpus  # imports datasets

    stats = corpus_stats(load_corpus(args.path, **_columns(args)))
    if args.json:
        print(strict_dumps(stats, indent=2))
        return 0
    rows = [("split", "sentences", "tokens", "scheme", "len p50", "p95", "max", "documents", "sent/doc",
             "max", "entities")]
    for split, s in stats["splits"].items():
        ents = " ".join(f"{k}={v}" for k, v in s["entities"].items()) or "-"
        per_doc = s["sentences_per_document"]
        rows.append((split, f"{s['sentences']:,}", f"{s['tokens']:,}", s["scheme"], str(s["length"]["p50"]),
                     str(s["length"]["p95"]), str(s["length"]["max"]), f"{s['documents']:,}",
                     f"{per_doc['mean']:.1f}", str(per_doc["max"]), f"{sum(s['entities'].values()):,} ({ents})"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        print("  ".join(v.ljust(w) if i == 0 or i == 3 else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths)))
              + "  " + r[-1])
    return 0


def _validate(args) -> int:
    from ner.data.corpus import read_sentences, where  # imports datasets

    splits = read_sentences(args.path, **_columns(args))
    sentences = [s for ss in splits.values() for s in ss]
    scheme = args.scheme or detect_scheme(s.tags for s in sentences)
    problems = bad = 0
    for s in sentences:
        found = validate(s.tags, scheme)
        bad += bool(found)
        for j, message in found:
            path, line = where(s, j)
            print(f"{path}:{line}: {message}" if line is not None else f"{path}: {message}")
        problems += len(found)
    if problems:
        print(f"{args.path}: {problems} problem(s) in {bad} of {len(sentences)} sentences (scheme {scheme})",
              file=sys.stderr)
        return 1
    print(f"{args.path}: OK, {len(sentences)} sentences, scheme {scheme}")
    return 0


def _convert(args) -> int:
    from ner.data.corpus import check_tags, conll_files, read_sentences  # imports datasets

    files = conll_files(args.input)
    if not args.output:
        raise NerError("OUT: no path given")
    out = Path(args.output)
    single = files is not None and not Path(args.input).is_dir()   # one CoNLL file -> one file
    if single:
        shown = out / files["train"].name if out.is_dir() else out
        target = check_file(shown, "OUT", inputs=(args.input,), overwrite=args.overwrite)
    with nullcontext() if single else claim(out, MARK, flag="OUT", inputs=(args.input,)):
        splits = read_sentences(args.input, **_columns(args))
        check_tags(splits)
        sentences = [s for ss in splits.values() for s in ss]
        src = normalize_scheme(args.source) if args.source else detect_scheme(s.tags for s in sentences)
        dst = normalize_scheme(args.to)
        lenient = sum(1 for s in sentences if validate(s.tags, src))
        new_tags = {split: [convert(s.tags, src, dst) for s in ss] for split, ss in splits.items()}
        if single:
            replace_column(files["train"], target, splits["train"], new_tags["train"], args.tag_col)
            written = [shown]
        else:   # a folder or dataset -> a folder, swapped in whole
            names = {split: files[split].name if files else f"{safe_name(split, f'{args.input}: split name')}.txt"
                     for split in splits}

            def fill(tmp: Path) -> None:
                for split, ss in splits.items():
                    if files:   # CoNLL folder -> the same file names, every other column and line kept
                        replace_column(files[split], tmp / names[split], ss, new_tags[split], args.tag_col)
                    else:
                        documents = [s.document for s in ss] if any(s.document is not None for s in ss) else None
                        write_conll(tmp / names[split], [(s.tokens, t) for s, t in zip(ss, new_tags[split])],
                                    documents=documents)
                mark_folder(tmp, "converted corpus", files=list(names.values()))

            replace_folder(out, fill, MARK)
            written = [out / name for name in names.values()]
    if lenient:
        print(f"note: {lenient} ill-formed {src} sentence(s) were read leniently (see `ner data validate`)",
              file=sys.stderr)
    for path in written:
        print(f"wrote {path} ({src} -> {dst})")
    return 0
