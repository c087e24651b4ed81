"""The tagger model: word [+ casing] [+ char CNN] embeddings → encoder → emissions → softmax or CRF head.

``build_tagger(config, vocabs)`` makes a :class:`SequenceTagger` from a config dict (keys in ``DEFAULTS``).
Inputs are the dicts of :class:`ner.data.batching.TaggingBatches`: ``words`` (B, T), ``chars`` (B, L)
(packed, see ``ner.data.arrays``), ``casing`` (B, T), int; word id 0 is padding and masks that position everywhere.
A model with document context (setting ``context``, ``ner.layers.document_context``) also takes ``doc`` (B,) and
``keys`` (B, T).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from typing import Any

import keras
from keras import ops

from ner.data.arrays import char_gap
from ner.data.embeddings import PretrainedVectors, load_vectors
from ner.data.schemes import transition_constraints
from ner.data.vocab import NUM_CASINGS, Vocabularies
from ner.errors import NerError
from ner.layers.char_cnn import CharCNN
from ner.layers.crf import CRF, CRF_SCANS
from ner.layers.document_context import CONTEXTS, DocumentContext
from ner.layers.encoders import get_encoder
from ner.layers.lstm import LSTM_PATHS, FusedLSTM
from ner.layers.scan import Tensor
from ner.layers.word_embedding import FrozenRowsEmbedding
from ner.model import HEADS

log = logging.getLogger("ner")

DEFAULTS = dict(encoder="bilstm", head="crf", word_dim=100, hidden=200, layers=1, dropout=0.5,
                char_cnn=None, char_dim=30, char_filters=50, char_kernel=3, casing_dim=10,
                constraints=True, scheme="bioes", crf_scan="auto", lstm_path="auto", freeze_embeddings=False,
                variational_dropout=False, context="sentence")
# how layers run, not what they compute (``CRF(scan=...)``, ``FusedLSTM(implementation=...)``): "auto" decides
# when the model is traced (the loop-free forms on JAX with a GPU)
EXECUTION = {"crf_scan": CRF_SCANS, "lstm_path": LSTM_PATHS}


def resolve_config(config: dict | None) -> dict:
    """``DEFAULTS`` updated with ``config``; unknown keys or bad values raise NerError."""
    config = dict(config or {})
    unknown = sorted(set(config) - set(DEFAULTS))
    if unknown:
        raise NerError(f"unknown model setting(s) {', '.join(unknown)} (known: {', '.join(DEFAULTS)})")
    cfg = {**DEFAULTS, **config}
    get_encoder(cfg["encoder"])
    if cfg["head"] not in HEADS:
        raise NerError(f"model setting head: unknown head {cfg['head']!r} (choose from {', '.join(HEADS)})")
    for name in ("word_dim", "hidden", "layers", "char_dim", "char_filters", "char_kernel"):
        if not isinstance(cfg[name], int) or cfg[name] < 1:
            raise NerError(f"model setting {name}: must be a positive integer, not {cfg[name]!r}")
    if not isinstance(cfg["casing_dim"], int) or cfg["casing_dim"] < 0:
        raise NerError(f"model setting casing_dim: must be an integer >= 0, not {cfg['casing_dim']!r}")
    if not 0 <= cfg["dropout"] < 1:
        raise NerError(f"model setting dropout: must be in [0, 1), not {cfg['dropout']!r}")
    for name in ("freeze_embeddings", "variational_dropout"):
        if not isinstance(cfg[name], bool):
            raise NerError(f"model setting {name}: must be true or false, not {cfg[name]!r}")
    if cfg["context"] not in CONTEXTS:
        raise NerError(f"model setting context: unknown choice {cfg['context']!r} (choose from {', '.join(CONTEXTS)})")
    if cfg["char_cnn"] not in (None, True, False):
        raise NerError(f"model setting char_cnn: must be true, false or null, not {cfg['char_cnn']!r}")
    for name, choices in EXECUTION.items():
        if cfg[name] not in choices:
            raise NerError(f"model setting {name}: unknown choice {cfg[name]!r} (choose from {', '.join(choices)})")
    return cfg


@contextlib.contextmanager
def object_sharing_paused() -> Iterator[None]:
    """Build layers with Keras' object sharing paused. While a model loads, Keras records every object it
    serializes by ``id()`` to restore shared ones; ``Bidirectional`` serializes its wrapped layer to copy it, and
    a layer created after another was freed can get the same ``id()``: the copy then comes back as the other
    layer. Constructors called from ``from_config`` run inside this (models built from code never share)."""
    try:
        from keras.src.backend.common import global_state  # Keras' own state; no public switch exists
    except ImportError:
        yield
        return
    keys = ("shared_objects/id_to_obj_map", "shared_objects/id_to_config_map")
    saved = [global_state.get_global_attribute(key) for key in keys]
    for key in keys:
        global_state.set_global_attribute(key, None)
    try:
        yield
    finally:
        for key, value in zip(keys, saved):
            global_state.set_global_attribute(key, value)


class TaggerOutputs:
    """What a tagger model computes from its emissions: best tags, probabilities, ``predict_step``. Needs
    ``self(inputs, training=False)`` -> emissions (B, T, K) and ``self.crf`` (a CRF layer or None)."""

    def emissions(self, inputs: dict) -> Tensor:
        """Emission scores (B, T, K) float32, inference mode."""
        return self(inputs, training=False)

    def decode(self, inputs: dict) -> Tensor:
        """Best tag ids (B, T) int32, 0 at padding: CRF Viterbi (with constraints if enabled) or argmax."""
        return self.best_tags(self(inputs, training=False), ops.not_equal(inputs["words"], 0))

    def best_tags(self, emissions: Tensor, mask: Tensor) -> Tensor:
        """Emissions (B, T, K) and mask (B, T) -> best tag ids (B, T) int32, 0 at padding."""
        if self.crf is not None:
            return ops.cast(self.crf.decode(emissions, mask), "int32")
        return ops.where(mask, ops.cast(ops.argmax(emissions, axis=-1), "int32"), 0)

    def tag_probabilities(self, inputs: dict) -> Tensor:
        """Per-token tag probabilities (B, T, K), 0 at padding: CRF marginals or softmax."""
        emissions = self(inputs, training=False)
        mask = ops.not_equal(inputs["words"], 0)
        probs = self.crf.marginals(emissions, mask) if self.crf is not None else ops.softmax(emissions)
        return probs * ops.expand_dims(ops.cast(mask, probs.dtype), -1)

    def predict_step(self, *args):
        """{"tags": (B, T) int32}. On JAX Keras passes (state, data) and expects the state back."""
        if keras.backend.backend() == "jax":
            (trainable, non_trainable), data = args
            mapping = [*zip(self.trainable_variables, trainable),
                       *zip(self.non_trainable_variables, non_trainable)]
            with keras.StatelessScope(state_mapping=mapping):
                tags = self.decode(keras.utils.unpack_x_y_sample_weight(data)[0])
            return {"tags": tags}, non_trainable
        (data,) = args
        return {"tags": self.decode(keras.utils.unpack_x_y_sample_weight(data)[0])}


@keras.saving.register_keras_serializable(package="ner")
class SequenceTagger(TaggerOutputs, keras.Model):
    """A sequence tagger over ``labels`` (K tags); built (weights created) on construction.

    ``call`` returns emissions (B, T, K) float32; ``predict_step`` returns {"tags": (B, T) int32} (0 at
    padding); the loss is computed in :meth:`compute_loss` (compile with an optimizer only).
    """

    def __init__(self, config: dict, num_words: int, num_chars: int, labels: list[str], **kwargs: Any):
        super().__init__(**kwargs)
        cfg = resolve_config(config)
        self.config, self.num_words, self.num_chars, self.labels = cfg, num_words, num_chars, list(labels)
        spec = get_encoder(cfg["encoder"])
        use_char_cnn = spec.char_cnn if cfg["char_cnn"] is None else cfg["char_cnn"]
        embedding = FrozenRowsEmbedding if cfg["freeze_embeddings"] else keras.layers.Embedding
        self.word_embedding = embedding(num_words, cfg["word_dim"], name="word_embedding")
        self.casing_embedding = (keras.layers.Embedding(NUM_CASINGS, cfg["casing_dim"], name="casing_embedding")
                                 if cfg["casing_dim"] else None)
        self.char_cnn = (CharCNN(num_chars, cfg["char_dim"], cfg["char_filters"], cfg["char_kernel"],
                                 dropout=cfg["dropout"], name="char_cnn") if use_char_cnn else None)
        # variational: one mask per sentence and feature, the same at every time step
        dropout = keras.layers.SpatialDropout1D if cfg["variational_dropout"] else keras.layers.Dropout
        self.input_dropout = dropout(cfg["dropout"])
        self.encoder = spec.build(cfg["hidden"], cfg["layers"], cfg["dropout"])
        self.context = (DocumentContext(cfg["context"], name="document_context") if self.reads_documents else None)
        self.output_dropout = dropout(cfg["dropout"])
        self.emission = keras.layers.Dense(len(self.labels), dtype="float32", name="emission")
        self.crf = None
        if cfg["head"] == "crf":
            masks = transition_constraints(self.labels, cfg["scheme"]) if cfg["constraints"] else (None,) * 3
            self.crf = CRF(len(self.labels), *masks, scan=cfg["crf_scan"], dtype="float32", name="crf")
            self.crf.build((None, None, len(self.labels)))   # used through its methods, never called
        self.set_execution()
        # Create the weights by tracing call symbolically (no computation, no compilation).
        inputs = {name: keras.KerasTensor((None, None), "int32") for name in ("words", "chars", "casing")}
        if self.reads_documents:
            inputs.update(doc=keras.KerasTensor((None,), "int32"), keys=keras.KerasTensor((None, None), "int32"))
        self.compute_output_spec(inputs)
        self.built = True

    @property
    def reads_documents(self) -> bool:
        """Whether the model takes the inputs ``doc`` and ``keys`` (setting ``context`` other than "sentence")."""
        return self.config["context"] != "sentence"

    def set_execution(self, **choices: str) -> None:
        """Set the settings ``crf_scan`` / ``lstm_path`` (how the CRF and FusedLSTM layers run, e.g. for
        training an ``--init`` bundle on another device) and pass them to the layers; Keras' compiled functions
        are traced again, saved models record them. No arguments: pass the current settings. Bad values raise
        NerError."""
        unknown = sorted(set(choices) - set(EXECUTION))
        if unknown:
            raise NerError(f"not an execution setting: {', '.join(unknown)} (known: {', '.join(EXECUTION)})")
        self.config = resolve_config({**self.config, **choices})
        if self.crf is not None:
            self.crf.scan = self.config["crf_scan"]
        for layer in self.encoder._flatten_layers():
            if isinstance(layer, FusedLSTM):
                layer.implementation = self.config["lstm_path"]
        self.train_function = self.test_function = self.predict_function = None   # traced with the old ones

    def call(self, inputs: dict, training=False):
        words = ops.convert_to_tensor(inputs["words"])
        mask = ops.not_equal(words, 0)
        parts = [self.word_embedding(words)]
        if self.casing_embedding is not None:
            parts.append(self.casing_embedding(inputs["casing"]))
        if self.char_cnn is not None:
            parts.append(self.char_cnn(inputs["chars"], mask, training=training))
        x = ops.concatenate(parts, axis=-1) if len(parts) > 1 else parts[0]
        x = self.input_dropout(x, training=training)
        x = self.encoder(x, mask=mask, training=training)
        if self.context is not None:
            x = self.context(x, mask, ops.convert_to_tensor(inputs["doc"]), ops.convert_to_tensor(inputs["keys"]))
        x = self.output_dropout(x, training=training)
        return self.emission(x)

    @property
    def char_gap(self) -> int:
        """Zeros between the packed words of the ``chars`` input that this model's char CNN needs."""
        return char_gap(self.config["char_kernel"])

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """CRF: mean negative log-likelihood per sequence; softmax: cross-entropy per real token.

        ``sample_weight``, if given, weighs whole sentences (B,).
        """
        mask = ops.not_equal(x["words"], 0)
        if self.crf is not None:
            nll = -self.crf.log_likelihood(y_pred, y, mask)                     # (B,)
            weight = ops.ones_like(nll) if sample_weight is None else ops.cast(sample_weight, nll.dtype)
            return ops.sum(nll * weight) / ops.maximum(ops.sum(weight), 1e-9)
        ce = ops.sparse_categorical_crossentropy(y, y_pred, from_logits=True)    # (B, T)
        weight = ops.cast(mask, ce.dtype)
        if sample_weight is not None:
            weight = weight * ops.expand_dims(ops.cast(sample_weight, ce.dtype), -1)
        return ops.sum(ce * weight) / ops.maximum(ops.sum(weight), 1.0)

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, "config": dict(self.config),
                "num_words": self.num_words, "num_chars": self.num_chars, "labels": list(self.labels)}

    @classmethod
    def from_config(cls, config: dict) -> SequenceTagger:
        with object_sharing_paused():
            return cls(**config)


