"""ner: neural sequence labelling for named-entity recognition with Keras 3."""

__version__ = "0.1.0"
