"""The CRF arguments of ner 0.1.0, in today's terms (its saved models and its callers keep working).

0.1.0's CRF took ``labels``, ``scheme`` and ``constrained`` (masks computed from the tag scheme) or
``constrained`` with ``allowed`` (the three masks as one list); today's takes ``allowed_start``,
``allowed_transitions`` and ``allowed_end``. The other classes registered in 0.1.0 (SequenceTagger,
CharCNN, FusedLSTM, SequenceStack, MaskedConv1D, Adam, SGD) read their 0.1.0 configs unchanged: each setting
added since has a default.
"""

from __future__ import annotations

import numpy as np

from ner.data.schemes import transition_constraints

CRF_0_1_0 = ("labels", "scheme", "constrained", "allowed")


def crf_masks(labels: list[str] | None = None, scheme: str | None = None, constrained: bool = False,
              allowed: list | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The (start (K,), transitions (K, K), end (K,)) bool masks 0.1.0's arguments meant; None: unconstrained."""
    if not constrained:
        return None
    if allowed is None:
        if labels is None or scheme is None:
            raise ValueError("CRF: constrained=True needs labels and scheme, or allowed masks")
        allowed = transition_constraints(labels, scheme)
    return tuple(np.asarray(a, dtype=bool) for a in allowed)
