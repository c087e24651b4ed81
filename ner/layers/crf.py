"""Linear-chain conditional random field (CRF) for Keras 3, in the spirit of pytorch-crf.

Shapes: B batch, T time steps (padded length), K tags. Emissions (B, T, K) are unnormalised tag scores
from an encoder; tags (B, T) are int tag ids; a mask (B, T) (bool or int, ``None`` = all on) marks real
steps and must be right-padded (ones, then zeros) with the first step on. A path y of length L scores
``start[y_0] + sum_t emissions[t, y_t] + sum_{t>0} transitions[y_{t-1}, y_t] + end[y_{L-1}]``;
``log p(y) = score(y) - log Z``. All maths is float32 in log space (logsumexp): long sequences and huge
emissions stay finite, with float32's relative precision (log Z of a 1500-step sentence: ~1e-5).
Padding never changes a result.

Written with ``keras.ops`` only. The loops over time run through :func:`scan`, the one place that picks a
loop per backend (see its docstring and DESIGN.md). Eager TensorFlow runs those loops step by step in
Python (slow for long inputs); inside ``model.fit`` / ``predict`` / ``tf.function`` / ``jax.jit`` they
are compiled. ``set_time_scan("parallel")`` computes log Z and Viterbi without a loop over time instead:
products of (K, K) score matrices in the log and max-plus semirings combined as a tree (depth log T, K
times the arithmetic), for accelerators where each loop step costs a kernel launch (see
:func:`set_time_scan`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import keras
import numpy as np
from keras import ops

from ner.layers.modes import Mode

FORBIDDEN_SCORE = -1e4
"""Score added to forbidden start / transition / end entries of a constrained CRF (finite: -inf would
give NaN gradients through logsumexp)."""

NBEST_PAD_SCORE = -1e30
"""Score that :meth:`CRF.nbest` reports for the missing paths when k exceeds the number of paths."""

SEMIRING_ZERO = -1e30
"""The "log 0" off the diagonal of the identity matrix that stands for a padded step in the parallel
forms (finite, so that gradients stay finite; far below any path score)."""

TIME_SCANS = ("sequential", "parallel")
_TIME_SCAN = Mode("CRF time scan", TIME_SCANS)


def set_time_scan(mode: str) -> None:
    """How every CRF computes log Z (training) and Viterbi (decoding) in functions traced from now on, in
    this process (compiled train / predict functions keep the mode they were traced with).

    ``"sequential"`` (default): a loop over the T time steps (K^2 work per step). ``"parallel"``: the
    chain's (K, K) step matrices multiplied as a balanced tree in the log semiring (log Z) and scanned in
    the max-plus semiring (Viterbi scores; the backpointers are then composed by a second scan): no loop,
    depth O(log T), K^3 work per step. Same results up to float rounding; meant for GPUs, where a loop step
    costs a kernel launch whatever its size. JAX only, with a static T (JAX compiles one program per
    shape): elsewhere (TensorFlow's associative scan fails under XLA and loses static shapes in graphs),
    and wherever T is unknown, the sequential loop runs. ``forward_backward``, ``marginals`` and
    ``nbest`` always loop.
    """
    _TIME_SCAN.set(mode)


def time_scan(mode: str):
    """``set_time_scan(mode)`` for the duration of a ``with`` block, then the previous mode again."""
    return _TIME_SCAN.using(mode)


def _parallel(e) -> bool:
    """Whether to use the parallel forms for time-major emissions ``e`` (T, B, K)."""
    return (_TIME_SCAN.value == "parallel" and keras.backend.backend() == "jax"
            and isinstance(e.shape[0], int))   # T known: not None, not a symbolic dim


def scan(step: Callable, consts: tuple, init, xs: tuple, ys_like: tuple = (), reverse: bool = False):
    """Run ``step`` along the leading (time) axis of ``xs``; the only loop in this module.

    ``step(consts, carry, x) -> (carry, ys)``: ``consts`` a tuple of loop-invariant tensors, ``carry`` a
    tensor or tuple of tensors (fixed shapes), ``x`` a tuple with one slice ``xs[i][t]`` per tensor, ``ys``
    a tuple of per-step outputs shaped like ``ys_like``. Make ``step`` a module-level function, not a
    closure: an eager JAX ``ops.scan`` reuses its compiled loop only for the same function object.
    ``xs``: tuple of time-major tensors (T, ...), T >= 1. ``ys_like``: one example tensor per output, giving
    its per-step shape and dtype (only TensorFlow needs them). ``reverse`` runs t = T-1 .. 0.
    Returns ``(final carry, ys)``, ys a tuple of (T, ...) tensors, ``ys[i][t]`` the output of step t.

    Backend choice (measured, DESIGN.md): on TensorFlow ``ops.while_loop(maximum_iterations=T)`` -- the
    gradient of ``ops.scan`` does not compile under XLA there -- writing outputs with
    ``ops.scatter_update`` (``ops.slice_update`` has no TF gradient); elsewhere ``ops.scan`` (JAX cannot
    reverse-differentiate a while loop), with ``consts`` carried through unchanged.
    """
    if keras.backend.backend() != "tensorflow":
        (_, carry), ys = ops.scan(_carrying(step), (consts, init), xs, reverse=reverse)
        return carry, ys
    n = ops.shape(xs[0])[0]
    bufs = tuple(ops.zeros((n, *ops.shape(y)), y.dtype) for y in ys_like)

    def body(i, carry, bufs):
        t = n - 1 - i if reverse else i
        carry, ys = step(consts, carry, tuple(ops.take(v, t, axis=0) for v in xs))
        index = ops.reshape(t, (1, 1))
        return i + 1, carry, tuple(ops.scatter_update(b, index, y[None]) for b, y in zip(bufs, ys))

    _, carry, bufs = ops.while_loop(lambda i, c, b: i < n, body, (0, init, bufs), maximum_iterations=n)
    return carry, bufs


@functools.cache
def _carrying(step: Callable) -> Callable:
    """``step(consts, carry, x)`` as an ``ops.scan`` function over ``(consts, carry)`` (one per step)."""

    def f(carry, x):
        consts, c = carry
        c, ys = step(consts, c, x)
        return (consts, c), ys

    return f


# ---- loop steps: e_t (B, K) emissions, m_t (B,) bool mask, first_t () bool "t == 0" ---------------------


def _alpha_step(consts, alpha, x):
    """Forward algorithm: alpha (B, K) at t-1 -> at t (kept at padding); consts (start, transitions)."""
    start, trans = consts
    e_t, m_t, first_t = x
    nxt = ops.where(first_t, start + e_t, ops.logsumexp(alpha[:, :, None] + trans, axis=1) + e_t)
    return ops.where((m_t | first_t)[:, None], nxt, alpha), ()


def _alphas_step(consts, alpha, x):
    """:func:`_alpha_step` that also outputs alpha_t (B, K)."""
    alpha, _ = _alpha_step(consts, alpha, x)
    return alpha, (alpha,)


def _beta_step(consts, beta, x):
    """Backward algorithm (reverse): beta (B, K) at t+1 -> at t; x = emissions and mask of step t+1."""
    (trans,) = consts
    e_n, m_n = x
    beta = ops.where(m_n[:, None], ops.logsumexp(trans + (e_n + beta)[:, None, :], axis=2), beta)
    return beta, (beta,)


def _viterbi_step(consts, score, x):
    """Viterbi: best scores (B, K) at t-1 -> at t, and backpointers (B, K) int32 (identity at padding)."""
    start, trans = consts
    e_t, m_t, first_t = x
    cand = score[:, :, None] + trans
    top = ops.max(cand, axis=1)
    arg = _argmax_first(cand, axis=1)
    back = ops.where(m_t[:, None] & ~first_t, arg, ops.zeros_like(arg) + ops.arange(score.shape[1], dtype="int32"))
    best = ops.where(first_t, start + e_t, top + e_t)
    return ops.where((m_t | first_t)[:, None], best, score), (back,)


def _nbest_step(consts, score, x):
    """k-best Viterbi: score (B, K, n) of the n best partial paths ending in tag j (rank r) at t-1 -> at t,
    and backpointers (B, K * n) int32 into the previous step's flat ``j * n + r`` (identity at padding)."""
    start, trans = consts
    e_t, m_t, first_t = x
    big_k, n = score.shape[1], score.shape[2]
    cand = ops.reshape(score[:, :, :, None] + trans[:, None, :], (-1, big_k * n, big_k))
    best, back = ops.top_k(ops.transpose(cand, (0, 2, 1)), n)
    init = ops.where(ops.arange(n) == 0, (start + e_t)[:, :, None], NBEST_PAD_SCORE)
    best = ops.where(first_t, init, best + e_t[:, :, None])
    back = ops.reshape(ops.cast(back, "int32"), (-1, big_k * n))
    keep = ops.zeros_like(back) + ops.arange(big_k * n, dtype="int32")
    back = ops.where(m_t[:, None] & ~first_t, back, keep)
    return ops.where((m_t | first_t)[:, None, None], best, score), (back,)


def _backtrack_step(consts, index, x):
    """Reverse: index (B, ...) int32 into step t's backpointers (B, M) -> into step t-1's; outputs
    ``index // n`` with n = consts[0] (the tag: n = 1 for Viterbi, k for k-best)."""
    (back_t,) = x
    return ops.take_along_axis(back_t, index, axis=1), (index // consts[0],)


# ---- parallel forms over time (static T): products of (B, K, K) step matrices ---------------------------


def _step_matrices(trans, e, m):
    """(T-1, B, K, K): ``trans[i, j] + e[t, :, j]`` for t = 1..T-1 at real steps, the identity at padding."""
    k = e.shape[-1]
    identity = ops.where(ops.eye(k, dtype="bool"), 0.0, SEMIRING_ZERO)
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
    """``mats[0] @ mats[1] @ ... @ mats[n-1]`` (n, B, K, K) -> (B, K, K) for an associative ``multiply``,
    as a balanced tree: ceil(log2 n) levels, n - 1 products in all (n static)."""
    while mats.shape[0] > 1:
        n = mats.shape[0]
        paired = multiply(mats[0:n - 1:2], mats[1:n:2])
        mats = ops.concatenate([paired, mats[n - 1:]], axis=0) if n % 2 else paired
    return mats[0]


def _argmax_first(cand, axis):
    """Smallest index reaching the max of ``cand`` along ``axis`` (int32); 10x faster than ``ops.argmax``
    under XLA on CPU with JAX, and K - 1 when nothing does (NaN scores), so indices stay in range."""
    k = cand.shape[axis]
    top = ops.max(cand, axis=axis, keepdims=True)
    tags = ops.reshape(ops.arange(k, dtype="int32"), [k if a == axis % len(cand.shape) else 1
                                                      for a in range(len(cand.shape))])
    return ops.min(ops.where(cand == top, tags, k - 1), axis=axis)


def _values(x) -> np.ndarray | None:
    """``x`` as numpy when its values are known (eager), ``None`` under tracing (tf.function, jax.jit)."""
    try:
        return ops.convert_to_numpy(x)
    except (TypeError, NotImplementedError):  # JAX tracers / symbolic TF tensors have no values
        return None


def _first(e):
    """(T,) bool, True at t = 0, for e (T, B, K)."""
    return ops.arange(ops.shape(e)[0]) == 0


@keras.saving.register_keras_serializable(package="ner")
class CRF(keras.layers.Layer):
    """Linear-chain CRF over K tags: weights ``transitions`` (K, K) [from, to], ``start`` (K,), ``end`` (K,).

    Args:
        num_tags: K; ``None`` infers it from ``labels``, ``allowed`` or, at build, the emissions' last dim.
        labels: tag names of ids 0..K-1 (stored in the config; needed with ``scheme`` for constraints).
        scheme: tagging scheme of ``labels`` (``ner.data.schemes.SCHEMES``).
        constrained: add ``FORBIDDEN_SCORE`` to the start / transition / end scores that the scheme forbids
            (``transition_constraints(labels, scheme)``), in training and decoding alike: decoded paths are
            well-formed whenever some well-formed path exists and the model's other score differences stay
            below 1e4 (any sane model). The masks are constants, not weights.
        allowed: explicit boolean masks ``(start (K,), transitions (K, K), end (K,))``, True = allowed, used
            instead of ``labels`` + ``scheme`` (needs ``constrained=True``).

    ``call(emissions, mask=None)`` returns the emissions (B, T, K) unchanged and attaches no Keras mask:
    the CRF loss is one number per sequence, and Keras' automatic loss masking would multiply it by a
    (B, T) mask. Compute the loss in ``Model.compute_loss`` as ``-mean(crf.log_likelihood(...))``.
    """

    def __init__(
        self,
        num_tags: int | None = None,
        labels: Sequence[str] | None = None,
        scheme: str | None = None,
        constrained: bool = False,
        allowed: Sequence | None = None,
        **kwargs,
    ):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.labels = list(labels) if labels is not None else None
        self.scheme = scheme
        self.constrained = bool(constrained)
        self.allowed = None if allowed is None else tuple(np.asarray(a, dtype=bool) for a in allowed)
        masks = self.allowed
        if masks is not None:
            if not self.constrained:
                raise ValueError("CRF: `allowed` masks given but constrained=False; pass constrained=True")
            n = masks[0].shape[0] if len(masks) == 3 and masks[0].ndim == 1 else -1
            if [a.shape for a in masks] != [(n,), (n, n), (n,)]:
                raise ValueError(
                    "CRF: `allowed` must be (start (K,), transitions (K, K), end (K,)); got shapes "
                    f"{[a.shape for a in masks]}"
                )
        elif self.constrained:
            if self.labels is None or scheme is None:
                raise ValueError("CRF: constrained=True needs `labels` and `scheme` (or `allowed` masks)")
            from ner.data.schemes import transition_constraints

            masks = tuple(np.asarray(a, dtype=bool) for a in transition_constraints(self.labels, scheme))
        sizes = {
            "num_tags": num_tags,
            "len(labels)": len(self.labels) if self.labels is not None else None,
            "allowed": len(masks[0]) if self.allowed is not None else None,
        }
        known = {name: v for name, v in sizes.items() if v is not None}
        if len(set(known.values())) > 1:
            raise ValueError(f"CRF: inconsistent numbers of tags: {known}")
        self.num_tags = next(iter(known.values()), None)
        if self.num_tags is not None and self.num_tags < 1:
            raise ValueError(f"CRF: num_tags must be >= 1, got {self.num_tags}")
        # Penalties (0 or FORBIDDEN_SCORE) for start (K,), transitions (K, K), end (K,): constants.
        self._penalties = None
        if masks is not None:
            self._penalties = tuple(np.where(a, 0.0, FORBIDDEN_SCORE).astype("float32") for a in masks)

    def build(self, input_shape):
        """``input_shape``: emissions (B, T, K); K must be static and match ``num_tags``."""
        k = input_shape[-1]
        if k is None or (self.num_tags is not None and k != self.num_tags):
            raise ValueError(f"CRF: emissions have {k} tags in their last dim, expected {self.num_tags}")
        self.num_tags = int(k)
        init = keras.initializers.RandomUniform(-0.1, 0.1)
        self.transitions = self.add_weight(shape=(k, k), initializer=init, name="transitions")
        self.start = self.add_weight(shape=(k,), initializer=init, name="start")
        self.end = self.add_weight(shape=(k,), initializer=init, name="end")

    def call(self, emissions, mask=None):
        """(B, T, K), optional (B, T) -> the emissions (B, T, K), a copy without a Keras mask."""
        self._validate(emissions, None, mask)
        return ops.copy(emissions)

    def compute_mask(self, inputs, previous_mask=None):
        """The CRF consumes the mask: outputs carry none (see the class docstring)."""
        return None

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            num_tags=self.num_tags,
            labels=self.labels,
            scheme=self.scheme,
            constrained=self.constrained,
            allowed=[a.tolist() for a in self.allowed] if self.allowed is not None else None,
        )
        return config

    # ---- public API -------------------------------------------------------------------------------

    def log_likelihood(self, emissions, tags, mask=None):
        """log p(tags | emissions): (B, T, K), (B, T) int, (B, T) -> (B,) float32. Tags at padding are
        ignored (any value)."""
        e, tags, m = self._prepare(emissions, tags, mask)
        return self._gold_score(e, tags, m) - self._log_partition(e, m)

    def log_partition(self, emissions, mask=None):
        """log Z, the log-sum of the scores of all paths: (B, T, K), (B, T) -> (B,) float32."""
        e, _, m = self._prepare(emissions, None, mask)
        return self._log_partition(e, m)

    def forward_backward(self, emissions, mask=None):
        """Forward-backward in log space: (B, T, K), (B, T) -> alpha (B, T, K), beta (B, T, K), log_z (B,).

        ``alpha[b, t, k]``: log-sum of the scores of all prefixes y_0..y_t with y_t = k, including start and
        emission t. ``beta[b, t, k]``: log-sum of the scores of all suffixes after t given y_t = k, excluding
        emission t, including end. ``logsumexp(alpha[:, t] + beta[:, t]) = log_z`` at every t: at padding
        alpha repeats the last real step and beta equals ``end``.
        """
        e, _, m = self._prepare(emissions, None, mask)
        start, trans, end = self._scores()
        xs = (e, m, _first(e))
        alpha_last, (alpha,) = scan(_alphas_step, (start, trans), ops.zeros_like(e[0]), xs, (e[0],))
        e_next = ops.concatenate([e[1:], ops.zeros_like(e[:1])], axis=0)
        m_next = ops.concatenate([m[1:], ops.zeros_like(m[:1])], axis=0)
        beta0 = ops.zeros_like(e[0]) + end
        _, (beta,) = scan(_beta_step, (trans,), beta0, (e_next, m_next), (beta0,), reverse=True)
        log_z = self._finish(ops.logsumexp(alpha_last + end, axis=-1), m)
        return ops.transpose(alpha, (1, 0, 2)), ops.transpose(beta, (1, 0, 2)), log_z

    def marginals(self, emissions, mask=None):
        """p(y_t = k | emissions): (B, T, K), (B, T) -> (B, T, K) float32; rows sum to 1 at real steps and
        are all zeros at padding. Computed as ``softmax_k(alpha + beta)`` (equal to
        ``exp(alpha + beta - log_z)``, but normalised at each step)."""
        alpha, beta, _ = self.forward_backward(emissions, mask)
        m = self._mask(emissions, mask)
        return ops.where(m[:, :, None], ops.softmax(alpha + beta, axis=-1), 0.0)

    def decode(self, emissions, mask=None):
        """Viterbi best path: (B, T, K), (B, T) -> (B, T) int32 tag ids, 0 at padding."""
        e, _, m = self._prepare(emissions, None, mask)
        if _parallel(e):
            return ops.transpose(ops.where(m, self._viterbi_parallel(e, m), 0), (1, 0))
        start, trans, end = self._scores()
        xs, like = (e, m, _first(e)), ops.zeros_like(e[0], "int32")
        score, (back,) = scan(_viterbi_step, (start, trans), ops.zeros_like(e[0]), xs, (like,))
        last = ops.cast(ops.argmax(score + end, axis=-1), "int32")[:, None]
        _, (path,) = scan(_backtrack_step, (1,), last, (back,), (last,), reverse=True)
        return ops.transpose(ops.where(m, path[:, :, 0], 0), (1, 0))

    def nbest(self, emissions, mask=None, k: int = 3):
        """k best paths by k-best Viterbi: (B, T, K), (B, T) -> tags (B, k, T) int32 (0 at padding),
        scores (B, k) float32 path scores (``score - log_z`` is the log-probability), best first.

        When a sequence has fewer than k paths (K**L < k), the missing ones have score ``NBEST_PAD_SCORE``
        and all-zero tags. Equal scores come in an unspecified order.
        """
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
            raise ValueError(f"CRF.nbest: k must be an int >= 1, got {k!r}")
        k = int(k)
        e, _, m = self._prepare(emissions, None, mask)
        start, trans, end = self._scores()
        score0 = ops.zeros_like(e[0])[:, :, None] + ops.zeros((k,))
        like = ops.zeros_like(ops.reshape(score0, (-1, self.num_tags * k)), "int32")
        score, (back,) = scan(_nbest_step, (start, trans), score0, (e, m, _first(e)), (like,))
        scores, flat = ops.top_k(ops.reshape(score + end[:, None], (-1, self.num_tags * k)), k)
        flat = ops.cast(flat, "int32")
        _, (paths,) = scan(_backtrack_step, (k,), flat, (back,), (flat,), reverse=True)
        real = scores > NBEST_PAD_SCORE / 2
        paths = ops.where(m[:, :, None] & real[None], paths, 0)
        scores = self._finish(ops.where(real, scores, NBEST_PAD_SCORE), m[:, :, None])
        return ops.transpose(paths, (1, 2, 0)), scores

    def transition_scores(self):
        """The scores in use, constraint penalties included: start (K,), transitions (K, K), end (K,)."""
        return self._scores()

    # ---- internals (time-major: e (T, B, K), m (T, B) bool) ------------------------------------------

    def _scores(self):
        """start (K,), transitions (K, K), end (K,) with the constraint penalties added."""
        scores = tuple(ops.convert_to_tensor(w) for w in (self.start, self.transitions, self.end))
        if self._penalties is None:
            return scores
        return tuple(s + ops.convert_to_tensor(p) for s, p in zip(scores, self._penalties))

    def _log_partition(self, e, m):
        start, trans, end = self._scores()
        if _parallel(e):
            alpha = start + e[0]                                                        # (B, K)
            if e.shape[0] > 1:   # alpha_{T-1}[j] = logsumexp_i alpha_0[i] + (M_1 ... M_{T-1})[i, j]
                alpha = ops.logsumexp(alpha[:, :, None] + _tree_product(_log_matmul, _step_matrices(trans, e, m)),
                                      axis=1)
            return self._finish(ops.logsumexp(alpha + end, axis=-1), m)
        alpha, _ = scan(_alpha_step, (start, trans), ops.zeros_like(e[0]), (e, m, _first(e)))
        return self._finish(ops.logsumexp(alpha + end, axis=-1), m)

    def _viterbi_parallel(self, e, m):
        """Viterbi without a loop over time: e (T, B, K), m (T, B) -> path (T, B) int32 (garbage at padding).

        Best prefix scores ``score_t = score_0 (x) M_1 (x) ... (x) M_t`` (max-plus) by an associative scan;
        backpointers ``back_t[k] = argmax_j score_{t-1}[j] + trans[j, k]`` at every step at once (identity at
        padding); then ``y_{t-1} = back_t[y_t]`` for all t at once by scanning the backpointer maps'
        compositions from the end."""
        start, trans, end = self._scores()
        score = (start + e[0])[None]                                                   # (1, B, K)
        if e.shape[0] > 1:
            prefix = ops.associative_scan(_max_matmul, _step_matrices(trans, e, m))     # (T-1, B, K, K)
            score = ops.concatenate([score, ops.max(score[0][None, :, :, None] + prefix, axis=2)], axis=0)
        last = _argmax_first(score[-1] + end, axis=-1)                                 # (B,)
        if e.shape[0] == 1:
            return last[None]
        tags = ops.arange(self.num_tags, dtype="int32")
        back = ops.where(m[1:, :, None], _argmax_first(score[:-1, :, :, None] + trans, axis=2), tags)
        maps = ops.associative_scan(_compose, back, reverse=True)   # maps[t-1] = back_t o ... o back_{T-1}
        earlier = ops.take_along_axis(maps, ops.zeros_like(maps[:, :, :1]) + last[None, :, None], axis=2)
        return ops.concatenate([earlier[:, :, 0], last[None]], axis=0)

    def _gold_score(self, e, tags, m):
        """score(tags) (B,) without loops; tags (T, B) int32 already 0 at padding."""
        start, trans, end = self._scores()
        mf = ops.cast(m, "float32")
        emit = ops.sum(ops.take_along_axis(e, tags[:, :, None], axis=2)[:, :, 0] * mf, axis=0)
        pairs = tags[:-1] * self.num_tags + tags[1:]
        moves = ops.sum(ops.take(ops.reshape(trans, (-1,)), pairs) * mf[1:], axis=0)
        length = ops.sum(ops.cast(m, "int32"), axis=0)
        last = ops.take_along_axis(tags, ops.maximum(length - 1, 0)[None], axis=0)[0]
        return self._finish(ops.take(start, tags[0]) + emit + moves + ops.take(end, last), m)

    @staticmethod
    def _finish(value, m):
        """Per-sequence results are 0 for empty rows (possible only under tracing, where masks are
        not checked): ``value`` (B, ...) with m (T, B, ...)."""
        return ops.where(m[0], value, ops.zeros_like(value))

    def _mask(self, emissions, mask):
        """(B, T) bool mask, all on when ``mask`` is None."""
        if mask is None:
            return ops.ones(ops.shape(emissions)[:2], "bool")
        return ops.cast(mask, "bool")

    def _prepare(self, emissions, tags, mask):
        """Validate and go time-major: -> e (T, B, K) float32, tags (T, B) int32 (0 at padding) or None,
        m (T, B) bool."""
        m = self._validate(emissions, tags, mask)
        if tags is not None:
            tags = ops.transpose(ops.where(m, ops.cast(tags, "int32"), 0), (1, 0))
        e = ops.transpose(ops.cast(emissions, "float32"), (1, 0, 2))
        return e, tags, ops.transpose(m, (1, 0))

    def _validate(self, emissions, tags, mask):
        """Check (B, T, K), (B, T) or None, (B, T) or None; build if needed -> mask (B, T) bool.

        Static shapes are always checked; values (right-padded mask with its first step on, tags in
        [0, K) at real steps) only when concrete, i.e. not under tracing."""
        if len(emissions.shape) != 3:
            raise ValueError(f"CRF: emissions must be (batch, time, num_tags), got {tuple(emissions.shape)}")
        if not self.built:
            self.build(tuple(emissions.shape))
        b, t, k = emissions.shape
        if k != self.num_tags:
            raise ValueError(f"CRF: emissions have {k} tags in their last dim, expected {self.num_tags}")
        if t == 0:
            raise ValueError("CRF: emissions have no time steps (T = 0)")
        for name, x in (("tags", tags), ("mask", mask)):
            if x is None:
                continue
            clash = any(u is not None and v is not None and u != v for u, v in zip(x.shape, (b, t)))
            if len(x.shape) != 2 or clash:
                raise ValueError(f"CRF: {name} must be (batch, time) = {(b, t)} like the emissions, "
                                 f"got {tuple(x.shape)}")
        m = self._mask(emissions, mask)
        mv = _values(m)
        if mv is None:
            return m
        empty = np.flatnonzero(~mv[:, 0])
        if empty.size:
            raise ValueError(f"CRF: mask[:, 0] must be on (every sequence needs a first step); "
                             f"row {empty[0]} is off")
        rows, cols = np.nonzero(mv[:, 1:] & ~mv[:, :-1])
        if rows.size:
            raise ValueError(f"CRF: mask must be right-padded (ones, then zeros); row {rows[0]} turns on "
                             f"again at step {cols[0] + 1}")
        tv = _values(tags) if tags is not None else None
        if tv is not None:
            bad = mv & ((tv < 0) | (tv >= self.num_tags))
            if bad.any():
                row, step = np.argwhere(bad)[0]
                raise ValueError(f"CRF: tags must be in [0, {self.num_tags}) at unmasked steps; row {row} "
                                 f"step {step} has {tv[row, step]}")
        return m
