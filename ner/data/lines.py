"""Lines of a text file read lazily, so that memory does not grow with the input (``ner tag`` streams with it)."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ner.data.conll import BOMS, decode
from ner.errors import InputError


class LineStream:
    """Iterating yields the lines of the file ``path`` (or of the binary ``stream``, e.g. standard input) without
    their line ends (LF, CRLF or a lone CR), decoded as CoNLL files are: UTF-8 with or without a BOM, UTF-16 or
    UTF-32 with one. ``position``: bytes read so far; ``size``: the file's bytes (None for a stream). Bytes that
    are not text raise InputError naming the line; a missing file or a folder, InputError naming the path."""

    def __init__(self, path: str | os.PathLike | None = None, stream: BinaryIO | None = None, name: str = "-"):
        self.path = None if path is None else Path(path)
        self.stream, self.name = stream, str(path) if path is not None else name
        self.position = 0
        self.size = None
        if self.path is not None:
            if self.path.is_dir():
                raise InputError("is a folder; expected a file", self.path)
            try:
                self.size = self.path.stat().st_size
            except FileNotFoundError:
                raise InputError("no such file", self.path) from None

    def __iter__(self) -> Iterator[str]:
        try:
            raw = self.stream if self.stream is not None else open(self.path, "rb")
        except OSError as exc:
            raise InputError(f"cannot read it ({exc.strerror})", self.name) from None
        buffered = raw if hasattr(raw, "peek") else io.BufferedReader(raw)
        encoding = next((name for bom, name in BOMS if buffered.peek(4)[:4].startswith(bom)), "utf-8-sig")
        text = io.TextIOWrapper(buffered, encoding=encoding, newline=None)   # universal newlines: \r\n, \r -> \n
        count = 0
        try:
            for line in text:
                count += 1
                self.position = buffered.tell() if buffered.seekable() else self.position + len(line)
                yield line[:-1] if line.endswith("\n") else line
        except UnicodeDecodeError as exc:
            if self.path is not None:
                decode(self.path.read_bytes(), self.path)   # raises InputError at the exact line
            raise InputError(f"not {encoding.replace('-sig', '').upper()} text ({exc.reason})", self.name,
                             count + 1) from None
        finally:
            if self.stream is None:
                text.close()
            else:
                text.detach()
