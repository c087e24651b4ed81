"""Compare encoder swaps: train a grid of runs (or take trained bundles), score them, judge the claims.

Modules, in import order: ``results`` (runs and their records), ``verdicts`` (the claims and paired
bootstrap), ``figures`` and ``report`` (report.json, report.md, index.html), ``grid`` (planning, training,
resuming; :func:`ner.comparison.grid.compare`).
"""

DEFAULT_ENCODERS = ("rnn", "lstm", "bilstm", "bilstm-cnn", "bilstm-conv")
DEFAULT_EPOCHS = 8   # epochs per run of the default grid
