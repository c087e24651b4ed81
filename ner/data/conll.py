"""Read and write CoNLL column files: one token per line, columns split by spaces or tabs, a blank line
between sentences, a ``-DOCSTART-`` line between documents. Reading ends lines at LF, CRLF or a lone CR,
and accepts trailing whitespace,
UTF-8 with or without a BOM and UTF-16/UTF-32 with one; a line of only whitespace or invisible characters
(Unicode Zs, Zl, Zp, Cc, Cf) is blank. Writing is atomic (temporary file in the same folder, then
``os.replace``)."""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from ner.errors import InputError, NerError
from ner.io.files import atomic_write_text

DOCSTART = "-DOCSTART-"
CONLL_EXTENSIONS = ("", ".txt", ".conll", ".bio", ".bmes", ".iob", ".tsv")
SPLIT_NAMES = {"train": "train", "dev": "dev", "valid": "dev", "validation": "dev", "test": "test"}
SPLIT_ORDER = ("train", "dev", "test")
_SEP = re.compile(r"[ \t]+")
_SEP_KEEP = re.compile(r"([ \t]+)")
_LINE_PARTS = re.compile(r"([ \t]*)(.*?)([ \t]*)")
_BLANK = " \t"
NEWLINE = re.compile(r"(\r\n|\r|\n)")   # a line ends as an editor shows it: CRLF, a lone CR or LF
INVISIBLE = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf"})  # Unicode categories a reader does not see
BOMS = ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"), (b"\xff\xfe", "UTF-16"),
         (b"\xfe\xff", "UTF-16"))


@dataclass
class Sentence:
    """One sentence of a CoNLL file; ``lines`` holds the 1-based line number of each token, ``document``
    the 0-based document of the sentence (None when its source marks no documents)."""

    tokens: list[str]
    tags: list[str] | None  # None when read without a tag column
    lines: list[int]
    path: str | None = None
    document: int | None = None


def decode(data: bytes, path: str | os.PathLike | None) -> str:
    """Text of ``data`` without its BOM: UTF-8, or UTF-16/UTF-32 when a BOM says so; InputError naming the
    line of the first invalid byte."""
    encoding = next((name for bom, name in BOMS if data.startswith(bom)), None)
    try:
        return data.decode(encoding or "utf-8-sig")
    except UnicodeDecodeError as exc:
        if encoding is None:
            line = data.count(b"\n", 0, exc.start) + 1
        else:
            line = data[:exc.start].decode(encoding, "replace").count("\n") + 1
        raise undecodable(encoding, data[exc.start], exc.reason, exc.start, path, line) from None


def undecodable(encoding: str | None, bad: int | None, reason: str, at: int, path: str | os.PathLike | None,
                line: int) -> InputError:
    """The InputError for bytes that are not text: ``encoding`` the BOM's (None: UTF-8 without a BOM), ``bad`` the
    first such byte (None: the file ends inside a character), ``at`` its offset in the file."""
    if encoding is None:
        shown = f" (byte 0x{bad:02x})" if bad is not None else ""
        return InputError(f"not UTF-8 text{shown}; re-encode the file as UTF-8", path, line)
    return InputError(f"not {encoding} text (its byte-order mark says {encoding}; {reason} at byte {at}); "
                      "re-encode the file as UTF-8", path, line)


def is_docstart(line: str) -> bool:
    """Whether ``line`` is a ``-DOCSTART-`` line (its first column, as :func:`conll_rows` reads it)."""
    return _SEP.split(line.strip(_BLANK), maxsplit=1)[0] == DOCSTART


def is_invisible(char: str) -> bool:
    """True for whitespace and invisible characters (Unicode categories Zs, Zl, Zp, Cc, Cf)."""
    return unicodedata.category(char) in INVISIBLE


def _hidden_separators(line: str) -> tuple[int, str]:
    """Columns of ``line`` if its invisible characters (other than spaces and tabs) separated columns, and
    those characters named, e.g. ``U+00A0 (NO-BREAK SPACE)``; ``(0, "")`` when it holds none."""
    odd = dict.fromkeys(c for c in line if c not in " \t" and is_invisible(c))
    if not odd:
        return 0, ""
    names = ", ".join(f"U+{ord(c):04X}" + (f" ({unicodedata.name(c)})" if unicodedata.name(c, "") else "")
                      for c in odd)
    return len(_SEP.split("".join(" " if c in odd else c for c in line).strip(" \t"))), names


def _not_separators(names: str) -> str:
    return f": it holds {names}, which is not a column separator (only spaces and tabs are)"


