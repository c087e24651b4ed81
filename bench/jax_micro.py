"""Helpers shared by the JAX micro-benchmarks (bench/crf_scan.py, bench/lstm_paths.py)."""

import argparse
import json
import os
import statistics
import time

from _provenance import provenance


def parser(doc: str, shapes: str, repeats: int, row: str) -> argparse.ArgumentParser:
    """The options every micro-benchmark takes: --shapes (default ``shapes``), --repeats, --json (one JSON
    line per ``row``); the script adds its own."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shapes", default=shapes, help="comma-separated BxT batch shapes")
    p.add_argument("--repeats", type=int, default=repeats)
    p.add_argument("--json", default="", help=f"append one JSON line per {row} to this file")
    return p


def require_jax(script: str, why: str = "") -> None:
    """Select the JAX backend unless KERAS_BACKEND says otherwise; exit with a one-line message if another
    backend is in use."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras

    if keras.backend.backend() != "jax":
        raise SystemExit(f"{script}: needs KERAS_BACKEND=jax{why}")


def batch_shapes(text: str) -> list[tuple[int, int]]:
    """"32x24,256x48" -> [(32, 24), (256, 48)]: (batch B, length T) pairs."""
    return [tuple(int(v) for v in shape.split("x")) for shape in text.split(",")]


def median_ms(f, x, repeats: int) -> float:
    """Median milliseconds of ``f(x)`` (waited for with ``jax.block_until_ready``) over ``repeats`` calls,
    after two warm-up calls (the first compiles)."""
    import jax

    for _ in range(2):
        jax.block_until_ready(f(x))
    seconds = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(f(x))
        seconds.append(time.perf_counter() - t0)
    return round(1e3 * statistics.median(seconds), 3)


def record(row: dict, rows: list, json_path: str) -> None:
    """Keep ``row`` with its commit, command line, machine and library versions (``bench/_provenance.py``),
    print it as a JSON line and append it to ``json_path`` (if given) at once, so that a run cut short keeps
    what it measured."""
    row.update(provenance("jax"))
    rows.append(row)
    print(json.dumps(row), flush=True)
    if json_path:
        with open(json_path, "a") as f:
            f.write(json.dumps(row) + "\n")
