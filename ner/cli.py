"""The ``ner`` command line: one entry point with sub-commands.

Exit codes for every command: 0 success, 1 the command ran and found problems, 2 bad usage or bad input.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import os
import sys

from ner.backend.allocator import keep_freed_memory
from ner.commands.common import BACKENDS
from ner.errors import NerError

# Sub-command modules under ner/commands; each has ``register(subparsers)`` that sets ``func``.
COMMANDS = ("data", "train", "ensemble", "evaluate", "tag", "info", "serve", "compare", "probe")


def _select_backend(argv: list[str]) -> None:
    """Set KERAS_BACKEND from ``--backend`` before anything imports keras; refuse a backend we do not offer
    or that is not installed."""
    source = "KERAS_BACKEND"
    for i, arg in enumerate(argv):
        value = None
        if arg == "--backend" and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith("--backend="):
            value = arg.split("=", 1)[1]
        if value is not None:
            if value not in BACKENDS:
                raise NerError(f"--backend: unknown backend {value!r} (choose from {', '.join(BACKENDS)})")
            os.environ["KERAS_BACKEND"], source = value, "--backend"
    value = os.environ.get("KERAS_BACKEND")
    if value and value not in BACKENDS:
        raise NerError(f"KERAS_BACKEND: unknown backend {value!r} in the environment (choose from "
                       f"{', '.join(BACKENDS)}, or unset it)")
    if value and importlib.util.find_spec(value) is None:
        raise NerError(f"{source}: backend {value!r} is not installed (pip install {value})")


class _Parser(argparse.ArgumentParser):
    """A usage error is one line like any other error: ``ner: error: MESSAGE (see `ner train --help`)``."""

    def error(self, message: str):
        raise NerError(f"{message} (see `{self.prog} --help`)")


def build_parser(command: str | None = None) -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    """The ``ner`` parser and its sub-parsers; only ``command``'s sub-parser is built in full (others just
    list their help), so that ``ner --help`` and ``ner data`` never import Keras."""
    parser = _Parser(
        prog="ner",
        description="Build, compare and apply neural sequence labellers for named-entity recognition.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"ner.commands.{name}")
        if name == command:
            module.register(sub)
        else:
            sub.add_parser(name, help=module.HELP, add_help=False)
    return parser, sub


def _parse(parser: argparse.ArgumentParser, sub: argparse._SubParsersAction, command: str | None,
           argv: list[str]) -> argparse.Namespace:
    """Parse ``argv``; a command's own arguments are parsed intermixed, so positionals may follow options
    (``ner tag MODEL --nbest 2 TEXT``), which plain argparse refuses after the first positional run."""
    own = sub.choices.get(command) if argv[:1] == [command] else None
    if own is None or any(a.nargs in (argparse.PARSER, argparse.REMAINDER) for a in own._actions):
        return parser.parse_args(argv)   # intermixed parsing cannot hold a command with sub-commands (ner data)
    return own.parse_intermixed_args(argv[1:], argparse.Namespace(command=command))


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter quiet
    try:
        _select_backend(argv)
        keep_freed_memory()
        command = next((a for a in argv if a in COMMANDS), None)
        parser, sub = build_parser(command)
        args = _parse(parser, sub, command, argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        code = args.func(args)
        return int(code or 0)
    except NerError as exc:
        print(f"ner: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:
        print(f"ner: interrupted{f' {exc}' if str(exc) else ''}", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:  # a file-system error no command turned into a message of its own
        print(f"ner: error: {os_error(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:
        if not out_of_memory(exc):
            raise
        print("ner: error: out of memory; try a smaller --batch-size, --hidden or --word-dim", file=sys.stderr)
        return 1


def out_of_memory(exc: BaseException | None) -> bool:
    """Was ``exc`` caused by running out of memory (Python's MemoryError, TensorFlow's ResourceExhaustedError,
    XLA's RESOURCE_EXHAUSTED), however a library re-raised it?"""
    while exc is not None:
        if (isinstance(exc, MemoryError) or type(exc).__name__ == "ResourceExhaustedError"
                or "RESOURCE_EXHAUSTED" in str(exc)):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def os_error(exc: OSError) -> str:
    """``PATH: reason`` for a file-system error (the target of a failed rename or copy)."""
    path = exc.filename2 if exc.filename2 is not None else exc.filename
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"{path}: {reason}" if path is not None else reason


def run() -> None:
    """The ``ner`` console script: :func:`main`, then exit at once with its code.

    Skips the interpreter's teardown, which is slow once TensorFlow has been imported (``bench/latency.py``
    times a cold ``ner tag`` with and without it; README.md gives the figures). Safe because every command
    has finished writing (files go through atomic renames) when :func:`main` returns; streams and log
    handlers are flushed here.
    """
    code = main()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):   # reader gone, or stream closed
            pass
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
