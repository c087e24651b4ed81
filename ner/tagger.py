"""Tag raw text with a trained bundle: ``Tagger.load("models/NAME").tag("Angela Merkel visited Paris.")``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np

from ner.data.schemes import convert, to_spans
from ner.data.tokenize import Token, tokenize_text


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class _Scorer(keras.Model):
    """Wraps a tagger so that Keras compiles its tagging pass (``predict_on_batch``) on any backend.

    Outputs: ``tags`` (B, T) int32 and ``emissions`` (B, T, K); with a CRF head also ``alpha``,
    ``beta`` (B, T, K) and ``log_z`` (B,) from forward-backward. Not saved: built on load.
    """

    def __init__(self, tagger_model, **kwargs):
        super().__init__(**kwargs)
        self.tagger_model = tagger_model

    def call(self, inputs):
        emissions = self.tagger_model(inputs, training=False)
        mask = keras.ops.not_equal(inputs["words"], 0)
        outputs = {"tags": self.tagger_model.best_tags(emissions, mask), "emissions": emissions}
        crf = self.tagger_model.crf
        if crf is not None:
            outputs["alpha"], outputs["beta"], outputs["log_z"] = crf.forward_backward(emissions, mask)
        return outputs


class Tagger:
    """A loaded bundle that tags text.

    Entities are dicts ``{"text", "label", "start", "end", "score"}`` with character offsets into the
    input (``text == input[start:end]``). ``score`` is the model's probability of the entity: with a CRF
    head, the CRF probability that the span's tokens carry exactly the predicted tags (forward score into
    the first token + path score inside + backward score out of the last token − log Z); with a softmax
    head, the product of the tokens' tag probabilities.
    """

    def __init__(self, bundle, batch_size: int = 64):
        self.bundle = bundle
        self.model = bundle.model
        self.vocabs = bundle.vocabs
        self.scheme = bundle.config["scheme"]
        self.data_scheme = bundle.meta.get("data", {}).get("scheme", self.scheme)
        self.batch_size = batch_size
        self._scorer = _Scorer(self.model, name="scorer")

    @classmethod
    def load(cls, path: str | Path, batch_size: int = 64) -> "Tagger":
        from ner.bundle import load_bundle

        return cls(load_bundle(path), batch_size=batch_size)

    @property
    def labels(self) -> list[str]:
        return list(self.vocabs.labels.items)

    def _predict(self, sentences: Sequence[Sequence[str]]) -> list[tuple[np.ndarray, object]]:
        """Per sentence: best tag ids (T,) and what :meth:`_span_probability` needs to score spans.

        Softmax: the log-probability of each chosen tag (T,). CRF: (alpha (T, K), beta (T, K), log Z,
        emissions (T, K), transitions (K, K)) from forward-backward. One compiled call per batch shape.
        """
        from ner.data.batching import TaggingBatches, backend_buckets

        out: list = [None] * len(sentences)
        batches = TaggingBatches([list(s) for s in sentences], self.vocabs, batch_size=self.batch_size,
                                 **backend_buckets())
        crf = self.model.crf
        trans = None if crf is None else np.asarray(crf.transition_scores()[1], dtype=np.float64)
        for b in range(len(batches)):
            result = {k: np.asarray(v) for k, v in self._scorer.predict_on_batch(batches[b]).items()}
            for row, i in enumerate(batches.batch_indices(b)):
                n = len(sentences[i])
                best = result["tags"][row, :n]
                emissions = result["emissions"][row, :n].astype(np.float64)
                if crf is None:
                    logp = np.log(_softmax(emissions))
                    out[i] = (best, logp[np.arange(n), best])
                else:
                    out[i] = (best, (result["alpha"][row, :n].astype(np.float64),
                                     result["beta"][row, :n].astype(np.float64),
                                     float(result["log_z"][row]), emissions, trans))
        return out

    @staticmethod
    def _span_probability(scores, tags: np.ndarray, start: int, end: int) -> float:
        if isinstance(scores, np.ndarray):  # softmax: product of token probabilities
            return float(np.exp(scores[start:end].sum()))
        alpha, beta, log_z, emissions, trans = scores
        path = alpha[start, tags[start]] + beta[end - 1, tags[end - 1]]
        for t in range(start + 1, end):
            path += trans[tags[t - 1], tags[t]] + emissions[t, tags[t]]
        return float(np.exp(min(0.0, path - log_z)))

    def tag_sentences(self, sentences: Sequence[Sequence[str]], scheme: str | None = None) -> list[list[str]]:
        """Tags of tokenized sentences, in ``scheme`` (default: the scheme of the training data)."""
        nonempty = [i for i, s in enumerate(sentences) if len(s)]
        tags: list[list[str]] = [[] for _ in sentences]
        for i, (ids, _) in zip(nonempty, self._predict([sentences[i] for i in nonempty])):
            tags[i] = convert(self.vocabs.labels.decode(ids), self.scheme, scheme or self.data_scheme)
        return tags

    def tag_tokens(self, tokens: Sequence[str], scheme: str | None = None) -> list[str]:
        """Tags of one tokenized sentence, in ``scheme`` (default: the scheme of the training data)."""
        return self.tag_sentences([tokens], scheme)[0]

    def tag_many(self, texts: Sequence[str]) -> list[list[dict]]:
        """Entities of each text; all sentences of all texts are batched together."""
        sentences: list[list[Token]] = []
        owner: list[int] = []
        for n, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"text {n}: expected str, got {type(text).__name__}")
            for sentence in tokenize_text(text):
                if sentence:
                    sentences.append(sentence)
                    owner.append(n)
        results: list[list[dict]] = [[] for _ in texts]
        if not sentences:
            return results
        predictions = self._predict([[t.text for t in s] for s in sentences])
        for sentence, n, (ids, scores) in zip(sentences, owner, predictions):
            tags = self.vocabs.labels.decode(ids)
            for span in to_spans(tags, self.scheme):
                start, end = sentence[span.start].start, sentence[span.end - 1].end
                results[n].append({"text": texts[n][start:end], "label": span.label, "start": start,
                                   "end": end, "score": self._span_probability(scores, ids, span.start, span.end)})
        return results

    def tag(self, text: str) -> list[dict]:
        """Entities of one text (split into sentences first)."""
        return self.tag_many([text])[0]
