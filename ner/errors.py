"""Errors that reach the user as one line (the CLI prints them without a traceback)."""

from __future__ import annotations

import os


class NerError(Exception):
    """A user mistake or bad input: the CLI prints ``ner: error: <message>`` and exits with code 2."""

    exit_code = 2


class InputError(NerError):
    """Bad input data; the message names the file and line where possible (``path:line: problem``)."""

    def __init__(self, message: str, path: str | os.PathLike | None = None, line: int | None = None):
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message)
        self.path = path
        self.line = line


class RunError(NerError):
    """The command ran but found its result wrong or unusable (non-finite training, nothing to score): exit 1."""

    exit_code = 1
