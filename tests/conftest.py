"""Shared fixtures: small slices of the bundled sample corpus and small trained bundles."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# XLA's expensive optimisation passes cost more than they save on the tiny test models (JAX, TF jit).
os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true")
# Hermetic: any request to the Hugging Face hub goes to a loopback port where nothing listens.
os.environ["HF_ENDPOINT"] = "http://127.0.0.1:9"
# No persistent JAX compilation cache in ~/.cache from tests (ner.backend.compile_cache keeps a set value).
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", "")

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
SAMPLE_ZH = ROOT / "data" / "sample-zh"
CONLL2003 = ROOT.parent / "shared" / "data" / "conll2003"

# Tiny model sizes: enough to learn something from a few hundred sentences in a few seconds.
TINY = dict(word_dim=16, hidden=16, casing_dim=4, epochs=2, batch_size=16, verbose=0, seed=3)


def write_slice(source: Path, target: Path, sentences: dict[str, int]) -> Path:
    """Copy the first N sentences of each split of a CoNLL folder into ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    for split, n in sentences.items():
        blocks = (source / f"{split}.txt").read_text(encoding="utf-8").strip().split("\n\n")
        (target / f"{split}.txt").write_text("\n\n".join(blocks[:n]) + "\n", encoding="utf-8")
    return target


@pytest.fixture(scope="session")
def small_sample(tmp_path_factory) -> Path:
    """A 240/60/60-sentence slice of data/sample (English, BIO)."""
    return write_slice(SAMPLE, tmp_path_factory.mktemp("small") / "sample",
                       {"train": 240, "dev": 60, "test": 60})


@pytest.fixture(scope="session")
def crf_bundle(small_sample, tmp_path_factory) -> Path:
    """A bilstm-cnn + CRF bundle trained for 2 epochs on the small sample."""
    import ner

    return ner.train(data=str(small_sample), encoder="bilstm-cnn", crf=True,
                     out=str(tmp_path_factory.mktemp("bundles") / "crf"), **TINY)


@pytest.fixture(scope="session")
def zh_bundle(tmp_path_factory) -> Path:
    """A bilstm + CRF bundle trained for 1 epoch on a 120/30/30-sentence slice of data/sample-zh (BMES)."""
    import ner

    root = tmp_path_factory.mktemp("zh")
    data = write_slice(SAMPLE_ZH, root / "sample-zh", {"train": 120, "dev": 30, "test": 30})
    return ner.train(data=str(data), encoder="bilstm", out=str(root / "bundle"), **dict(TINY, epochs=1))


@pytest.fixture(scope="session")
def softmax_bundle(small_sample, tmp_path_factory) -> Path:
    """A bilstm + softmax bundle trained for 2 epochs on the small sample."""
    import ner

    return ner.train(data=str(small_sample), encoder="bilstm", crf=False,
                     out=str(tmp_path_factory.mktemp("bundles") / "softmax"), **TINY)


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
