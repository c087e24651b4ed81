"""Lines of a text file read lazily, so that memory does not grow with the input (``ner tag`` streams with it)."""

from __future__ import annotations

import codecs
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ner.data.conll import BOMS, NEWLINE, undecodable
from ner.errors import InputError

CHUNK = 1 << 20                      # bytes read at a time
MAX_LINE = 100_000                   # characters in one line


class LineStream:
    """Iterating yields the lines of the file ``path`` (or of the binary ``stream``, e.g. standard input) without
    their line ends (LF, CRLF or a lone CR), decoded as CoNLL files are: UTF-8 with or without a BOM, UTF-16 or
    UTF-32 with one. ``position``: bytes read so far; ``size``: the file's bytes (None for a stream). Bytes that
    are not text and a line longer than ``max_line`` characters raise InputError naming the line; a missing file
    or a folder, InputError naming the path. Memory holds one chunk and one line at most."""

    def __init__(self, path: str | os.PathLike | None = None, stream: BinaryIO | None = None, name: str = "-",
                 max_line: int = MAX_LINE):
        self.path = None if path is None else Path(path)
        self.stream, self.name, self.max_line = stream, str(path) if path is not None else name, max_line
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
        try:
            data = raw.read(4)
            encoding = next((name for bom, name in BOMS if data.startswith(bom)), None)
            decoder = codecs.getincrementaldecoder(encoding or "utf-8-sig")()
            pending, line = "", 0     # text after the last line end; lines yielded
            while True:
                final = not data
                try:
                    text = decoder.decode(data, final)
                except UnicodeDecodeError as exc:
                    raise self._bad_bytes(exc, data, pending, line, encoding) from None
                self.position += len(data)
                pending += text
                held = "\r" if pending.endswith("\r") and not final else ""   # maybe the first half of CRLF
                parts = NEWLINE.split(pending[:-1] if held else pending)
                for part in parts[:-1:2]:
                    line += 1
                    if len(part) > self.max_line:
                        raise self._too_long(line)
                    yield part
                pending = parts[-1] + held
                if len(pending) > self.max_line:
                    raise self._too_long(line + 1)
                if final:
                    if pending:
                        yield pending
                    return
                data = raw.read(CHUNK)
        finally:
            if self.stream is None:
                raw.close()

    def _too_long(self, line: int) -> InputError:
        return InputError(f"a line of more than {self.max_line:,} characters; split it into texts of at most that "
                          "length", self.name, line)

    def _bad_bytes(self, exc: UnicodeDecodeError, data: bytes, pending: str, line: int,
                   encoding: str | None) -> InputError:
        """The InputError for undecodable bytes: the line is counted from the text decoded before them."""
        before = pending + data[:max(exc.start, 0)].decode(encoding or "utf-8-sig", errors="ignore")
        bad = data[exc.start] if 0 <= exc.start < len(data) else None
        return undecodable(encoding, bad, exc.reason, self.position + max(exc.start, 0), self.name,
                           line + len(NEWLINE.findall(before)) + 1)
