"""Strict JSON out: everything ner writes as JSON parses with a strict parser (no bare NaN or Infinity)."""

from __future__ import annotations

import json
import math


def finite(obj):
    """``obj`` with every non-finite float (nan, ±inf) replaced by None, inside dicts, lists and tuples."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    return obj


def dumps(obj, **kwargs) -> str:
    """``json.dumps(finite(obj), allow_nan=False, **kwargs)``: non-finite numbers become null."""
    return json.dumps(finite(obj), allow_nan=False, **kwargs)
