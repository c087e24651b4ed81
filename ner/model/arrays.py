"""A Keras tagger's weights as named numpy arrays: what ``weights.npz`` of a bundle holds for the numpy
runtime (:class:`ner.inference.runtime.NumpyModel`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import keras
import numpy as np

from ner.layers.encoders import MaskedConv1D
from ner.layers.lstm import FusedLSTM

if TYPE_CHECKING:
    from ner.model.ensemble import EnsembleTagger
    from ner.model.network import SequenceTagger


def export_arrays(model: SequenceTagger | EnsembleTagger) -> dict[str, np.ndarray] | None:
    """The weights of a ``ner.model.network.SequenceTagger`` for :class:`NumpyModel`, or None when its encoder has
    a layer this module does not implement. Key "layout" holds the structure as JSON. An
    ``ner.model.ensemble.EnsembleTagger``: member i's arrays prefixed ``member{i}/``, the layout's "members" theirs,
    and the ensemble's CRF scores."""
    if hasattr(model, "members"):
        return _export_ensemble(model)
    arrays: dict[str, np.ndarray] = {}
    layout: dict = {"casing": model.casing_embedding is not None, "char_cnn": model.char_cnn is not None,
                    "crf": model.crf is not None, "encoder": [], "context": model.config["context"]}

    def put(name, value):
        arrays[name] = np.asarray(keras.ops.convert_to_numpy(value), dtype=np.float32)

    put("word_embedding", model.word_embedding.embeddings)
    if layout["casing"]:
        put("casing_embedding", model.casing_embedding.embeddings)
    if layout["char_cnn"]:
        cnn = model.char_cnn
        if cnn.activation != "tanh":
            return None
        put("char_embedding", cnn.embedding.embeddings)
        put("char_kernel", cnn.conv.kernel)
        put("char_bias", cnn.conv.bias)
    kinds = {keras.layers.LSTM: "lstm", keras.layers.GRU: "gru", keras.layers.SimpleRNN: "rnn"}
    for i, layer in enumerate(getattr(model.encoder, "stack", [None])):
        both = isinstance(layer, keras.layers.Bidirectional)
        if both and layer.merge_mode != "concat" or not both and getattr(layer, "go_backwards", False):
            return None
        directions = [layer.forward_layer, layer.backward_layer] if both else [layer]
        if isinstance(layer, MaskedConv1D):
            if (layer.activation is not keras.activations.relu or layer.padding != "same" or not layer.use_bias
                    or layer.strides != (1,) or layer.dilation_rate != (1,)):
                return None
            layout["encoder"].append({"kind": "conv"})
            put(f"encoder{i}_kernel", layer.kernel)
            put(f"encoder{i}_bias", layer.bias)
            continue
        if isinstance(layer, FusedLSTM):   # weights (2, ...): direction d is a Keras LSTM cell's weights
            for name, value in (("kernel", layer.kernel), ("recurrent", layer.recurrent_kernel), ("bias", layer.bias)):
                for d, per_direction in enumerate(keras.ops.convert_to_numpy(value)):
                    put(f"encoder{i}_{d}_{name}", per_direction)
            layout["encoder"].append({"kind": "lstm", "directions": 2})
            continue
        kind = kinds.get(type(directions[0]))
        if kind is None:
            return None
        for d, rnn in enumerate(directions):
            cell = rnn.cell
            if (cell.activation is not keras.activations.tanh or not cell.use_bias
                    or kind != "rnn" and cell.recurrent_activation is not keras.activations.sigmoid
                    or kind == "gru" and not cell.reset_after):
                return None
            put(f"encoder{i}_{d}_kernel", cell.kernel)
            put(f"encoder{i}_{d}_recurrent", cell.recurrent_kernel)
            put(f"encoder{i}_{d}_bias", cell.bias)
        layout["encoder"].append({"kind": kind, "directions": len(directions)})
    put("emission_kernel", model.emission.kernel)
    put("emission_bias", model.emission.bias)
    if layout["crf"]:
        for name, value in zip(("crf_start", "crf_transitions", "crf_end"), model.crf.transition_scores()):
            put(name, value)   # constraint penalties included
    arrays["layout"] = np.array(json.dumps(layout))
    return arrays


def _export_ensemble(model: EnsembleTagger) -> dict[str, np.ndarray] | None:
    parts = [export_arrays(member) for member in model.members]
    if any(part is None for part in parts):
        return None
    arrays = {f"member{i}/{name}": value for i, part in enumerate(parts) for name, value in part.items()
              if name != "layout"}
    layout = {"members": [json.loads(str(part["layout"])) for part in parts], "crf": model.crf is not None}
    if model.crf is not None:
        for name, value in zip(("crf_start", "crf_transitions", "crf_end"), model.crf.transition_scores()):
            arrays[name] = np.asarray(keras.ops.convert_to_numpy(value), dtype=np.float32)
    arrays["layout"] = np.array(json.dumps(layout))
    return arrays
