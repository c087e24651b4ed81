"""Encoder registry: context encoders chosen by name (``rnn``, ``lstm``, ``bilstm``, ``bilstm-cnn``, ...).

An encoder maps word representations (B, T, D) plus a boolean mask (B, T) to features (B, T, H). Adding one
is a registered builder function::

    @register_encoder("bilstm", help="bidirectional LSTM")
    def bilstm(hidden: int, layers: int, dropout: float) -> keras.layers.Layer:
        return SequenceStack([bidirectional(keras.layers.LSTM(hidden, return_sequences=True))
                              for _ in range(layers)], dropout)

The returned layer is called as ``layer(x, mask=mask, training=training)``. ``char_cnn=True`` makes the
tagger add a character CNN by default (the model config can still turn it on or off).
"""

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras
from keras import ops

from ner.errors import NerError
from ner.layers.lstm import FusedLSTM

Builder = Callable[[int, int, float], keras.layers.Layer]


@dataclass(frozen=True)
class EncoderSpec:
    """A registered encoder: ``build(hidden, layers, dropout)`` returns the layer."""

    name: str
    build: Builder
    char_cnn: bool
    help: str


_REGISTRY: dict[str, EncoderSpec] = {}


def register_encoder(name: str, char_cnn: bool = False, help: str = "") -> Callable[[Builder], Builder]:
    """Decorator registering ``build(hidden, layers, dropout) -> Layer`` under ``name``."""
    def decorate(build: Builder) -> Builder:
        if name in _REGISTRY:
            raise ValueError(f"encoder {name!r} is already registered")
        _REGISTRY[name] = EncoderSpec(name, build, char_cnn, help)
        return build
    return decorate


def list_encoders() -> dict[str, str]:
    """Registered encoder names (in registration order) mapped to their one-line descriptions."""
    return {name: spec.help for name, spec in _REGISTRY.items()}


def get_encoder(name: str) -> EncoderSpec:
    """The registered encoder ``name``; an unknown name raises NerError listing the known ones."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise NerError(f"unknown encoder {name!r} (known: {', '.join(_REGISTRY)})") from None


@keras.saving.register_keras_serializable(package="ner")
class SequenceStack(keras.layers.Layer):
    """Apply sequence layers in turn, with dropout between consecutive layers.

    (B, T, D) + mask (B, T) → (B, T, H). Layers whose ``call`` takes ``mask`` get it (RNNs, MaskedConv1D);
    others (e.g. Dense) must be position-wise. The mask passes through.
    """

    def __init__(self, layers: list[keras.layers.Layer], dropout: float = 0.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.stack = list(layers)
        self.dropout = dropout
        self.drops = [keras.layers.Dropout(dropout) for _ in self.stack[1:]]

    def call(self, x, mask=None, training=None):
        for i, layer in enumerate(self.stack):
            if i:
                x = self.drops[i - 1](x, training=training)
            x = layer(x, mask=mask, training=training) if _takes_mask(layer) else layer(x, training=training)
        return x

    def compute_mask(self, inputs, mask=None):
        return mask

    def get_config(self):
        return {**super().get_config(), "dropout": self.dropout,
                "layers": [keras.saving.serialize_keras_object(layer) for layer in self.stack]}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        layers = [keras.saving.deserialize_keras_object(layer) for layer in config.pop("layers")]
        return cls(layers, **config)


@keras.saving.register_keras_serializable(package="ner")
class MaskedConv1D(keras.layers.Conv1D):
    """Conv1D over time that zeroes padded positions first, so padding never leaks into real positions."""

    def call(self, inputs, mask=None):
        if mask is not None:
            inputs = inputs * ops.expand_dims(ops.cast(mask, inputs.dtype), -1)
        return super().call(inputs)

    def compute_mask(self, inputs, mask=None):
        return mask


def _takes_mask(layer: keras.layers.Layer) -> bool:
    return "mask" in inspect.signature(layer.call).parameters


def bidirectional(layer: keras.layers.Layer) -> keras.layers.Layer:
    """Run ``layer`` both ways and concatenate: H = 2 × units."""
    return keras.layers.Bidirectional(layer, merge_mode="concat")


def _rnn_stack(cell: type, hidden: int, layers: int, dropout: float, both_ways: bool) -> SequenceStack:
    def one():
        rnn = cell(hidden, return_sequences=True)
        return bidirectional(rnn) if both_ways else rnn
    return SequenceStack([one() for _ in range(layers)], dropout)


def _conv(filters: int) -> MaskedConv1D:
    return MaskedConv1D(filters, 3, padding="same", activation="relu")


@register_encoder("rnn", help="unidirectional simple RNN (Elman), H = hidden")
def rnn(hidden: int, layers: int, dropout: float) -> keras.layers.Layer:
    return _rnn_stack(keras.layers.SimpleRNN, hidden, layers, dropout, both_ways=False)


@register_encoder("birnn", help="bidirectional simple RNN, H = 2 x hidden")
def birnn(hidden: int, layers: int, dropout: float) -> keras.layers.Layer:
    return _rnn_stack(keras.layers.SimpleRNN, hidden, layers, dropout, both_ways=True)


@register_encoder("lstm", help="unidirectional LSTM, H = hidden")
def lstm(hidden: int, layers: int, dropout: float) -> keras.layers.Layer:
    return _rnn_stack(keras.layers.LSTM, hidden, layers, dropout, both_ways=False)


@register_encoder("bilstm", help="bidirectional LSTM (Huang et al. 2015), H = 2 x hidden")
def bilstm(hidden: int, layers: int, dropout: float) -> keras.layers.Layer:
    return _rnn_stack(keras.layers.LSTM, hidden, layers, dropout, both_ways=True)


register_encoder("bilstm-cnn", char_cnn=True,
                 help="BiLSTM over word embeddings + character-CNN word features (Ma & Hovy 2016)")(bilstm)


@register_encoder("bilstm-cnn-fused", char_cnn=True,
                  help="bilstm-cnn with both BiLSTM directions stepped in one loop (FusedLSTM): same model, "
                       "half the loop steps, for GPUs (--no-char-cnn: the same for bilstm)")
def bilstm_fused(hidden: int, layers: int, dropout: float) -> keras.layers.Layer:
    return SequenceStack([FusedLSTM(hidden) for _ in range(layers)], dropout)


@register_encoder("bilstm-conv",
                  help="BiLSTM, then a word-level Conv1D (kernel 3, relu, 2 x hidden filters) over its outputs")
def bilstm_conv(hidden: int, layers: int, dropout: float) -> keras.layers.Layer:
    lstms = _rnn_stack(keras.layers.LSTM, hidden, layers, dropout, both_ways=True).stack
    return SequenceStack([*lstms, _conv(2 * hidden)], dropout)


@register_encoder("gru", help="unidirectional GRU, H = hidden")
def gru(hidden: int, layers: int, dropout: float) -> keras.layers.Layer:
    return _rnn_stack(keras.layers.GRU, hidden, layers, dropout, both_ways=False)


@register_encoder("bigru", help="bidirectional GRU, H = 2 x hidden")
def bigru(hidden: int, layers: int, dropout: float) -> keras.layers.Layer:
    return _rnn_stack(keras.layers.GRU, hidden, layers, dropout, both_ways=True)


@register_encoder("cnn", help="stacked word-level Conv1D (kernel 3, relu), 2 x hidden filters per layer")
def cnn(hidden: int, layers: int, dropout: float) -> keras.layers.Layer:
    return SequenceStack([_conv(2 * hidden) for _ in range(layers)], dropout)
