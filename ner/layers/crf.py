"""Linear-chain conditional random field (CRF) for Keras 3, in the spirit of pytorch-crf.

Shapes: B batch, T time steps (padded length), K tags. Emissions (B, T, K) float are unnormalised tag
scores; tags (B, T) int tag ids; a mask (B, T) (bool or int, ``None`` = all on) marks the real steps,
right-padded (ones, then zeros) with the first step on. A path y of length L scores
``start[y_0] + sum_t emissions[t, y_t] + sum_{t>0} transitions[y_{t-1}, y_t] + end[y_{L-1}]`` and
``log p(y) = score(y) - log Z``. All maths is float32 in log space (logsumexp); padding never changes a result.
Loops over time run through :func:`ner.layers.scan.scan`; the loop-free forms of log Z and Viterbi are in
:mod:`ner.layers.crf_parallel` (see docs/architecture.md).
"""

from __future__ import annotations

import warnings
from typing import Any

import keras
import numpy as np
from keras import ops
from numpy.typing import ArrayLike

from ner.layers import crf_parallel, legacy
from ner.layers.crf_inputs import as_mask, check_inputs, check_k, check_masks
from ner.layers.crf_parallel import argmax_first
from ner.layers.scan import Tensor, jax_on_gpu, scan

FORBIDDEN_SCORE = -1e4   # added to forbidden start / move / end scores (finite: -inf gives NaN gradients)
NBEST_PAD_SCORE = -1e30  # the score CRF.nbest gives missing paths when k exceeds the number of paths
CRF_SCANS = ("auto", "sequential", "parallel")   # CRF(scan=...): how log Z and Viterbi run over time


# ---- loop steps over time-major slices: e_t (B, K) emissions, m_t (B,) bool mask, first_t () bool t == 0 ----

def _alpha_step(consts, alpha, x):
    """Forward algorithm: alpha (B, K) at t-1 -> at t (kept at padding); consts = (start, transitions)."""
    start, trans = consts
    e_t, m_t, first_t = x
    nxt = ops.where(first_t, start + e_t, ops.logsumexp(alpha[:, :, None] + trans, axis=1) + e_t)  # (B, K)
    return ops.where((m_t | first_t)[:, None], nxt, alpha), ()


def _alphas_step(consts, alpha, x):
    """:func:`_alpha_step` that also outputs alpha_t (B, K)."""
    alpha, _ = _alpha_step(consts, alpha, x)
    return alpha, (alpha,)


def _beta_step(consts, beta, x):
    """Backward algorithm (reverse): beta (B, K) at t+1 -> at t; x = emissions and mask of step t+1."""
    (trans,) = consts
    e_n, m_n = x
    beta = ops.where(m_n[:, None], ops.logsumexp(trans + (e_n + beta)[:, None, :], axis=2), beta)   # (B, K)
    return beta, (beta,)


def _viterbi_step(consts, score, x):
    """Viterbi: best scores (B, K) at t-1 -> at t, and backpointers (B, K) int32 (identity at padding)."""
    start, trans = consts
    e_t, m_t, first_t = x
    cand = score[:, :, None] + trans                                                # (B, K from, K to)
    arg = argmax_first(cand, axis=1)                                                # (B, K)
    keep = ops.zeros_like(arg) + ops.arange(score.shape[1], dtype="int32")          # (B, K) identity
    back = ops.where(m_t[:, None] & ~first_t, arg, keep)
    best = ops.where(first_t, start + e_t, ops.max(cand, axis=1) + e_t)             # (B, K)
    return ops.where((m_t | first_t)[:, None], best, score), (back,)


def _nbest_step(consts, score, x):
    """k-best Viterbi: scores (B, K, n) of the n best partial paths ending in each tag at t-1 -> at t, and
    backpointers (B, K * n) int32 into the previous step's flat ``tag * n + rank`` (identity at padding)."""
    start, trans = consts
    e_t, m_t, first_t = x
    big_k, n = score.shape[1], score.shape[2]
    cand = ops.reshape(score[:, :, :, None] + trans[:, None, :], (-1, big_k * n, big_k))   # (B, K * n, K)
    best, back = ops.top_k(ops.transpose(cand, (0, 2, 1)), n)                              # (B, K, n) each
    init = ops.where(ops.arange(n) == 0, (start + e_t)[:, :, None], NBEST_PAD_SCORE)       # (B, K, n)
    best = ops.where(first_t, init, best + e_t[:, :, None])
    back = ops.reshape(ops.cast(back, "int32"), (-1, big_k * n))                           # (B, K * n)
    keep = ops.zeros_like(back) + ops.arange(big_k * n, dtype="int32")
    back = ops.where(m_t[:, None] & ~first_t, back, keep)
    return ops.where((m_t | first_t)[:, None, None], best, score), (back,)


