"""Several trained taggers as one: ``EnsembleTagger(members)`` tags like a ``SequenceTagger``.

Members must share vocabularies, labels, training scheme and head (:func:`check_members`). Emissions (B, T, K) are
the members' mean (CRF heads) or the log of their mean softmax probabilities (softmax heads); a CRF head decodes
them with the members' mean start, transition and end scores (constraint penalties included), so one Viterbi pass
tags with the whole ensemble.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from ner.data.vocab import Vocabularies
from ner.errors import NerError
from ner.layers.crf import CRF
from ner.model.network import SequenceTagger, TaggerOutputs, object_sharing_paused


def check_members(members: list[tuple[str, SequenceTagger, Vocabularies, str]]) -> None:
    """Refuse (NerError naming the first member that differs) members that cannot be combined: (name, model,
    vocabularies, training scheme) each; labels, scheme, head and word, character and label vocabularies must be
    the first member's."""
    if not members:
        raise NerError("ensemble: no members")
    first_name, first, first_vocabs, first_scheme = members[0]
    for name, model, vocabs, scheme in members[1:]:
        for what, theirs, ours in (("labels", model.labels, first.labels), ("training scheme", scheme, first_scheme),
                                   ("head", model.config["head"], first.config["head"])):
            if theirs != ours:
                raise NerError(f"{name}: {what} {_short(theirs)} differ from {first_name}'s {_short(ours)}; an "
                               "ensemble's members must agree")
        for what in ("words", "chars"):
            if getattr(vocabs, what) != getattr(first_vocabs, what):
                raise NerError(f"{name}: its {what[:-1]} vocabulary differs from {first_name}'s (trained on other "
                               "data or with other vocabulary settings); an ensemble's members must share one")


def _short(value: object) -> str:
    text = " ".join(value) if isinstance(value, list) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


@keras.saving.register_keras_serializable(package="ner")
class EnsembleTagger(TaggerOutputs, keras.Model):
    """The members' taggers averaged (module docstring). ``call`` returns emissions (B, T, K) float32; the
    attributes ``labels``, ``num_words``, ``num_chars``, ``config`` ({"head", "scheme", "members": [their model
    settings]}) and ``char_gap`` are those a ``SequenceTagger`` offers for tagging."""

    def __init__(self, members: list[SequenceTagger], **kwargs: Any):
        super().__init__(**kwargs)
        self.members = list(members)
        first = self.members[0]
        self.labels, self.num_words, self.num_chars = list(first.labels), first.num_words, first.num_chars
        self.config = {"head": first.config["head"], "scheme": first.config["scheme"],
                       "members": [dict(m.config) for m in self.members]}
        self.crf = None
        if first.crf is not None:
            k = len(self.labels)
            self.crf = CRF(k, dtype="float32", name="crf")   # the members' mean scores, penalties included
            self.crf.build((None, None, k))
            scores = [[ops.convert_to_numpy(s) for s in m.crf.transition_scores()] for m in self.members]
            for weight, i in ((self.crf.start, 0), (self.crf.transitions, 1), (self.crf.end, 2)):
                weight.assign(sum(s[i] for s in scores) / len(scores))
        self.built = True

    @property
    def char_gap(self) -> int:
        """Zeros between packed words that every member's char CNN needs."""
        return max(m.char_gap for m in self.members)

    @property
    def reads_documents(self) -> bool:
        """Whether a member takes the document inputs ``doc`` and ``keys`` (they then go to every member)."""
        return any(m.reads_documents for m in self.members)

    def call(self, inputs: dict, training=False):
        emissions = ops.stack([m(inputs, training=False) for m in self.members], axis=0)   # (M, B, T, K)
        if self.crf is not None:
            return ops.mean(emissions, axis=0)                                            # (B, T, K)
        probs = ops.mean(ops.softmax(emissions, axis=-1), axis=0)                         # (B, T, K)
        return ops.log(ops.maximum(probs, 1e-30))

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable,
                "members": [keras.saving.serialize_keras_object(m) for m in self.members]}

    @classmethod
    def from_config(cls, config: dict) -> EnsembleTagger:
        config = dict(config)
        with object_sharing_paused():
            members = [keras.saving.deserialize_keras_object(m) for m in config.pop("members")]
            return cls(members, **config)
