"""TensorFlow's fused optimizer kernels, for the place where graph-mode TensorFlow is slow op by op.

Imported only when Keras runs on TensorFlow, by ``ner.model.optimizers``, whose classes fall back to Keras' own
update (``keras.ops``) on the other backends and under XLA; the tests compare both.
"""

from __future__ import annotations

import tensorflow as tf
from tensorflow.python.framework import ops as tf_ops
from tensorflow.python.ops import control_flow_util


def in_xla() -> bool:
    """True while tracing for XLA (``jit_compile=True``), which fuses Keras' update by itself."""
    return control_flow_util.GraphOrParentsInXlaContext(tf_ops.get_default_graph())


def apply_adam(variable: tf.Variable, m: tf.Variable, v: tf.Variable, gradient: tf.Tensor | tf.IndexedSlices,
               lr: float | tf.Tensor, beta_1: float, beta_2: float, epsilon: float, step: int | tf.Tensor) -> None:
    """Keras' Adam update of ``variable`` in one pass (``ResourceApplyAdam``: the same formula, epsilon
    outside the square root); ``step`` counts from 1. ``variable``, ``m``, ``v`` are ``tf.Variable``; a
    sparse gradient (``tf.IndexedSlices``) is densified first (repeated ids summed), so its square is
    the square of the summed gradient.
    """
    dtype = variable.dtype
    beta_1, beta_2 = tf.cast(beta_1, dtype), tf.cast(beta_2, dtype)
    step = tf.cast(step, dtype)
    tf.raw_ops.ResourceApplyAdam(
        var=variable.handle, m=m.handle, v=v.handle, beta1_power=tf.pow(beta_1, step),
        beta2_power=tf.pow(beta_2, step), lr=tf.cast(lr, dtype), beta1=beta_1, beta2=beta_2,
        epsilon=tf.cast(epsilon, dtype), grad=tf.convert_to_tensor(gradient, dtype), use_locking=False)


def apply_momentum(variable: tf.Variable, momentum_buffer: tf.Variable, gradient: tf.Tensor | tf.IndexedSlices,
                   lr: float | tf.Tensor, momentum: float, nesterov: bool) -> None:
    """Keras' SGD-with-momentum update in one pass (``ResourceApplyKerasMomentum``: buffer = momentum *
    buffer - lr * gradient; variable += buffer, or with ``nesterov`` += momentum * buffer - lr * gradient)."""
    dtype = variable.dtype
    tf.raw_ops.ResourceApplyKerasMomentum(
        var=variable.handle, accum=momentum_buffer.handle, lr=tf.cast(lr, dtype),
        grad=tf.convert_to_tensor(gradient, dtype), momentum=tf.cast(momentum, dtype), use_locking=False,
        use_nesterov=bool(nesterov))
