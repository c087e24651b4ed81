"""Where a benchmark figure came from: the commit, the command line, the machine and the library versions.

Every bench script that prints or saves results adds :func:`provenance` to its rows (or prints it as a
line before its table), so that a row in ``bench/results/`` can be traced to the code and environment that
produced it. Nothing here imports a deep-learning framework: versions are read from the installed
packages' metadata.
"""

from __future__ import annotations

import functools
import os
import platform
import shlex
import subprocess
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIBRARIES = ("ner", "keras", "numpy", "tensorflow", "jax", "jaxlib")
"""Packages whose installed version is recorded (those not installed are left out)."""
ENVIRONMENT = ("KERAS_BACKEND", "XLA_FLAGS", "JAX_THREEFRY_PARTITIONABLE", "JAX_PLATFORMS")
"""Environment variables that change what a benchmark measures; recorded in front of the command when set."""


def commit() -> str:
    """The checked-out commit, "+dirty" when tracked files have changes; "unknown" outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def command(argv: list[str] | None = None) -> str:
    """The command line that ran this process (default ``sys.argv``) as one shell-quoted string, with the
    :data:`ENVIRONMENT` variables that were set in front of it."""
    env = [f"{name}={shlex.quote(os.environ[name])}" for name in ENVIRONMENT if os.environ.get(name)]
    return " ".join([*env, shlex.join(["python", *(sys.argv if argv is None else argv)])])


def versions() -> dict:
    """Python's version and the installed version of each of :data:`LIBRARIES`."""
    found = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return found


@functools.lru_cache(maxsize=None)
def _fixed() -> dict:
    return {"commit": commit(), "machine": f"{platform.machine()}, {os.cpu_count()} CPUs", "versions": versions()}


def provenance(backend: str | None = None) -> dict:
    """``commit``, ``command``, ``machine`` and ``versions`` of this run, and ``backend`` (the Keras backend
    that ran it) when given: the fields every results row carries."""
    return {**_fixed(), "command": command(), **({"backend": backend} if backend else {})}


def line(backend: str | None = None) -> str:
    """:func:`provenance` as one line for a script that prints a table instead of saving rows."""
    p = provenance(backend)
    libraries = ", ".join(f"{name} {version}" for name, version in p["versions"].items())
    where = f"backend {p['backend']}; " if "backend" in p else ""
    return f"# commit {p['commit']}; {where}{libraries}; {p['machine']}; command: {p['command']}"
