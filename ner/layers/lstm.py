"""BiLSTM with both directions stepped in one loop over time: what ``Bidirectional(LSTM)`` computes, in T
loop iterations instead of 2T (for accelerators, where each iteration costs kernel launches).

Shapes: B batch, T time steps, D input features, H units per direction.
"""

from typing import Any

import keras
from keras import ops

from ner.layers.scan import jax_on_gpu, scan

LSTM_PATHS = ("auto", "loop", "cudnn")
"""``FusedLSTM(implementation=...)`` choices: how the BiLSTM runs (see :class:`FusedLSTM`)."""


def _cell(z, c):
    """LSTM cell from pre-activations z (B, 4H), gates (i, f, c, o) as in Keras, and cell state c (B, H)
    -> (h, c), each (B, H)."""
    i, f, g, o = ops.split(z, 4, axis=-1)
    c = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(g)
    return ops.sigmoid(o) * ops.tanh(c), c


def _both_step(consts, carry, x):
    """Both directions: carry (hf, cf, hb, cb) (B, H); x = (x_t, x_{T-1-t} (B, D), live_{T-1-t} (B, 1) bool).

    The backward LSTM walks the padded rows from the end and keeps its zero state until a row's last real
    word, so it starts at each sentence's end exactly as if the row were unpadded.
    """
    kf, uf, bf, kb, ub, bb = consts
    hf, cf, hb, cb = carry
    x_f, x_b, live = x
    hf, cf = _cell(ops.matmul(x_f, kf) + ops.matmul(hf, uf) + bf, cf)
    h, c = _cell(ops.matmul(x_b, kb) + ops.matmul(hb, ub) + bb, cb)
    hb, cb = ops.where(live, h, hb), ops.where(live, c, cb)
    return (hf, cf, hb, cb), (hf, hb)


@keras.saving.register_keras_serializable(package="ner")
class FusedLSTM(keras.layers.Layer):
    """BiLSTM over x (B, T, D) with a right-padded mask (B, T) -> (B, T, 2H) float, 0 at padding.

    Computes what ``keras.layers.Bidirectional(keras.layers.LSTM(units, return_sequences=True))`` computes
    at the real positions, with the same gates (i, f, c, o), activations and initial weights (for the same
    random seed), but steps both directions in one loop (``ner.layers.scan.scan``): T iterations instead of
    2T. Weights: ``kernel`` (2, D, 4H), ``recurrent_kernel`` (2, H, 4H), ``bias`` (2, 4H); direction 0
    reads forwards, 1 backwards. Meant for GPUs (speed figures: bench/README.md).

    ``implementation``, decided when a function is traced: ``"loop"`` (the ``keras.ops`` loop over time, any
    backend), ``"cudnn"`` (on JAX, one call of JAX's cuDNN LSTM over the whole batch with each row's length,
    ``ner.backend.jax_kernels.lstm``; without a GPU JAX's reference of that call; other backends loop) or
    ``"auto"`` (cudnn on JAX with a GPU, else the loop). Same results up to float rounding (cuDNN may use
    TF32 products on a GPU, as XLA's float32 products there do).
    """

    def __init__(self, units: int, implementation: str = "auto", **kwargs: Any):
        super().__init__(**kwargs)
        if implementation not in LSTM_PATHS:
            raise ValueError(f"FusedLSTM: implementation must be one of {', '.join(LSTM_PATHS)}, "
                             f"not {implementation!r}")
        self.units, self.implementation = units, implementation
        self.supports_masking = True
        # The initial weights are those of the Keras layer this one replaces, under the same random seed:
        # make that layer's cells here (drawing their initializers' seeds as it would) and keep the seeds.
        both = keras.layers.Bidirectional(keras.layers.LSTM(units, return_sequences=True))
        self._seeds = [(c.kernel_initializer.seed, c.recurrent_initializer.seed)
                       for c in (both.forward_layer.cell, both.backward_layer.cell)]

    def build(self, input_shape):
        h = self.units
        self.kernel = self.add_weight(name="kernel", shape=(2, input_shape[-1], 4 * h),
                                      initializer=self._per_direction(keras.initializers.GlorotUniform, 0))
        self.recurrent_kernel = self.add_weight(name="recurrent_kernel", shape=(2, h, 4 * h),
                                                initializer=self._per_direction(keras.initializers.Orthogonal, 1))
        self.bias = self.add_weight(name="bias", shape=(2, 4 * h), initializer=_forget_bias_one)

    def _per_direction(self, initializer: type, which: int):
        """Initializer of a (2, ...) weight: direction d's matrix from ``initializer(seed)`` with the seed of
        the d-th Keras cell's kernel (``which`` = 0) or recurrent kernel (1)."""
        def init(shape, dtype=None):
            return ops.stack([initializer(seed=seeds[which])(shape[1:], dtype) for seeds in self._seeds])
        return init

    def call(self, x, mask=None):
        x = ops.convert_to_tensor(x)
        mask = ops.ones(ops.shape(x)[:2], dtype="bool") if mask is None else ops.cast(mask, "bool")
        weights = [ops.convert_to_tensor(w) for w in (self.kernel, self.recurrent_kernel, self.bias)]
        if self._cudnn():
            from ner.backend import jax_kernels

            out = jax_kernels.lstm(x, ops.sum(ops.cast(mask, "int32"), axis=1), *weights)
        else:
            xt = ops.transpose(x, (1, 0, 2))                                        # (T, B, D)
            zeros = ops.zeros((ops.shape(x)[0], self.units), dtype=x.dtype)
            live = ops.flip(ops.expand_dims(ops.transpose(mask), -1), axis=0)      # (T, B, 1), reversed
            consts = tuple(w[d] for d in range(2) for w in weights)
            _, (fwd, bwd) = scan(_both_step, consts, (zeros,) * 4, (xt, ops.flip(xt, axis=0), live),
                                 ys_like=(zeros, zeros))
            out = ops.transpose(ops.concatenate([fwd, ops.flip(bwd, axis=0)], axis=-1), (1, 0, 2))
        return out * ops.expand_dims(ops.cast(mask, out.dtype), -1)

    def _cudnn(self) -> bool:
        """Whether this call runs as one cuDNN call (read while tracing)."""
        if keras.backend.backend() != "jax":
            return False
        return self.implementation == "cudnn" or (self.implementation == "auto" and jax_on_gpu())

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 2 * self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "implementation": self.implementation}


def _forget_bias_one(shape, dtype=None):
    """Bias (2, 4H): 1 for the forget gate, 0 elsewhere (Keras' ``unit_forget_bias``)."""
    h = shape[1] // 4
    one = ops.concatenate([ops.zeros((1, h), dtype), ops.ones((1, h), dtype), ops.zeros((1, 2 * h), dtype)], axis=1)
    return ops.tile(one, (shape[0], 1))
