"""Fixtures: small slices of the bundled sample corpus and small trained bundles. Shared constants and functions
are in helpers.py; this file also sets the environment before anything imports Keras.

``pytest -m "not slow"`` is the fast inner loop: it leaves out the tests marked slow (end-to-end training,
cross-backend saves, XLA compilations, most cases of long parametrisations) and with them the softmax and
Chinese bundles below; CI runs everything."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# XLA's expensive optimisation passes cost more than they save on the tiny test models (JAX, TF jit).
os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true")
# Hermetic: any request to the Hugging Face hub goes to a loopback port where nothing listens.
os.environ["HF_ENDPOINT"] = "http://127.0.0.1:9"
# No persistent JAX compilation cache in ~/.cache from tests (ner.backend.compile_cache keeps a set value).
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", "")

from helpers import SAMPLE, SAMPLE_ZH, TINY_TRAIN, write_slice  # noqa: E402  (after the environment above)


@pytest.fixture(autouse=True)
def keras_backend_kept():
    """Each test leaves KERAS_BACKEND as it found it: ``ner.cli.main`` sets it for ``--backend``, and a later test's
    subprocesses or spawned workers would otherwise run on that backend."""
    before = os.environ.get("KERAS_BACKEND")
    yield
    if before is None:
        os.environ.pop("KERAS_BACKEND", None)
    else:
        os.environ["KERAS_BACKEND"] = before


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
                     out=str(tmp_path_factory.mktemp("bundles") / "crf"), **TINY_TRAIN)


@pytest.fixture(scope="session")
def zh_bundle(tmp_path_factory) -> Path:
    """A bilstm + CRF bundle trained for 12 epochs on a 120/30/30-sentence slice of data/sample-zh (BMES), at
    a high learning rate: it finds the people, places and organisations of test_tagger's Chinese text."""
    import ner

    root = tmp_path_factory.mktemp("zh")
    data = write_slice(SAMPLE_ZH, root / "sample-zh", {"train": 120, "dev": 30, "test": 30})
    return ner.train(data=str(data), encoder="bilstm", out=str(root / "bundle"),
                     **dict(TINY_TRAIN, epochs=12, batch_size=8, lr=0.02, dropout=0.1, lr_decay=0.0, patience=0))


@pytest.fixture(scope="session")
def softmax_bundle(small_sample, tmp_path_factory) -> Path:
    """A bilstm + softmax bundle trained for 2 epochs on the small sample."""
    import ner

    return ner.train(data=str(small_sample), encoder="bilstm", crf=False,
                     out=str(tmp_path_factory.mktemp("bundles") / "softmax"), **TINY_TRAIN)
