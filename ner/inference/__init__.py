"""Tagging with a trained bundle: ``tagger`` (:class:`ner.inference.tagger.Tagger`, text in, entities out) on
the Keras model or ``runtime`` (the same network in numpy, no Keras import)."""
