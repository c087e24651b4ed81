"""Checks of the inputs of the CRF's methods (``ner.layers.crf``): shapes always, values when they are known.

Shapes: B batch, T time steps, K tags.
"""

from __future__ import annotations

import numpy as np
from keras import ops

from ner.layers.scan import Tensor


def as_mask(emissions: Tensor, mask: Tensor | None) -> Tensor:
    """The (B, T) bool mask of emissions (B, T, K): all on when ``mask`` is None."""
    return ops.ones(ops.shape(emissions)[:2], "bool") if mask is None else ops.cast(mask, "bool")


def check_inputs(emissions: Tensor, tags: Tensor | None, mask: Tensor | None, num_tags: int) -> Tensor:
    """Check emissions (B, T, K = num_tags), tags (B, T) int or None, mask (B, T) or None -> mask (B, T) bool.

    Static shapes are always checked; values (a right-padded mask with its first step on, tags in [0, K) at
    real steps) only when concrete, i.e. not under tracing (``tf.function``, ``jax.jit``). Raises ValueError.
    """
    if len(emissions.shape) != 3:
        raise ValueError(f"CRF: emissions must be (batch, time, num_tags), got {tuple(emissions.shape)}")
    b, t, k = emissions.shape
    if k != num_tags:
        raise ValueError(f"CRF: emissions have {k} tags in their last dim, expected {num_tags}")
    if t == 0:
        raise ValueError("CRF: emissions have no time steps (T = 0)")
    for name, x in (("tags", tags), ("mask", mask)):
        if x is None:
            continue
        clash = any(u is not None and v is not None and u != v for u, v in zip(x.shape, (b, t)))
        if len(x.shape) != 2 or clash:
            raise ValueError(f"CRF: {name} must be (batch, time) = {(b, t)} like the emissions, "
                             f"got {tuple(x.shape)}")
    m = as_mask(emissions, mask)
    mv = _values(m)
    if mv is None:
        return m
    empty = np.flatnonzero(~mv[:, 0])
    if empty.size:
        raise ValueError(f"CRF: mask[:, 0] must be on (every sequence needs a first step); row {empty[0]} is off")
    rows, cols = np.nonzero(mv[:, 1:] & ~mv[:, :-1])
    if rows.size:
        raise ValueError(f"CRF: mask must be right-padded (ones, then zeros); row {rows[0]} turns on "
                         f"again at step {cols[0] + 1}")
    tv = _values(tags) if tags is not None else None
    if tv is not None:
        bad = mv & ((tv < 0) | (tv >= num_tags))
        if bad.any():
            row, step = np.argwhere(bad)[0]
            raise ValueError(f"CRF: tags must be in [0, {num_tags}) at unmasked steps; row {row} step {step} "
                             f"has {tv[row, step]}")
    return m


def _values(x) -> np.ndarray | None:
    """``x`` as numpy when its values are known (eager), ``None`` under tracing."""
    try:
        return ops.convert_to_numpy(x)
    except (TypeError, NotImplementedError):   # JAX tracers / symbolic TF tensors have no values
        return None


def check_masks(num_tags: int | None, masks: dict) -> tuple[int | None, dict]:
    """The CRF's constructor arguments: ``masks`` {name: array-like or None} of the allowed first tags (K,),
    moves (K, K) and last tags (K,) as bool arrays, and the number of tags K they and ``num_tags`` agree on
    (None when nothing gives it). Raises ValueError on disagreeing sizes or shapes."""
    masks = {name: None if a is None else np.asarray(a, dtype=bool) for name, a in masks.items()}
    sizes = {"num_tags": num_tags} if num_tags is not None else {}
    sizes.update({name: a.shape[0] for name, a in masks.items() if a is not None and a.ndim})
    if len(set(sizes.values())) > 1:
        raise ValueError(f"CRF: inconsistent numbers of tags: {sizes}")
    k = next(iter(sizes.values()), None)
    if k is not None and k < 1:
        raise ValueError(f"CRF: num_tags must be >= 1, got {k}")
    for name, a in masks.items():
        want = (k, k) if name == "allowed_transitions" else (k,)
        if a is not None and a.shape != want:
            raise ValueError(f"CRF: {name} must have shape {want}, got {a.shape}")
    return k, masks


def check_k(k: object) -> int:
    """The number of paths asked of ``CRF.nbest``, an int >= 1; anything else raises ValueError."""
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise ValueError(f"CRF.nbest: k must be an int >= 1, got {k!r}")
    return int(k)
