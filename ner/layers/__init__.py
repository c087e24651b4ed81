"""Keras layers of the tagger: the CRF, the character CNN and the encoder registry."""

from ner.layers.char_cnn import CharCNN
from ner.layers.crf import CRF
from ner.layers.encoders import EncoderSpec, MaskedConv1D, SequenceStack, get_encoder, list_encoders, register_encoder

__all__ = ["CRF", "CharCNN", "EncoderSpec", "MaskedConv1D", "SequenceStack", "get_encoder", "list_encoders",
           "register_encoder"]
