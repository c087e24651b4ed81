"""Save Keras models that use ner 0.1.0's CRF the way a user could (run with ner 0.1.0 importable, e.g.
``PYTHONPATH=<checkout of 31f0262> python tests/bundles/make_user_crf.py tests/bundles``).

0.1.0's CRF took ``labels``, ``scheme``, ``constrained`` and ``allowed``; ``tests/test_old_bundles.py`` checks
that today's CRF reads those saved configs and decodes the recorded paths.
"""

import json
import sys

import keras
import numpy as np

from ner.layers import CRF

LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
ALLOWED = (np.array([1, 1, 0, 1, 0], bool), ~np.eye(5, dtype=bool), np.ones(5, bool))   # no tag repeats itself
VARIANTS = {"scheme": dict(labels=LABELS, scheme="bio", constrained=True),
            "allowed": dict(constrained=True, allowed=[a.tolist() for a in ALLOWED])}


def main(out: str) -> None:
    x = np.random.default_rng(3).normal(size=(4, 9, 6)).astype("float32") * 3   # (B, T, features)
    lengths = [9, 5, 9, 2]
    mask = np.arange(9)[None, :] < np.array(lengths)[:, None]                     # (B, T)
    np.save(f"{out}/user-crf-0.1.0-inputs.npy", x)
    expected = {"lengths": lengths}
    for name, settings in VARIANTS.items():
        keras.utils.set_random_seed(7)
        inputs = keras.Input((None, 6))
        crf = CRF(len(LABELS), name="crf", **settings)
        model = keras.Model(inputs, crf(keras.layers.Dense(len(LABELS))(inputs)))
        model.save(f"{out}/user-crf-{name}-0.1.0.keras")
        emissions = model.predict(x, verbose=0)
        paths = np.asarray(crf.decode(emissions, mask))
        expected[name] = {"paths": paths.tolist(),
                          "log_likelihood": np.asarray(crf.log_likelihood(emissions, paths, mask)).tolist()}
    with open(f"{out}/user-crf-0.1.0.json", "w", encoding="utf-8") as f:
        json.dump(expected, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
