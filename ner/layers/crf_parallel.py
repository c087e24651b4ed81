"""Loop-free forms of the CRF's forward algorithm and Viterbi (``CRF(scan="parallel")``), for a static T.

Shapes: T steps, B batch, K tags; time-major emissions ``e`` (T, B, K) float32 and mask ``m`` (T, B) bool,
right-padded. Step t > 0 of the chain is the (K, K) score matrix ``M_t[i, j] = trans[i, j] + e[t, :, j]``
(the identity at padding). The forward scores are the product ``alpha_0 (x) M_1 (x) ... (x) M_{T-1}`` in the
log semiring (logsumexp of sums), the best-path scores the same product in the max-plus semiring. Both are
combined as trees instead of loops: depth log T instead of T, K times the arithmetic; the same results up to
float rounding. ``ner.layers.crf`` decides when these run (JAX with a static T).
"""

from __future__ import annotations

from keras import ops

from ner.layers.scan import Tensor

SEMIRING_ZERO = -1e30
"""The "log 0" off the diagonal of the identity matrix that stands for a padded step (finite, so that
gradients stay finite; far below any path score)."""


def argmax_first(cand: Tensor, axis: int) -> Tensor:
    """Smallest index reaching the max of ``cand`` along ``axis`` (int32), as the sequential Viterbi step
    uses too; K - 1 when nothing does (NaN scores), so indices stay in range. Cheaper than ``ops.argmax``
    under XLA on a CPU with JAX."""
    k = cand.shape[axis]
    top = ops.max(cand, axis=axis, keepdims=True)
    shape = [k if a == axis % len(cand.shape) else 1 for a in range(len(cand.shape))]
    tags = ops.reshape(ops.arange(k, dtype="int32"), shape)
    return ops.min(ops.where(cand == top, tags, k - 1), axis=axis)


def forward_scores(start: Tensor, trans: Tensor, e: Tensor, m: Tensor) -> Tensor:
    """The forward algorithm's alpha at each row's last real step: (B, K) float32.

    ``alpha[b, j]`` = log-sum of the scores of all paths of row b ending in tag j (start and emissions
    included, end excluded), as the CRF's sequential loop computes it."""
    alpha = start + e[0]                                                            # (B, K)
    if e.shape[0] == 1:
        return alpha
    product = _tree_product(_log_matmul, _step_matrices(trans, e, m))               # (B, K, K)
    return ops.logsumexp(alpha[:, :, None] + product, axis=1)                       # (B, K)


def viterbi(start: Tensor, trans: Tensor, end: Tensor, e: Tensor, m: Tensor) -> Tensor:
    """Best path of each row: (T, B) int32 tag ids (values at padding are arbitrary).

    Best prefix scores ``score_t = score_0 (x) M_1 (x) ... (x) M_t`` (max-plus) by an associative scan;
    backpointers ``back_t[k] = argmax_j score_{t-1}[j] + trans[j, k]`` at every step at once (identity at
    padding); then ``y_{t-1} = back_t[y_t]`` for all t at once, by scanning the compositions of the
    backpointer maps from the end.
    """
    score = (start + e[0])[None]                                                    # (1, B, K)
    if e.shape[0] > 1:
        prefix = ops.associative_scan(_max_matmul, _step_matrices(trans, e, m))     # (T-1, B, K, K)
        later = ops.max(score[0][None, :, :, None] + prefix, axis=2)                # (T-1, B, K)
        score = ops.concatenate([score, later], axis=0)                             # (T, B, K)
    last = argmax_first(score[-1] + end, axis=-1)                                   # (B,)
    if e.shape[0] == 1:
        return last[None]
    tags = ops.arange(e.shape[-1], dtype="int32")
    back = ops.where(m[1:, :, None], argmax_first(score[:-1, :, :, None] + trans, axis=2), tags)  # (T-1, B, K)
    maps = ops.associative_scan(_compose, back, reverse=True)   # maps[t-1] = back_t o ... o back_{T-1}
    index = ops.zeros_like(maps[:, :, :1]) + last[None, :, None]                    # (T-1, B, 1)
    earlier = ops.take_along_axis(maps, index, axis=2)[:, :, 0]                     # (T-1, B)
    return ops.concatenate([earlier, last[None]], axis=0)                           # (T, B)


def _step_matrices(trans, e, m):
    """(T-1, B, K, K): ``trans[i, j] + e[t, :, j]`` for t = 1..T-1 at real steps, the identity at padding."""
    k = e.shape[-1]
    identity = ops.where(ops.eye(k, dtype="bool"), 0.0, SEMIRING_ZERO)             # (K, K)
    return ops.where(m[1:, :, None, None], trans + e[1:, :, None, :], identity)


def _log_matmul(a, b):
    """Log-semiring product of (..., K, K) matrices: ``logsumexp_k a[i, k] + b[k, j]``."""
    return ops.logsumexp(a[..., :, :, None] + b[..., None, :, :], axis=-2)


def _max_matmul(a, b):
    """Max-plus product of (..., K, K) matrices: ``max_k a[i, k] + b[k, j]``."""
    return ops.max(a[..., :, :, None] + b[..., None, :, :], axis=-2)


def _compose(later, earlier):
    """Backpointer maps (..., K) int32 composed: ``earlier[later[k]]`` (``later`` is applied first)."""
    return ops.take_along_axis(earlier, later, axis=-1)


def _tree_product(multiply, mats):
    """``mats[0] (x) mats[1] (x) ... (x) mats[n-1]``: (n, B, K, K) -> (B, K, K) for an associative
    ``multiply``, as a balanced tree: ceil(log2 n) levels, n - 1 products in all (n static)."""
    while mats.shape[0] > 1:
        n = mats.shape[0]
        paired = multiply(mats[0:n - 1:2], mats[1:n:2])
        mats = ops.concatenate([paired, mats[n - 1:]], axis=0) if n % 2 else paired
    return mats[0]
