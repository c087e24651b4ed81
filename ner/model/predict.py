"""Tag sentences with a Keras tagger: tag ids per batch, tag strings per sentence."""

from __future__ import annotations

import numpy as np

from ner.data.batching import TaggingBatches, batch_layout
from ner.data.vocab import Vocabularies
from ner.model.network import SequenceTagger


def predict_tags(model: SequenceTagger, batches: TaggingBatches) -> list[np.ndarray]:
    """Tag ids (n,) int32 per sentence of ``batches`` (a TaggingBatches), unpadded, in sentence order."""
    tagged = {}
    for i in range(len(batches)):
        item = batches[i]
        inputs = item[0] if isinstance(item, tuple) else item
        tags = np.asarray(model.predict_on_batch(inputs)["tags"])
        lengths = (np.asarray(inputs["words"]) != 0).sum(axis=1)
        for row, index in enumerate(batches.batch_indices(i)):
            tagged[int(index)] = tags[row, :lengths[row]]
    return [tagged[i] for i in range(len(tagged))]


def predict_split(model: SequenceTagger, vocabs: Vocabularies, tokens: list[list[str]], batch_size: int = 256,
                  documents: list[int] | None = None) -> list[list[str]]:
    """Tag sentences with ``model``; returns tag strings in the model's training scheme. ``documents``: the
    document of each sentence, for a model that reads documents (default: each sentence its own)."""
    batches = TaggingBatches(tokens, vocabs, batch_size=batch_size, documents=documents, **batch_layout(model))
    return [vocabs.labels.decode(ids) for ids in predict_tags(model, batches)]
