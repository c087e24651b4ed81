"""How many CPU threads this process's deep-learning framework computes with.

TensorFlow splits an op over its intra-op pool and runs independent ops on its inter-op pool; the split
changes the order of floating-point sums, so the same training on 1 and on 2 threads ends with slightly
different weights. A run that must match another run therefore sets its threads explicitly, before the
framework starts: :func:`set_threads`.
"""

from __future__ import annotations

import os
import sys

from ner.errors import NerError

# JAX on a CPU: one thread for XLA's Eigen ops (XLA has no setting for a pool of N threads)
XLA_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
TF_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")   # read when TensorFlow starts
BLAS_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")   # read when numpy's BLAS loads


def set_threads(threads: int) -> None:
    """Compute on ``threads`` CPU threads from now on: TensorFlow's intra-op and inter-op pools (through its
    environment variables, or its config when it is imported but not started), OpenMP, and with
    ``threads == 1`` XLA's single-threaded CPU ops for JAX (read when JAX starts; with more threads XLA keeps
    its own pool). Raises NerError when TensorFlow already started here with other pools."""
    if threads < 1:
        raise NerError(f"--threads: must be at least 1, got {threads}")
    from_environment = all(os.environ.get(n) == str(threads) for n in TF_VARIABLES)
    for name in (*TF_VARIABLES, "OMP_NUM_THREADS"):
        os.environ[name] = str(threads)
    if threads == 1 and XLA_ONE_THREAD not in os.environ.get("XLA_FLAGS", ""):
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {XLA_ONE_THREAD}".strip()
    tf = sys.modules.get("tensorflow")
    if tf is None or not hasattr(tf, "config"):
        return
    pools = tf.config.threading
    try:
        pools.set_intra_op_parallelism_threads(threads)
        pools.set_inter_op_parallelism_threads(threads)
    except RuntimeError:   # TensorFlow started: its pools are fixed
        now = (pools.get_intra_op_parallelism_threads(), pools.get_inter_op_parallelism_threads())
        if now != (threads, threads) and not (now == (0, 0) and from_environment):   # 0: from the variables
            raise NerError(f"--threads {threads}: TensorFlow already runs in this process with other thread "
                           "pools; run in a new process (or with --jobs 2 or more, whose runs start their own)"
                           ) from None