def _count_error(line: str, ncols: int, first: str, first_line: int, prev_line: int, path, n: int) -> InputError:
    """InputError for token line ``n`` whose column count differs from the ``ncols`` of the first token line;
    when an invisible character explains the difference, the message names it at the line holding it."""
    found = len(_SEP.split(line))
    count, names = _hidden_separators(line)
    if names and count == ncols:
        return InputError(f"line has {found} column(s) but line {prev_line} has {ncols}{_not_separators(names)}",
                          path, n)
    count, names = _hidden_separators(first)
    if names and count == found:
        return InputError(f"line has {ncols} column(s) but line {n} has {found}{_not_separators(names)}",
                          path, first_line)
    return InputError(f"line has {found} column(s) but line {prev_line} has {ncols}", path, n)


def _column(index: int, ncols: int, what: str, path, line: int) -> int:
    if not -ncols <= index < ncols:
        raise InputError(f"no {what} column {index}: the line has {ncols} column(s)", path, line)
    return index % ncols


def read_conll(path: str | os.PathLike, token_col: int = 0, tag_col: int | None = -1, docstart: bool = True
               ) -> list[Sentence]:
    """Sentences of a CoNLL file; ``token_col``/``tag_col`` pick columns (negative counts from the end,
    ``tag_col=None`` reads tokens only). Every token line must have as many columns as the one before. A
    line of only whitespace or invisible characters ends a sentence; a ``-DOCSTART-`` line (unless
    ``docstart=False``) ends a document, numbering the sentences' ``document`` from 0 (None without such
    lines). Raises InputError (with file:line) for a missing or empty file, non-UTF-8 bytes, a changed column
    count, a missing column, or a file without sentences."""
    path = Path(path)
    if not path.exists():
        raise InputError("no such file or folder", path)
    if path.is_dir():
        raise InputError("is a folder; expected a CoNLL file", path)
    text = decode(path.read_bytes(), path)
    if not text.strip():
        raise InputError("empty file", path)
    rows = list(conll_rows(NEWLINE.split(text)[::2], path, token_col, tag_col, docstart))
    sentences = number_documents(rows)
    if not sentences:
        raise InputError("no sentences (only blank and -DOCSTART- lines)", path)
    return sentences


def conll_rows(lines: Iterable[str], path: str | os.PathLike, token_col: int = 0, tag_col: int | None = -1,
               docstart: bool = True) -> Iterator[Sentence | None]:
    """The sentences of CoNLL ``lines`` (line 1 first, without line ends) as :func:`read_conll` reads them, one at
    a time, and None for each ``-DOCSTART-`` line (``docstart``); InputError naming ``path`` and the line."""
    where = str(path)
    tokens: list[str] = []
    tags: list[str] = []
    lines_of: list[int] = []
    ncols = prev_line = first_line = 0
    ti = gi = 0
    first = ""
    for n, raw in enumerate(lines, 1):
        line = raw.strip(_BLANK)
        if not line or (is_invisible(line[0]) and all(map(is_invisible, line))):
            if tokens:
                yield Sentence(tokens, tags if tag_col is not None else None, lines_of, where)
                tokens, tags, lines_of = [], [], []
            continue
        fields = _SEP.split(line)
        if docstart and fields[0] == DOCSTART:
            if tokens:
                yield Sentence(tokens, tags if tag_col is not None else None, lines_of, where)
                tokens, tags, lines_of = [], [], []
            yield None
            continue
        if len(fields) != ncols:
            if ncols:
                raise _count_error(line, ncols, first, first_line, prev_line, path, n)
            ncols, first, first_line = len(fields), line, n
            ti = _column(token_col, ncols, "token", path, n)
            if tag_col is not None:
                gi = _column(tag_col, ncols, "tag", path, n)
                if gi == ti:
                    count, names = _hidden_separators(line)
                    raise InputError(f"token and tag columns are the same (the line has {ncols} column(s)); "
                                     "a tagged file needs a tag column"
                                     + (_not_separators(names) if count > ncols else ""), path, n)
        tokens.append(fields[ti])
        if tag_col is not None:
            tags.append(fields[gi])
        lines_of.append(n)
        prev_line = n
    if tokens:
        yield Sentence(tokens, tags if tag_col is not None else None, lines_of, where)


def number_documents(rows: list[Sentence | None]) -> list[Sentence]:
    """The sentences of ``rows``, where None stands for a ``-DOCSTART-`` that ends a document, with
    ``document`` numbered from 0 (None for every sentence when ``rows`` mark no document)."""
    marked = None in rows
    sentences: list[Sentence] = []
    document = 0
    for row in rows:
        if row is None:
            if sentences and sentences[-1].document == document:
                document += 1
        else:
            row.document = document if marked else None
            sentences.append(row)
    return sentences


