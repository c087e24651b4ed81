"""JAX's cuDNN LSTM (``jax.experimental.rnn``) for ``ner.layers.lstm.FusedLSTM`` on JAX: the whole
BiLSTM over a batch of right-padded sentences in one call, each sentence run over its own length (the
backward direction starts at each sentence's last word), no loop over time in the program.

On a GPU the call is cuDNN's; elsewhere it is ``jax.experimental.rnn.lstm_ref``, JAX's reference of the
same call (same weight layout and semantics), so that the weight packing is tested on the CPU.
Shapes: B batch, T steps, D input features, H units per direction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jax


def on_gpu() -> bool:
    """Whether JAX computes on a GPU."""
    import jax

    return jax.default_backend() == "gpu"


def lstm(x: jax.Array, lengths: jax.Array, kernel: jax.Array, recurrent_kernel: jax.Array,
         bias: jax.Array) -> jax.Array:
    """x (B, T, D) float32, lengths (B,) int -> (B, T, 2H), 0 after each row's length.

    Weights in Keras' LSTM layout per direction, gates (i, f, c, o), as ``FusedLSTM`` holds them: kernel
    (2, D, 4H), recurrent_kernel (2, H, 4H), bias (2, 4H); direction 1 reads backwards. cuDNN's flat
    layout is every direction's (4H, D) and (4H, H) matrices first, then its input and hidden biases (the
    hidden ones zero here: Keras has one bias); its gate order (i, f, g, o) is Keras'.
    """
    import jax.numpy as jnp
    from jax.experimental import rnn

    _, features, gates = kernel.shape
    units = gates // 4
    matrices = [m for d in range(2) for m in (kernel[d].T.ravel(), recurrent_kernel[d].T.ravel())]
    biases = [b for d in range(2) for b in (bias[d], jnp.zeros_like(bias[d]))]
    weights = jnp.concatenate(matrices + biases)
    zeros = jnp.zeros((2, x.shape[0], units), x.dtype)
    lengths = jnp.maximum(jnp.asarray(lengths, jnp.int32), 1)   # cuDNN needs >= 1 step per row
    if on_gpu():
        y, _, _ = rnn.lstm(x, zeros, zeros, weights, lengths, input_size=features, hidden_size=units,
                           num_layers=1, dropout=0.0, bidirectional=True)
    else:
        w_ih, w_hh, b_ih, b_hh = rnn.unpack_lstm_weights(weights, features, units, 1, True)
        y, _, _ = rnn.lstm_ref(x, zeros, zeros, w_ih, w_hh, b_ih, b_hh, lengths, features, units, 1, 0.0, True)
    return y
