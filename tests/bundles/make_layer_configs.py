"""Record the serialized form of every Keras class ner 0.1.0 registered (run with ner 0.1.0 importable, e.g.
``PYTHONPATH=<checkout of 31f0262> python tests/bundles/make_layer_configs.py tests/bundles``).

``tests/test_old_bundles.py`` deserializes each with today's code.
"""

import json
import sys

import keras

import ner.model  # noqa: F401  (0.1.0: registers SequenceTagger)
import ner.optimizers
from ner.data.vocab import build_vocabularies
from ner.layers import CRF, CharCNN, MaskedConv1D, SequenceStack
from ner.layers.lstm import FusedLSTM
from ner.model import build_tagger


def main(out: str) -> None:
    vocabs = build_vocabularies([["Paris", "is", "big"]], [["B-LOC", "O", "O"]])
    objects = {
        "CRF": CRF(3, labels=["O", "B-LOC", "I-LOC"], scheme="bio", constrained=True),
        "CharCNN": CharCNN(20, 8, 6, 3, dropout=0.1),
        "FusedLSTM": FusedLSTM(4),
        "SequenceStack": SequenceStack([FusedLSTM(4), MaskedConv1D(6, 3, padding="same")], 0.2),
        "MaskedConv1D": MaskedConv1D(6, 3, padding="same", activation="relu"),
        "SequenceTagger": build_tagger({"encoder": "bilstm-cnn", "word_dim": 4, "hidden": 3, "head": "crf"}, vocabs),
        "Adam": ner.optimizers.Adam(1e-3, clipnorm=5.0),
        "SGD": ner.optimizers.SGD(1e-2, momentum=0.9),
    }
    configs = {name: keras.saving.serialize_keras_object(obj) for name, obj in objects.items()}
    with open(f"{out}/layer-configs-0.1.0.json", "w", encoding="utf-8") as f:
        json.dump(configs, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
