"""Bundles written by ner 0.1.0 (``tests/bundles``, see its ``make.py``) load and tag as they did then."""

from __future__ import annotations

import json
import warnings
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


@pytest.mark.slow
def test_old_bundles_load_in_a_process_that_imports_only_the_bundle_module():
    """``ner.bundle.load_model`` imports whatever registers the classes the old model files name."""
    import subprocess
    import sys

    code = ("import sys; from ner.bundle import load_model\n"
            "for path in sys.argv[1:]:\n"
            "    model = load_model(path); print(type(model).__name__, type(model.optimizer).__name__)")
    done = subprocess.run([sys.executable, "-c", code, *(str(HERE / b) for b in sorted(EXPECTED["tags"]))],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["SequenceTagger", "SGD", "SequenceTagger", "Adam"]


def _same_settings(saved, now, where: str = "") -> None:
    """Every setting of a 0.1.0 config holds in today's config, nested ones too (today may have more)."""
    if isinstance(saved, dict):
        assert isinstance(now, dict), where
        for key, value in saved.items():
            assert key in now, f"{where}.{key} is gone"
            _same_settings(value, now[key], f"{where}.{key}")
    elif isinstance(saved, list):
        assert isinstance(now, (list, tuple)) and len(now) == len(saved), where
        for i, (a, b) in enumerate(zip(saved, now)):
            _same_settings(a, b, f"{where}[{i}]")
    else:
        assert now == (pytest.approx(saved) if isinstance(saved, float) else saved), where


@pytest.mark.parametrize("name", sorted(REGISTERED_0_1_0))
def test_every_class_0_1_0_registered_reads_its_saved_config(name):
    """Each Keras class 0.1.0 registered, serialized by 0.1.0 (``tests/bundles/make_layer_configs.py``,
    module paths of then), deserializes today into the same class with the same settings."""
    import keras

    import ner.layers  # noqa: F401  (registers the layers)
    import ner.model.network  # noqa: F401  (SequenceTagger)
    import ner.model.optimizers  # noqa: F401  (Adam, SGD)
    from ner.layers.legacy import CRF_0_1_0  # replaced by the allowed_* masks

    saved = json.loads((HERE / "layer-configs-0.1.0.json").read_text(encoding="utf-8"))[name]
    assert (saved["module"], saved["registered_name"]) == (REGISTERED_0_1_0[name], f"ner>{name}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)   # the CRF's 0.1.0 arguments
        obj = keras.saving.deserialize_keras_object(saved)
    assert type(obj).__name__ == name and obj.__class__.__module__.startswith("ner.")
    kept = {k: v for k, v in saved["config"].items() if not (name == "CRF" and k in CRF_0_1_0)}
    _same_settings(kept, obj.get_config(), name)
    if name == "CRF":   # labels + scheme became masks: BIO forbids O -> I-LOC and starting with I-LOC
        assert obj.allowed_start.tolist() == [True, True, False] and not obj.allowed_transitions[0, 2]


def test_the_0_1_0_crf_arguments_still_build_the_same_crf():
    import numpy as np

    from ner.data.schemes import transition_constraints
    from ner.layers import CRF

    labels = ["O", "B-PER", "I-PER", "E-PER", "S-PER"]
    with pytest.warns(DeprecationWarning, match="allowed_start, allowed_transitions and allowed_end"):
        old = CRF(5, labels=labels, scheme="bioes", constrained=True)
    new = CRF(5, *transition_constraints(labels, "bioes"))
    for a, b in zip((old.allowed_start, old.allowed_transitions, old.allowed_end),
                    (new.allowed_start, new.allowed_transitions, new.allowed_end)):
        assert np.array_equal(a, b)
    with pytest.warns(DeprecationWarning):
        assert CRF(5, constrained=False, labels=labels).allowed_transitions is None
    with pytest.raises(ValueError, match="not both"):
        CRF(5, allowed_end=[True] * 5, constrained=True, allowed=[[True] * 5, [[True] * 5] * 5, [True] * 5])


@pytest.mark.parametrize("variant", ["scheme", "allowed"])
def test_a_users_model_with_the_0_1_0_crf_loads_and_decodes_as_recorded(variant):
    """A Keras model of a user's with 0.1.0's CRF (``labels``/``scheme``/``constrained`` or ``allowed``;
    ``tests/bundles/make_user_crf.py``) loads, and decodes and scores the recorded inputs as then."""
    import keras
    import numpy as np

    import ner.layers  # noqa: F401  (registers the CRF)

    recorded = json.loads((HERE / "user-crf-0.1.0.json").read_text(encoding="utf-8"))
    with pytest.warns(DeprecationWarning, match="0.1.0's arguments"):   # read, and the user told
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
