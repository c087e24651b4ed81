"""What ``ner tag --input`` reads: input files (a file, a folder of files, standard input) read lazily and cut into
shards of whole texts, sentences or documents, so that memory stays bounded whatever the input size."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from ner.data.conll import conll_rows, is_docstart
from ner.data.lines import LineStream
from ner.errors import InputError, NerError

CONLL_SUFFIXES = {".conll", ".bio", ".iob", ".bmes", ".tsv"}
MAX_SENTENCE = 10_000   # tokens of one CoNLL sentence
KINDS = ("auto", "text", "conll")


@dataclass
class InputFile:
    """One input: ``path`` (None: standard input), ``relative`` (its path under the output folder), ``kind``
    ("text": one text per line; "conll": one token per line)."""

    path: Path | None
    relative: Path
    kind: str

    @property
    def size(self) -> int | None:
        return None if self.path is None else self.path.stat().st_size

    def identity(self) -> list:
        """What tells a rerun that the file and how it is read are unchanged: relative path, kind, bytes,
        modification time (ns)."""
        if self.path is None:
            return [str(self.relative), self.kind, None, None]
        stat = self.path.stat()
        return [str(self.relative), self.kind, stat.st_size, stat.st_mtime_ns]


@dataclass
class Shard:
    """Consecutive texts (kind "text") or sentences (kind "conll", with each sentence's ``documents`` entry: its
    document, None where the file marks none) of input ``file``; ``index`` counts the file's shards from 0;
    ``position``: bytes of the file read when it was cut; ``continued``: its first sentence continues the
    document of the shard before (one longer than two shards' worth is cut)."""

    file: int
    index: int
    kind: str
    items: list
    documents: list[int | None] | None
    position: int
    continued: bool = False


def _kind(path: Path, input_format: str) -> str:
    if input_format != "auto":
        return input_format
    return "conll" if path.suffix.lower() in CONLL_SUFFIXES else "text"


def plan_inputs(source: str | os.PathLike, input_format: str = "auto") -> list[InputFile]:
    """The input files of ``source``: a file, a folder (its files at any depth in sorted order of their relative
    paths, hidden ones left out), or "-" (standard input, text unless ``input_format`` says conll)."""
    if input_format not in KINDS:
        raise NerError(f"--input-format: unknown format {input_format!r} (choose from {', '.join(KINDS)})")
    if str(source) == "-":
        return [InputFile(None, Path("stdin"), "conll" if input_format == "conll" else "text")]
    path = Path(source)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file()
                       and not any(part.startswith(".") for part in p.relative_to(path).parts))
        if not files:
            raise InputError("a folder without files to tag", path)
        return [InputFile(p, p.relative_to(path), _kind(p, input_format)) for p in files]
    if not path.exists():
        raise InputError("no such file or folder", path)
    return [InputFile(path, Path(path.name), _kind(path, input_format))]


def read_shards(file: InputFile, number: int, size: int) -> Iterator[Shard]:
    """The shards of ``file`` (input ``number``), each of ``size`` texts or sentences. A file that marks documents
    is cut where a document starts, once a shard has ``size`` sentences, so that a model with document context
    reads each document whole; a document that would take a shard past 2 * ``size`` sentences is cut there (memory
    stays bounded; the model reads each piece as a document). A sentence of more than :data:`MAX_SENTENCE` tokens
    is an InputError; a file without sentences (empty, or blank and -DOCSTART- lines only) has no shards, and its
    output is empty, as for an empty text file."""
    stream = LineStream(file.path) if file.path is not None else LineStream(stream=sys.stdin.buffer)
    index = 0
    if file.kind == "text":
        lines = iter(stream)
        while chunk := list(islice(lines, size)):
            yield Shard(number, index, "text", chunk, None, stream.position)
            index += 1
        return
    marked = any(map(is_docstart, LineStream(file.path))) if file.path is not None else None
    items: list[list[str]] = []
    documents: list[int | None] = []
    document, seen = 0, False    # the current document, and whether it has a sentence yet
    continued = False
    for row in conll_rows(stream, stream.name, token_col=0, tag_col=None):
        if row is not None and len(row.tokens) > MAX_SENTENCE:
            raise InputError(f"a sentence of {len(row.tokens):,} tokens (no blank line for that long); the limit "
                             f"is {MAX_SENTENCE:,}", stream.name, row.lines[0])
        if row is None:
            if marked is None:
                marked = True
            if seen:
                document, seen = document + 1, False
            if len(items) >= size:
                yield Shard(number, index, "conll", items, documents, stream.position, continued)
                items, documents, index, continued = [], [], index + 1, False
            continue
        if marked is None:
            marked = False     # standard input: documents are marked when the first line says so
        items.append(row.tokens)
        documents.append(document if marked else None)
        seen = True
        if len(items) >= (2 * size if marked else size):
            yield Shard(number, index, "conll", items, documents, stream.position, continued)
            items, documents, index, continued = [], [], index + 1, bool(marked)
    if items:
        yield Shard(number, index, "conll", items, documents, stream.position, continued)
