"""The loop over time that the recurrent layers share (the CRF, FusedLSTM), one form per backend.

Written with ``keras.ops`` only. Eager TensorFlow runs the loop step by step in Python; inside ``model.fit``
/ ``predict`` / ``tf.function`` / ``jax.jit`` it is compiled. See docs/architecture.md for the packages.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import keras
from keras import ops

Tensor = Any   # a backend tensor, or anything keras.ops accepts (numpy arrays, Python numbers)


def scan(step: Callable, consts: tuple, init: Tensor | tuple, xs: tuple, ys_like: tuple = (), reverse: bool = False
         ) -> tuple:
    """Run ``step`` along the leading (time) axis of ``xs``.

    ``step(consts, carry, x) -> (carry, ys)``: ``consts`` a tuple of loop-invariant tensors, ``carry`` a
    tensor or tuple of tensors (fixed shapes), ``x`` a tuple with one slice ``xs[i][t]`` per tensor, ``ys``
    a tuple of per-step outputs shaped like ``ys_like``. Make ``step`` a module-level function, not a
    closure: an eager JAX ``ops.scan`` reuses its compiled loop only for the same function object.
    ``xs``: tuple of time-major tensors (T, ...), T >= 1. ``ys_like``: one example tensor per output, giving
    its per-step shape and dtype (only TensorFlow needs them). ``reverse`` runs t = T-1 .. 0.
    Returns ``(final carry, ys)``, ys a tuple of (T, ...) tensors, ``ys[i][t]`` the output of step t.

    On TensorFlow: ``ops.while_loop(maximum_iterations=T)`` (the gradient of ``ops.scan`` does not compile
    under XLA there), writing outputs with ``ops.scatter_update`` (``ops.slice_update`` has no TF
    gradient). Elsewhere: ``ops.scan`` (JAX cannot reverse-differentiate a while loop), with ``consts``
    carried through unchanged.
    """
    if keras.backend.backend() != "tensorflow":
        (_, carry), ys = ops.scan(_carrying(step), (consts, init), xs, reverse=reverse)
        return carry, ys
    n = ops.shape(xs[0])[0]
    bufs = tuple(ops.zeros((n, *ops.shape(y)), y.dtype) for y in ys_like)   # (T, ...) per output

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


def jax_on_gpu() -> bool:
    """Whether Keras runs on JAX and JAX computes on a GPU: where the layers' ``"auto"`` execution choices
    pick their loop-free forms (the CRF's parallel scan, FusedLSTM's cuDNN call)."""
    if keras.backend.backend() != "jax":
        return False
    from ner.backend.jax_kernels import on_gpu

    return on_gpu()