def _check_field(value: str, path, sentence: int, token: int) -> None:
    if not value or any(c in value for c in " \t\r\n"):
        raise NerError(f"{path}: sentence {sentence}, token {token}: {value!r} cannot be written to a CoNLL "
                       "file (empty or contains whitespace)")


def format_conll(sentences: Iterable[Sequence[Sequence[str]]], sep: str = " ", path: str | os.PathLike | None = None,
                 documents: Sequence[int] | None = None) -> str:
    """CoNLL text for sentences given as tuples of equally long columns; empty sentences are skipped.
    ``documents`` (the document of each sentence) puts a ``-DOCSTART- O`` line (``O`` for every column
    after the first) at the start of each document."""
    blocks: list[str] = []
    previous = None
    for i, (columns, document) in enumerate(zip(sentences, repeat(None) if documents is None else documents), 1):
        columns = [list(c) for c in columns]
        n = len(columns[0]) if columns else 0
        if any(len(c) != n for c in columns):
            raise NerError(f"{path}: sentence {i}: columns have different lengths {[len(c) for c in columns]}")
        if n == 0:
            continue
        for c in columns:
            for j, value in enumerate(c, 1):
                _check_field(value, path, i, j)
        if columns[0][0] == DOCSTART:
            raise NerError(f"{path}: sentence {i}: a sentence cannot start with the token {DOCSTART}")
        if documents is not None and (not blocks or document != previous):
            blocks.append(sep.join([DOCSTART] + ["O"] * (len(columns) - 1)))
        previous = document
        blocks.append("\n".join(sep.join(row) for row in zip(*columns)))
    return "\n\n".join(blocks) + "\n" if blocks else ""


def write_conll(path: str | os.PathLike, sentences: Iterable[Sequence[Sequence[str]]], sep: str = " ",
                documents: Sequence[int] | None = None) -> None:
    """Write sentences, each a tuple of columns such as ``(tokens, tags)`` or ``(tokens, gold, pred)``,
    atomically, with ``-DOCSTART-`` lines between ``documents`` when given (see :func:`format_conll`).
    Reading the file back gives the same columns and documents; values with whitespace raise NerError."""
    atomic_write_text(path, format_conll(sentences, sep, path, documents))


def replace_column(src: str | os.PathLike, dst: str | os.PathLike, sentences: Sequence[Sentence],
                   values: Sequence[Sequence[str]], column: int = -1) -> None:
    """Copy CoNLL file ``src`` to ``dst`` (atomically) with column ``column`` of each token line of
    ``sentences`` (as read from ``src``) set to ``values``; every other byte of the text is kept."""
    src = Path(src)
    parts = NEWLINE.split(decode(src.read_bytes(), src))
    lines, ends = parts[::2], parts[1::2] + [""]   # each line and the line end it had
    for sentence, vals in zip(sentences, values, strict=True):
        for n, value in zip(sentence.lines, vals, strict=True):
            lead, body, trail = _LINE_PARTS.fullmatch(lines[n - 1]).groups()
            parts = _SEP_KEEP.split(body)
            k = column % ((len(parts) + 1) // 2)
            parts[2 * k] = value
            lines[n - 1] = lead + "".join(parts) + trail
    atomic_write_text(dst, "".join(line + end for line, end in zip(lines, ends)))


def match_splits(folder: str | os.PathLike, extensions: Sequence[str] = CONLL_EXTENSIONS) -> dict[str, Path]:
    """Files of ``folder`` named like a split (train; dev/valid/validation; test; any case) with one of
    ``extensions`` ("" = none), keyed train/dev/test in that order; two files for one split raise."""
    found: dict[str, Path] = {}
    for p in sorted(Path(folder).iterdir()):
        if not p.is_file() or p.name.startswith("."):
            continue
        stem, ext = (p.stem, p.suffix) if p.suffix.lower() in extensions else (p.name, "")
        split = SPLIT_NAMES.get(stem.lower())
        if split is None or ext.lower() not in extensions:
            continue
        if split in found:
            raise InputError(f"two files for the {split} split: {found[split].name} and {p.name}", folder)
        found[split] = p
    return {s: found[s] for s in SPLIT_ORDER if s in found}


def find_splits(folder: str | os.PathLike, extensions: Sequence[str] = CONLL_EXTENSIONS) -> dict[str, Path]:
    """CoNLL split files of ``folder`` keyed "train", "dev", "test"; InputError without a train file."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("no such folder" if not folder.exists() else "not a folder", folder)
    splits = match_splits(folder, extensions)
    if "train" not in splits:
        names = ", ".join(f"train{e}" for e in extensions if e)
        raise InputError(f"no train split (expected a file named train or {names})", folder)
    return splits
