"""Layer configs saved by ner 0.1.0, in today's terms (saved models keep loading).

0.1.0's CRF took ``labels``, ``scheme`` and ``constrained`` (masks computed from the tag scheme) or
``allowed`` (the three masks as one list); today's takes ``allowed_start``, ``allowed_transitions`` and
``allowed_end``. The other layers registered in 0.1.0 (CharCNN, FusedLSTM, SequenceStack, MaskedConv1D,
SequenceTagger, Adam, SGD) read their 0.1.0 configs unchanged: a setting added since has a default.
"""

from __future__ import annotations

import numpy as np

from ner.data.schemes import transition_constraints

CRF_0_1_0 = ("labels", "scheme", "constrained", "allowed")


def crf_config(config: dict) -> dict:
    """A CRF config of today from one ``config`` that may be 0.1.0's (returned as is when it is not)."""
    if not set(CRF_0_1_0) & set(config):
        return config
    config = dict(config)
    labels, scheme = config.pop("labels", None), config.pop("scheme", None)
    constrained, allowed = config.pop("constrained", False), config.pop("allowed", None)
    if constrained and allowed is None:
        allowed = transition_constraints(labels, scheme)   # (start (K,), transitions (K, K), end (K,))
    if constrained:
        names = ("allowed_start", "allowed_transitions", "allowed_end")
        config.update({name: np.asarray(a, dtype=bool).tolist() for name, a in zip(names, allowed)})
    return config
