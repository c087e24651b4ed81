"""Keras layers of the tagger: the CRF, the character CNN, the fused BiLSTM and the encoder registry.

``CRF(scan=...)`` and ``FusedLSTM(implementation=...)`` take their execution choices (``CRF_SCANS``, ``LSTM_PATHS``).
"""

from ner.layers.char_cnn import CharCNN
from ner.layers.crf import CRF, CRF_SCANS
from ner.layers.encoders import EncoderSpec, MaskedConv1D, SequenceStack, get_encoder, list_encoders, register_encoder
from ner.layers.lstm import LSTM_PATHS, FusedLSTM

__all__ = ["CRF", "CRF_SCANS", "LSTM_PATHS", "CharCNN", "EncoderSpec", "FusedLSTM", "MaskedConv1D", "SequenceStack",
           "get_encoder", "list_encoders", "register_encoder"]
