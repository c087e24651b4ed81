"""Corpora and what a model reads: ``conll`` (CoNLL files), ``corpus`` (any source as a DatasetDict),
``schemes`` (tag schemes as data), ``vocab``, ``tokenize``, ``embeddings``, ``arrays`` and ``batching``
(model inputs), ``prepare`` (a loaded corpus made ready for training). Only ``batching`` imports Keras."""
