"""Character CNN word representation (Ma & Hovy 2016): char embeddings → Conv → max over characters."""

import keras
from keras import ops

NEG = -1e9  # stands in for -inf before the max, so padded characters never win


@keras.saving.register_keras_serializable(package="ner")
class CharCNN(keras.layers.Layer):
    """Map character ids (B, T, C) int to word vectors (B, T, filters) float.

    Character id 0 is padding. Padded characters are zeroed before the convolution (so "same" padding
    sees zeros, as at the word edges) and excluded from the max; a word made only of padding gives 0.
    ``dropout`` applies to the character embeddings (as in Ma & Hovy 2016).
    """

    def __init__(self, num_chars: int, char_dim: int = 30, filters: int = 50, kernel: int = 3,
                 dropout: float = 0.0, activation: str = "tanh", **kwargs):
        super().__init__(**kwargs)
        self.num_chars, self.char_dim, self.filters, self.kernel = num_chars, char_dim, filters, kernel
        self.dropout, self.activation = dropout, activation
        self.embedding = keras.layers.Embedding(num_chars, char_dim, name="char_embedding")
        self.drop = keras.layers.Dropout(dropout)
        self.conv = keras.layers.Conv1D(filters, kernel, padding="same", activation=activation, name="char_conv")

    def build(self, input_shape):
        self.embedding.build(input_shape)
        self.conv.build((None, input_shape[-1], self.char_dim))

    def call(self, chars, training=None):
        chars = ops.convert_to_tensor(chars)
        batch, steps, length = ops.shape(chars)
        chars = ops.reshape(chars, (-1, length))                           # (B*T, C): one row per word
        present = ops.not_equal(chars, 0)
        x = self.embedding(chars)                                          # (B*T, C, E)
        x = self.drop(x, training=training)
        x = x * ops.expand_dims(ops.cast(present, x.dtype), -1)
        x = self.conv(x)                                                   # (B*T, C, F)
        best = ops.max(ops.where(ops.expand_dims(present, -1), x, ops.cast(NEG, x.dtype)), axis=1)
        best = ops.where(ops.any(present, axis=1, keepdims=True), best, ops.zeros_like(best))
        return ops.reshape(best, (batch, steps, self.filters))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:2], self.filters)

    def get_config(self):
        return {**super().get_config(), "num_chars": self.num_chars, "char_dim": self.char_dim,
                "filters": self.filters, "kernel": self.kernel, "dropout": self.dropout,
                "activation": self.activation}
