"""Compare encoder swaps: train a grid of runs (or take trained bundles), score them, judge the claims.

Modules, in import order: ``results`` (runs and their records), ``verdicts`` (the claims and paired
bootstrap), ``figures`` and ``report`` (report.json, report.md, index.html), ``ray_executor`` (runs as Ray
tasks), ``grid`` (planning, training, resuming; :func:`ner.comparison.grid.compare`), ``probe_verdicts`` and
``probe`` (the long-range probe: a grid per generated task and distance, F1 against distance;
:func:`ner.comparison.probe.probe`).
"""

DEFAULT_ENCODERS = ("rnn", "lstm", "bilstm", "bilstm-cnn", "bilstm-conv")
DEFAULT_EPOCHS = 8   # epochs per run of the default grid
