"""What the rest of a document says about a token: encoder states pooled across the sentences of a batch.

Both designs are parameter-free poolings appended to each token's state, so the emission layer learns how much
to trust them; sentences with the same ``doc`` id in a batch form one document (``ner.data.batching`` keeps a
document's sentences in one batch). ``CONTEXTS`` names the choices; "sentence" is no pooling.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from ner.layers.scan import Tensor

CONTEXTS = ("sentence", "document", "document-mean")
"""sentence: no document context. document: each token also sees the mean state of the other occurrences of its
word (lowercased, ``keys``) in its document, and whether there are any. document-mean: each token also sees the
mean state of every token of its document."""


@keras.saving.register_keras_serializable(package="ner")
class DocumentContext(keras.layers.Layer):
    """Appends a document pooling to encoder states: (B, T, D) -> (B, T, 2D + 1) ("document") or (B, T, 2D)
    ("document-mean"). Inputs: states (B, T, D), mask (B, T) bool, doc (B,) int in [0, B) (sentences with equal
    ids share a document), keys (B, T) int in [0, B * T] (equal for the occurrences of one word in one document,
    0 at padding): ``ner.data.arrays.pad_inputs`` numbers both per batch."""

    def __init__(self, mode: str = "document", **kwargs: Any):
        super().__init__(**kwargs)
        if mode not in CONTEXTS[1:]:
            raise ValueError(f"DocumentContext: unknown mode {mode!r} (choose from {', '.join(CONTEXTS[1:])})")
        self.mode = mode
        self.supports_masking = True   # the states' mask holds for the output: same tokens

    def call(self, states: Tensor, mask: Tensor, doc: Tensor, keys: Tensor) -> Tensor:
        batch, steps, dim = ops.shape(states)[0], ops.shape(states)[1], states.shape[-1]
        real = ops.cast(mask, states.dtype)[..., None]                                     # (B, T, 1)
        if self.mode == "document-mean":
            sums = ops.sum(states * real, axis=1)                                           # (B, D)
            counts = ops.sum(real, axis=1)                                                  # (B, 1)
            doc_sums = ops.take(ops.segment_sum(sums, doc, num_segments=batch), doc, axis=0)       # (B, D)
            doc_counts = ops.take(ops.segment_sum(counts, doc, num_segments=batch), doc, axis=0)   # (B, 1)
            mean = doc_sums / ops.maximum(doc_counts, 1.0)                                  # (B, D)
            return ops.concatenate([states, ops.broadcast_to(mean[:, None, :], ops.shape(states))], axis=-1)
        groups = None if batch is None or steps is None else batch * steps + 1   # keys < B * T + 1
        kept = states * real                                                                 # (B, T, D)
        flat_keys = ops.reshape(keys, (-1,))                                                 # (N,), N = B * T
        sums = ops.segment_sum(ops.reshape(kept, (-1, dim)), flat_keys, num_segments=groups)     # (groups, D)
        counts = ops.segment_sum(ops.reshape(real, (-1, 1)), flat_keys, num_segments=groups)     # (groups, 1)
        others = (ops.take(counts, keys, axis=0) - real) * real                              # (B, T, 1)
        pooled = (ops.take(sums, keys, axis=0) - kept) / ops.maximum(others, 1.0)            # (B, T, D)
        seen = ops.cast(ops.greater(others, 0.0), states.dtype)                              # (B, T, 1)
        return ops.concatenate([states, pooled, seen], axis=-1)

    def compute_output_shape(self, states_shape, *args) -> tuple:
        extra = states_shape[-1] if self.mode == "document-mean" else states_shape[-1] + 1
        return (*states_shape[:-1], states_shape[-1] + extra)

    def get_config(self) -> dict:
        return {**super().get_config(), "mode": self.mode}
