"""JAX's persistent compilation cache for training and decoding: compiled programs kept on disk.

JAX compiles one program per batch shape (18 on CoNLL-2003 for bilstm-cnn + CRF on a CPU), most of a
first epoch's time. With the cache a later run of the same model, sizes and shapes (another seed, a rerun,
the next configuration of a comparison that shares them) loads them instead of compiling them again
(bench/README.md gives the measured saving). Programs are keyed by JAX's version, the XLA flags and the
program itself, so a stale entry is never used. TensorFlow and PyTorch are unaffected.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ENV = "JAX_COMPILATION_CACHE_DIR"


def default_dir() -> Path:
    """``$XDG_CACHE_HOME/ner/jax``, else ``~/.cache/ner/jax``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ner" / "jax"


def enable_compile_cache() -> str | None:
    """Turn the cache on in :func:`default_dir` unless ``JAX_COMPILATION_CACHE_DIR`` is already set (the
    user's folder wins; set it to an empty string to keep the cache off). Returns the folder in use, or
    None when off. Call before the first compilation: JAX reads the setting when it first compiles.
    """
    if ENV in os.environ:
        return os.environ[ENV] or None
    path = str(default_dir())
    os.environ[ENV] = path       # read by JAX when imported later, and by child processes
    if "jax" in sys.modules:     # already imported: set it directly
        sys.modules["jax"].config.update("jax_compilation_cache_dir", path)
    return path