class ScoringModel(keras.Model):
    """Wraps a SequenceTagger so that Keras compiles the Tagger's pass (``predict_on_batch``) on any backend.

    Outputs: ``tags`` (B, T) int32 and ``emissions`` (B, T, K); with a CRF head also ``alpha``,
    ``beta`` (B, T, K) and ``log_z`` (B,) from forward-backward. Not saved: built on load.
    """

    def __init__(self, tagger_model: SequenceTagger, **kwargs: Any):
        super().__init__(**kwargs)
        self.tagger_model = tagger_model

    def call(self, inputs):
        emissions = self.tagger_model(inputs, training=False)
        mask = ops.not_equal(inputs["words"], 0)
        outputs = {"tags": self.tagger_model.best_tags(emissions, mask), "emissions": emissions}
        crf = self.tagger_model.crf
        if crf is not None:
            outputs["alpha"], outputs["beta"], outputs["log_z"] = crf.forward_backward(emissions, mask)
        return outputs


def build_tagger(config: dict, vocabs: Vocabularies,
                 embeddings: str | os.PathLike | PretrainedVectors | None = None) -> SequenceTagger:
    """A new SequenceTagger for ``vocabs`` (ner.data.vocab.Vocabularies).

    ``embeddings``: vectors for rows of ``vocabs.words`` (:func:`ner.data.prepare.with_vectors`), or a vector file
    read for them (:func:`ner.data.embeddings.load_vectors`); covered word rows start from their vectors, the
    rest stay random; with the setting ``freeze_embeddings`` the covered rows stay as they are while training.
    The vectors' dimension wins over ``word_dim`` (logged as a warning); the coverage is logged on the "ner"
    logger and kept as ``model.embedding_coverage`` (text) and ``model.pretrained_words`` (the number of word rows
    that start from a vector).
    """
    cfg = resolve_config(config)
    words = vocabs.words.decode(range(len(vocabs.words)))
    labels = vocabs.labels.decode(range(len(vocabs.labels)))
    if cfg["freeze_embeddings"] and not embeddings:
        raise NerError("freeze_embeddings: needs pretrained vectors (--embeddings) to freeze")
    pretrained = embeddings
    if embeddings is not None and not isinstance(embeddings, PretrainedVectors):
        pretrained = load_vectors(embeddings, words, skip=len(words) - len(vocabs.words.items))
        log.info(pretrained.summary())   # prepared vectors come with their own report (ner.data.prepare)
    if pretrained is not None and pretrained.dim != cfg["word_dim"]:
        log.warning("%s has %d-d vectors: word_dim set to %d (was %d)", pretrained.path, pretrained.dim,
                    pretrained.dim, cfg["word_dim"])
        cfg["word_dim"] = pretrained.dim
    model = SequenceTagger(cfg, len(vocabs.words), len(vocabs.chars), labels)
    model.embedding_coverage, model.pretrained_words = None, 0
    if pretrained is not None:
        table = ops.convert_to_numpy(model.word_embedding.embeddings).copy()
        table[pretrained.rows] = pretrained.vectors
        model.word_embedding.embeddings.assign(table)
        if cfg["freeze_embeddings"]:
            model.word_embedding.freeze_rows(pretrained.rows)
        model.embedding_coverage, model.pretrained_words = pretrained.summary(), pretrained.covered
    return model
