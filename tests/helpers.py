"""What several test files share: paths, tiny model and training sizes, a tiny corpus, corpus slices, running the
CLI in-process, a deterministic measure of work and gradients on the current backend.

Plain constants and functions (fixtures live in conftest.py); test files import them with
``from helpers import ...``, as does code run in a subprocess after ``sys.path.insert(0, TESTS)``.
Nothing here imports Keras at import time: conftest.py sets the XLA and hub environment first.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
"""The repository root (the working folder of CLI subprocesses)."""
SAMPLE = ROOT / "data" / "sample"
"""The bundled English sample corpus (BIO, 600/150/150 sentences)."""
SAMPLE_ZH = ROOT / "data" / "sample-zh"
"""The bundled Chinese sample corpus (BMES, one character a token)."""
CONLL2003 = ROOT.parent / "shared" / "data" / "conll2003"
"""CoNLL-2003 where the workplace has it; tests that read it skip when it is absent."""
OLD_BUNDLES = TESTS / "bundles"
"""Bundles written by ner 0.1.0, with the tags they gave (expected.json): trained, loaded without training."""

TINY_MODEL = dict(hidden=8, word_dim=8, char_dim=8, char_filters=4, casing_dim=4, dropout=0.0)
"""Model sizes for ``build_tagger`` on ``tiny_corpus()``: every layer present, fast to compile."""
TINY_TRAIN = dict(word_dim=16, hidden=16, casing_dim=4, epochs=2, batch_size=16, verbose=0, seed=3)
"""``ner.train`` settings of the session bundles (conftest.py): a complete bundle from a few hundred sentences in
seconds. Its tagger finds no entity yet in test_tagger's sentences; tests that need entities use ``OLD_BUNDLES``."""

SENTENCES = [
    ("John Smith lives in Paris .", "B-PER E-PER O O S-LOC O"),
    ("Mary visited the United Nations in New York yesterday .", "S-PER O O B-ORG E-ORG O B-LOC E-LOC O O"),
    ("IBM hired Anna .", "S-ORG O S-PER O"),
    ("He went to Berlin and then to the Deutsche Bank headquarters .", "O O O S-LOC O O O O B-ORG E-ORG O O"),
    ("Rain .", "O O"),
    ("Peter Paul Jones met the president of Google in London on Monday morning , said the report .",
     "B-PER I-PER E-PER O O O O S-ORG O S-LOC O O O O O O O O"),
    ("Berlin is big .", "S-LOC O O O"),
    ("The Bank of England raised rates .", "O B-ORG I-ORG E-ORG O O O"),
]
"""Eight hand-tagged sentences (BIOES) of ``tiny_corpus()``."""


def slow_except(fast, values) -> list:
    """``values`` for ``pytest.mark.parametrize``, each marked slow but those in ``fast`` (compared with ``in``):
    the fast loop (``pytest -m "not slow"``) keeps a few representatives of a long parametrisation. A tuple is
    the arguments of one case (several names), anything else the one argument."""
    return [pytest.param(*(v if isinstance(v, tuple) else (v,)), marks=() if v in fast else pytest.mark.slow)
            for v in values]


def tiny_corpus():
    """(tokens, tags, vocabs) of the eight ``SENTENCES`` (BIOES)."""
    from ner.data.vocab import build_vocabularies

    tokens = [s.split() for s, _ in SENTENCES]
    tags = [t.split() for _, t in SENTENCES]
    return tokens, tags, build_vocabularies(tokens, tags)


def write_slice(source: Path, target: Path, sentences: dict[str, int]) -> Path:
    """Copy the first N sentences of each split of a CoNLL folder into ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    for split, n in sentences.items():
        blocks = (source / f"{split}.txt").read_text(encoding="utf-8").strip().split("\n\n")
        (target / f"{split}.txt").write_text("\n\n".join(blocks[:n]) + "\n", encoding="utf-8")
    return target


def cli(capsys, *argv) -> tuple[int, str, str]:
    """Run ``ner`` in this process: (exit code, stdout, stderr). Arguments go through ``str``; what was
    printed before (progress bars of building test data) is dropped first."""
    from ner.cli import main

    capsys.readouterr()
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def only_line(err: str) -> str:
    """The one line of ``err`` (what a failed command printed), asserting that there is one and no traceback."""
    err = err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return err


def one_line_error(capsys, argv: list, code: int = 2) -> str:
    """Run ``ner`` in this process on ``argv`` (as ``main(argv)`` takes it) and expect exit ``code``, nothing on
    stdout and one ``ner: error: ...`` line on stderr; return that line."""
    got, out, err = cli(capsys, *argv)
    assert got == code and out == "", (got, out, err)
    line = only_line(err)
    assert line.startswith("ner: error: "), err
    return line


def python_lines(fn, *args, **kwargs) -> int:
    """Python lines executed by ``fn(*args, **kwargs)`` and everything it calls: a deterministic measure of
    work for "linear time" checks (tests never time anything; code in C, such as regexes, is not counted)."""
    count = 0

    def trace(frame, event, arg):
        nonlocal count
        count += event == "line"
        return trace

    previous = sys.gettrace()
    sys.settrace(trace)
    try:
        fn(*args, **kwargs)
    finally:
        sys.settrace(previous)
    return count


def grads(f, *xs, compiled=False):
    """Gradients of the scalar f(*xs) w.r.t. every x, as numpy, eagerly or compiled (XLA / jax.jit), on the
    current Keras backend; skips the test on another backend."""
    import keras
    import numpy as np

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        def grad(*xs):
            with tf.GradientTape() as tape:
                tape.watch(xs)
                y = f(*xs)
            return [tf.convert_to_tensor(g) for g in tape.gradient(y, xs)]

        grad = tf.function(grad, jit_compile=True) if compiled else grad
        return [g.numpy() for g in grad(*[tf.convert_to_tensor(x) for x in xs])]
    if backend == "jax":
        import jax

        grad = jax.grad(f, argnums=tuple(range(len(xs))))
        return [np.asarray(g) for g in (jax.jit(grad) if compiled else grad)(*xs)]
    pytest.skip(f"no gradient helper for backend {backend}")


def disk_full(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on in the test, every file ``ner.io.files`` writes is created but its content does not fit:
    the write fails with ENOSPC, as on a full disk."""
    import errno
    import io
    import os

    from ner.io import files

    class Full(io.BytesIO):
        def write(self, data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def full_open(path, *args, **kwargs):
        open(path, *args, **kwargs).close()   # the temporary file is created, its content does not fit
        return Full()

    monkeypatch.setattr(files, "open", full_open, raising=False)


def processes_naming(text: str) -> list[int]:
    """PIDs of the processes whose command line contains ``text``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            if text.encode() in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
    return found
