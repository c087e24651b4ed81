"""Character CNN word representation (Ma & Hovy 2016): char embeddings → Conv → max over each word's characters."""

from typing import Any

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="ner")
class CharCNN(keras.layers.Layer):
    """Map packed character ids (B, L) int and the word mask (B, T) bool to word vectors (B, T, filters) float.

    Row b of ``chars`` holds the characters of sentence b's words in order, consecutive words separated by
    at least ``ner.data.arrays.char_gap(kernel)`` zeros, then zero padding (see ``ner.data.arrays``).
    Character id 0 is padding: zeroed before the convolution, so a word sees zeros past its edges exactly as
    if it were padded on its own, and excluded from the max. Word t of a row is its t-th run of non-zero ids;
    words where ``word_mask`` is False give 0. ``dropout`` applies to the character embeddings (as in Ma &
    Hovy 2016).
    """

    def __init__(self, num_chars: int, char_dim: int = 30, filters: int = 50, kernel: int = 3,
                 dropout: float = 0.0, activation: str = "tanh", **kwargs: Any):
        super().__init__(**kwargs)
        self.num_chars, self.char_dim, self.filters, self.kernel = num_chars, char_dim, filters, kernel
        self.dropout, self.activation = dropout, activation
        self.embedding = keras.layers.Embedding(num_chars, char_dim, name="char_embedding")
        self.drop = keras.layers.Dropout(dropout)
        self.conv = keras.layers.Conv1D(filters, kernel, padding="same", activation=activation, name="char_conv")

    def build(self, chars_shape, word_mask_shape=None):
        self.embedding.build(chars_shape)
        self.conv.build((None, chars_shape[-1], self.char_dim))

    def call(self, chars, word_mask, training=None):
        chars = ops.convert_to_tensor(chars)
        word_mask = ops.convert_to_tensor(word_mask)
        batch, length = ops.shape(chars)
        steps = ops.shape(word_mask)[1]
        present = ops.not_equal(chars, 0)                                  # (B, L)
        x = self.embedding(chars)                                          # (B, L, E)
        x = self.drop(x, training=training)
        x = x * ops.expand_dims(ops.cast(present, x.dtype), -1)
        x = self.conv(x)                                                   # (B, L, F)
        # Word index of each character: how many words started at or before it, minus 1.
        before = ops.pad(present[:, :-1], ((0, 0), (1, 0)), constant_values=False)
        starts = ops.logical_and(present, ops.logical_not(before))
        word = ops.cumsum(ops.cast(starts, "int32"), axis=1) - 1
        rows = ops.expand_dims(ops.arange(batch, dtype="int32") * steps, -1)
        dump = batch * steps                                               # padding characters go here
        segment = ops.reshape(ops.where(present, rows + word, dump), (-1,))
        best = ops.segment_max(ops.reshape(x, (-1, self.filters)), segment, num_segments=dump + 1)
        best = ops.reshape(best[:dump], (batch, steps, self.filters))
        return ops.where(ops.expand_dims(word_mask, -1), best, ops.zeros_like(best))

    def compute_output_shape(self, chars_shape, word_mask_shape):
        return (*word_mask_shape, self.filters)

    def get_config(self):
        return {**super().get_config(), "num_chars": self.num_chars, "char_dim": self.char_dim,
                "filters": self.filters, "kernel": self.kernel, "dropout": self.dropout,
                "activation": self.activation}
