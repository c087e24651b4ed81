"""A word embedding whose chosen rows (pretrained vectors) training leaves untouched."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from ner.layers.scan import Tensor


@keras.saving.register_keras_serializable(package="ner")
class FrozenRowsEmbedding(keras.layers.Embedding):
    """``keras.layers.Embedding`` plus a non-trainable weight ``frozen`` (V,) float32: rows where it is 1 pass
    no gradient, so no optimizer moves them (Adam and SGD update a row by its gradient history, all zeros here).
    Set the rows with ``freeze_rows(ids)``; the weight is saved with the layer, so training resumed from a saved
    model keeps them frozen."""

    def build(self, input_shape: Any = None) -> None:
        if self.built:
            return
        super().build(input_shape)
        self.frozen = self.add_weight(shape=(self.input_dim,), initializer="zeros", trainable=False, name="frozen")

    def freeze_rows(self, ids: Any) -> None:
        """Freeze the rows ``ids`` (int sequence); every other row is trainable."""
        mask = np.zeros(self.input_dim, dtype=np.float32)
        mask[np.asarray(ids, dtype=np.int64)] = 1.0
        self.frozen.assign(mask)

    def save_own_variables(self, store: Any) -> None:
        super().save_own_variables(store)   # the embeddings (Keras saves only those of an Embedding)
        if self.built:
            store["frozen"] = self.frozen

    def load_own_variables(self, store: Any) -> None:
        super().load_own_variables(store)
        if self.built:
            self.frozen.assign(store["frozen"])

    def call(self, inputs: Tensor) -> Tensor:
        """Word ids (B, T) int -> vectors (B, T, output_dim)."""
        vectors = super().call(inputs)                                        # (B, T, D)
        ids = inputs if inputs.dtype in ("int32", "int64") else ops.cast(inputs, "int32")
        frozen = ops.expand_dims(ops.take(self.frozen, ids, axis=0) > 0, -1)   # (B, T, 1) bool
        return ops.where(frozen, ops.stop_gradient(vectors), vectors)         # (B, T, D)