def _backtrack_step(consts, index, x):
    """Reverse: index (B, ...) int32 into step t's backpointers (B, M) -> into step t-1's; outputs
    ``index // n`` with n = consts[0], the tag (n = 1 for Viterbi, k for k-best)."""
    (back_t,) = x
    return ops.take_along_axis(back_t, index, axis=1), (index // consts[0],)


@keras.saving.register_keras_serializable(package="ner")
class CRF(keras.layers.Layer):
    """Linear-chain CRF over K tags: weights ``transitions`` (K, K) [from, to], ``start`` (K,), ``end`` (K,).

    Args:
        num_tags: K; ``None`` takes it from the masks or, at build, from the emissions' last dim.
        allowed_start, allowed_transitions, allowed_end: optional boolean masks (K,), (K, K) [from, to],
            (K,) of the allowed first tags, moves and last tags (``None``: all allowed). Forbidden entries
            get ``FORBIDDEN_SCORE`` added in training and decoding alike, so decoded paths avoid them
            whenever some allowed path exists. Constants saved in the config, not weights.
        scan: how log Z and Viterbi run over time, decided when a function is traced: ``"sequential"``
            (a loop of T steps), ``"parallel"`` (:mod:`ner.layers.crf_parallel`; needs JAX and a static T,
            elsewhere the loop runs) or ``"auto"`` (parallel on JAX with a GPU, else sequential).
            ``forward_backward``, ``marginals`` and ``nbest`` always loop.

    ``call(emissions, mask=None)`` returns the emissions unchanged, without a Keras mask (Keras' loss masking
    would scale the per-sequence loss): compute the loss as ``-mean(crf.log_likelihood(...))``.
    """

    def __init__(self, num_tags: int | None = None, allowed_start: ArrayLike | None = None,
                 allowed_transitions: ArrayLike | None = None, allowed_end: ArrayLike | None = None,
                 scan: str = "auto", **kwargs: Any):
        old = {name: kwargs.pop(name) for name in legacy.CRF_0_1_0 if name in kwargs}
        if old:   # ner 0.1.0's arguments, also in the configs it saved
            if any(a is not None for a in (allowed_start, allowed_transitions, allowed_end)):
                raise ValueError(f"CRF: give the allowed_* masks or 0.1.0's {', '.join(old)}, not both")
            warnings.warn(f"CRF: {', '.join(old)} are ner 0.1.0's arguments; pass allowed_start, "
                          "allowed_transitions and allowed_end (ner.data.schemes.transition_constraints)",
                          DeprecationWarning, stacklevel=2)
            allowed_start, allowed_transitions, allowed_end = legacy.crf_masks(**old) or (None,) * 3
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        if scan not in CRF_SCANS:
            raise ValueError(f"CRF: scan must be one of {', '.join(CRF_SCANS)}, not {scan!r}")
        self.scan = scan
        given = dict(allowed_start=allowed_start, allowed_transitions=allowed_transitions, allowed_end=allowed_end)
        self.num_tags, masks = check_masks(num_tags, given)
        self.allowed_start, self.allowed_transitions, self.allowed_end = masks.values()
        # penalties added to start (K,), transitions (K, K), end (K,): 0 where allowed
        self._penalties = [None if a is None else np.where(a, 0.0, FORBIDDEN_SCORE).astype("float32")
                           for a in masks.values()]

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
        return None

    def get_config(self) -> dict:
        masks = (self.allowed_start, self.allowed_transitions, self.allowed_end)
        return {**super().get_config(), "num_tags": self.num_tags, "scan": self.scan,
                **{name: None if a is None else a.tolist()
                   for name, a in zip(("allowed_start", "allowed_transitions", "allowed_end"), masks)}}

    # ---- public API: batch-major in, batch-major out ----------------------------------------------------

    def score(self, emissions: Tensor, tags: Tensor, mask: Tensor | None = None) -> Tensor:
        """Unnormalised score of each row's path ``tags``: (B, T, K), (B, T) int, (B, T) -> (B,) float32.
        Tags at padding are ignored (any value)."""
        e, tags, m = self._prepare(emissions, tags, mask)
        start, trans, end = self.transition_scores()
        mf = ops.cast(m, "float32")                                                      # (T, B)
        emit = ops.sum(ops.take_along_axis(e, tags[:, :, None], axis=2)[:, :, 0] * mf, axis=0)   # (B,)
        moves = ops.take(ops.reshape(trans, (-1,)), tags[:-1] * self.num_tags + tags[1:])       # (T-1, B)
        last = ops.maximum(ops.sum(ops.cast(m, "int32"), axis=0) - 1, 0)                 # (B,)
        last_tag = ops.take_along_axis(tags, last[None], axis=0)[0]                      # (B,)
        total = ops.take(start, tags[0]) + emit + ops.sum(moves * mf[1:], axis=0) + ops.take(end, last_tag)
        return self._finish(total, m)

    def log_likelihood(self, emissions: Tensor, tags: Tensor, mask: Tensor | None = None) -> Tensor:
        """log p(tags | emissions) = score - log Z: (B, T, K), (B, T) int, (B, T) -> (B,) float32."""
        return self.score(emissions, tags, mask) - self.log_partition(emissions, mask)

    def log_partition(self, emissions: Tensor, mask: Tensor | None = None) -> Tensor:
        """log Z, the log-sum of the scores of all paths: (B, T, K), (B, T) -> (B,) float32."""
        e, _, m = self._prepare(emissions, None, mask)
        start, trans, end = self.transition_scores()
        if self._parallel(e):
            alpha = crf_parallel.forward_scores(start, trans, e, m)                      # (B, K)
        else:
            alpha, _ = scan(_alpha_step, (start, trans), ops.zeros_like(e[0]), (e, m, _first(e)))
        return self._finish(ops.logsumexp(alpha + end, axis=-1), m)

    def forward_backward(self, emissions: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """Forward-backward in log space: (B, T, K), (B, T) -> alpha (B, T, K), beta (B, T, K), log_z (B,).

        ``alpha[b, t, k]``: log-sum of the scores of the prefixes y_0..y_t with y_t = k (start, emission t
        included); ``beta[b, t, k]``: of the suffixes after t given y_t = k (end included). At every t,
        ``logsumexp(alpha + beta) = log_z``: at padding alpha repeats the last real step, beta is ``end``."""
        e, _, m = self._prepare(emissions, None, mask)
        start, trans, end = self.transition_scores()
        last, (alpha,) = scan(_alphas_step, (start, trans), ops.zeros_like(e[0]), (e, m, _first(e)), (e[0],))
        e_next = ops.concatenate([e[1:], ops.zeros_like(e[:1])], axis=0)                # (T, B, K)
        m_next = ops.concatenate([m[1:], ops.zeros_like(m[:1])], axis=0)                # (T, B)
        beta0 = ops.zeros_like(e[0]) + end                                               # (B, K)
        _, (beta,) = scan(_beta_step, (trans,), beta0, (e_next, m_next), (beta0,), reverse=True)
        log_z = self._finish(ops.logsumexp(last + end, axis=-1), m)
        return ops.transpose(alpha, (1, 0, 2)), ops.transpose(beta, (1, 0, 2)), log_z

    def marginals(self, emissions: Tensor, mask: Tensor | None = None) -> Tensor:
        """p(y_t = k | emissions): (B, T, K), (B, T) -> (B, T, K) float32, rows summing to 1 at real steps,
        zeros at padding; ``softmax_k(alpha + beta)``, i.e. ``exp(alpha + beta - log_z)`` normalised per step."""
        alpha, beta, _ = self.forward_backward(emissions, mask)
        m = as_mask(emissions, mask)
        return ops.where(m[:, :, None], ops.softmax(alpha + beta, axis=-1), 0.0)

    def decode(self, emissions: Tensor, mask: Tensor | None = None) -> Tensor:
        """Viterbi best path: (B, T, K), (B, T) -> (B, T) int32 tag ids, 0 at padding."""
        e, _, m = self._prepare(emissions, None, mask)
        start, trans, end = self.transition_scores()
        if self._parallel(e):
            path = crf_parallel.viterbi(start, trans, end, e, m)                         # (T, B)
        else:
            xs, like = (e, m, _first(e)), ops.zeros_like(e[0], "int32")
            score, (back,) = scan(_viterbi_step, (start, trans), ops.zeros_like(e[0]), xs, (like,))
            last = ops.cast(ops.argmax(score + end, axis=-1), "int32")[:, None]          # (B, 1)
            _, (path,) = scan(_backtrack_step, (1,), last, (back,), (last,), reverse=True)
            path = path[:, :, 0]                                                          # (T, B)
        return ops.transpose(ops.where(m, path, 0), (1, 0))

    def nbest(self, emissions: Tensor, mask: Tensor | None = None, k: int = 3) -> tuple[Tensor, Tensor]:
        """The k best paths by k-best Viterbi, best first: (B, T, K), (B, T) -> tags (B, k, T) int32 (0 at
        padding) and their scores (B, k) float32 (``score - log_z`` is the log-probability).

        Missing paths (K**L < k) have score ``NBEST_PAD_SCORE`` and all-zero tags; ties in any order."""
        k = check_k(k)
        e, _, m = self._prepare(emissions, None, mask)
        start, trans, end = self.transition_scores()
        score0 = ops.zeros_like(e[0])[:, :, None] + ops.zeros((k,))                      # (B, K, k)
        like = ops.zeros_like(ops.reshape(score0, (-1, self.num_tags * k)), "int32")     # (B, K * k)
        score, (back,) = scan(_nbest_step, (start, trans), score0, (e, m, _first(e)), (like,))
        scores, flat = ops.top_k(ops.reshape(score + end[:, None], (-1, self.num_tags * k)), k)   # (B, k)
        flat = ops.cast(flat, "int32")
        _, (paths,) = scan(_backtrack_step, (k,), flat, (back,), (flat,), reverse=True)  # (T, B, k)
        real = scores > NBEST_PAD_SCORE / 2                                              # (B, k)
        paths = ops.where(m[:, :, None] & real[None], paths, 0)
        scores = self._finish(ops.where(real, scores, NBEST_PAD_SCORE), m[:, :, None])
        return ops.transpose(paths, (1, 2, 0)), scores

    def transition_scores(self) -> tuple[Tensor, Tensor, Tensor]:
        """The scores in use, penalties of forbidden entries included: start (K,), transitions (K, K), end (K,)."""
        weights = (self.start, self.transitions, self.end)
        return tuple(ops.convert_to_tensor(w) if p is None else ops.convert_to_tensor(w) + p
                     for w, p in zip(weights, self._penalties))

    # ---- internals: time-major e (T, B, K), m (T, B) bool ----------------------------------------------

    def _parallel(self, e) -> bool:
        """Whether log Z and Viterbi take the loop-free forms for e (T, B, K) (read while tracing)."""
        if keras.backend.backend() != "jax" or not isinstance(e.shape[0], int):   # T unknown: loop
            return False
        return self.scan == "parallel" or (self.scan == "auto" and jax_on_gpu())

    @staticmethod
    def _finish(value, m):
        """value (B, ...) with 0 for empty rows (only possible under tracing); m (T, B, ...)."""
        return ops.where(m[0], value, ops.zeros_like(value))

    def _prepare(self, emissions, tags, mask):
        """Validate, go time-major: e (T, B, K) float32, tags (T, B) int32 (0 at padding) or None, m (T, B)."""
        m = self._validate(emissions, tags, mask)
        if tags is not None:
            tags = ops.transpose(ops.where(m, ops.cast(tags, "int32"), 0), (1, 0))
        return ops.transpose(ops.cast(emissions, "float32"), (1, 0, 2)), tags, ops.transpose(m, (1, 0))

    def _validate(self, emissions, tags, mask):
        """Build if needed, then :func:`check_inputs` -> mask (B, T) bool."""
        if len(emissions.shape) == 3 and not self.built:
            self.build(tuple(emissions.shape))
        return check_inputs(emissions, tags, mask, self.num_tags)


def _first(e):
    """(T,) bool, True at t = 0, for e (T, B, K)."""
    return ops.arange(ops.shape(e)[0]) == 0

