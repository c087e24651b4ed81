"""Bundles written by ner 0.1.0 (``tests/bundles``, see its ``make.py``) load and tag as they did then."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent / "bundles"
EXPECTED = json.loads((HERE / "expected.json").read_text(encoding="utf-8"))
# Every Keras class ner 0.1.0 registered, with the module its saved configs name.
REGISTERED_0_1_0 = {"SequenceTagger": "ner.model", "CRF": "ner.layers.crf", "CharCNN": "ner.layers.char_cnn",
                    "FusedLSTM": "ner.layers.lstm", "SequenceStack": "ner.layers.encoders",
                    "MaskedConv1D": "ner.layers.encoders", "Adam": "ner.optimizers", "SGD": "ner.optimizers"}


def _spans(entities: list[dict]) -> list[tuple]:
    return [(e["start"], e["end"], e["label"], e["text"]) for e in entities]


@pytest.mark.parametrize("engine", ["numpy", "keras"])
@pytest.mark.parametrize("name", sorted(EXPECTED["tags"]))
def test_old_bundle_tags_as_recorded(name, engine):
    from ner.inference.tagger import Tagger

    tagger = Tagger.load(HERE / name, engine=engine)
    expected = EXPECTED["tags"][name]
    assert sum(map(len, expected.values())) > 20   # the recorded tags hold entities, not only O
    for text, entities in expected.items():
        got = tagger.tag(text)
        assert _spans(got) == _spans(entities), text
        assert [e["score"] for e in got] == pytest.approx([e["score"] for e in entities], rel=1e-3, abs=1e-5)


def test_old_bundles_name_only_registered_classes():
    """What the old model files name is still registered under the same name."""
    import keras

    from ner.bundle import load_model

    load_model(HERE / "fused-crf-adam")   # imports whatever registers the classes
    named = set()
    for bundle in sorted(EXPECTED["tags"]):
        with zipfile.ZipFile(HERE / bundle / "model.keras") as archive:
            config = archive.read("config.json").decode("utf-8")
        named |= {part.split('"')[0] for part in config.split('"registered_name": "ner>')[1:]}
    assert named == {"SequenceTagger", "Adam", "SGD"}
    for name in named:
        assert keras.saving.get_registered_object(f"ner>{name}") is not None, name


@pytest.mark.parametrize("name", sorted(REGISTERED_0_1_0))
def test_every_class_0_1_0_registered_reads_its_saved_config(name):
    """Each Keras class 0.1.0 registered, serialized by 0.1.0 (``tests/bundles/make_layer_configs.py``,
    module paths of then), deserializes today into the same class with the same settings."""
    import keras

    import ner.layers  # noqa: F401  (registers the layers)
    import ner.model.network  # noqa: F401  (SequenceTagger)
    import ner.model.optimizers  # noqa: F401  (Adam, SGD)
    from ner.layers.legacy import CRF_0_1_0

    saved = json.loads((HERE / "layer-configs-0.1.0.json").read_text(encoding="utf-8"))[name]
    assert (saved["module"], saved["registered_name"]) == (REGISTERED_0_1_0[name], f"ner>{name}")
    obj = keras.saving.deserialize_keras_object(saved)
    assert type(obj).__name__ == name and obj.__class__.__module__.startswith("ner.")
    now = obj.get_config()
    for key, value in saved["config"].items():
        if key in CRF_0_1_0 and name == "CRF":
            continue
        if isinstance(value, (bool, int, float, str)) or value is None:
            assert now.get(key) == pytest.approx(value) if isinstance(value, float) else now.get(key) == value, key
    if name == "CRF":   # labels + scheme became masks: BIO forbids O -> I-LOC and starting with I-LOC
        assert obj.allowed_start.tolist() == [True, True, False] and not obj.allowed_transitions[0, 2]


@pytest.mark.parametrize("variant", ["scheme", "allowed"])
def test_a_users_model_with_the_0_1_0_crf_loads_and_decodes_as_recorded(variant):
    """A Keras model of a user's with 0.1.0's CRF (``labels``/``scheme``/``constrained`` or ``allowed``;
    ``tests/bundles/make_user_crf.py``) loads, and decodes and scores the recorded inputs as then."""
    import keras
    import numpy as np

    import ner.layers  # noqa: F401  (registers the CRF)

    recorded = json.loads((HERE / "user-crf-0.1.0.json").read_text(encoding="utf-8"))
    model = keras.saving.load_model(HERE / f"user-crf-{variant}-0.1.0.keras")
    crf = model.get_layer("crf")
    assert crf.allowed_transitions is not None   # constrained, as saved
    x = np.load(HERE / "user-crf-0.1.0-inputs.npy")
    mask = np.arange(x.shape[1])[None, :] < np.array(recorded["lengths"])[:, None]   # (B, T)
    emissions = model.predict(x, verbose=0)
    paths = np.asarray(crf.decode(emissions, mask))
    assert paths.tolist() == recorded[variant]["paths"]
    likelihood = np.asarray(crf.log_likelihood(emissions, paths, mask))
    assert likelihood.tolist() == pytest.approx(recorded[variant]["log_likelihood"], rel=1e-5)
