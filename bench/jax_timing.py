"""Timing helper shared by the JAX micro-benchmarks (bench/crf_scan.py, bench/lstm_paths.py)."""

import statistics
import time


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
