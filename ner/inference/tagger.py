"""Tag raw text with a trained bundle: ``Tagger.load("models/NAME").tag("Angela Merkel visited Paris.")``.

Two engines compute the same tags and scores: ``numpy`` (ner.inference.runtime, no Keras import: starts in a fraction
of a second) and ``keras`` (the saved Keras model on the current backend). ``engine="auto"`` takes numpy when
the bundle has its ``weights.npz``.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ner.bundle import WEIGHTS, Bundle, bundle_path, check_model, load_bundle, load_model, read_meta
from ner.data.arrays import encode_sentence, pack_documents, packed_length, pad_inputs
from ner.data.schemes import convert, to_spans
from ner.data.tokenize import Token, tokenize_text
from ner.errors import NerError
from ner.inference.runtime import NumpyModel, nbest_paths

if TYPE_CHECKING:
    from ner.model.network import SequenceTagger

ENGINES = ("auto", "numpy", "keras")


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _items(values, what: str) -> list:
    """``values`` as a list; one ``str`` where a sequence is expected is a TypeError (not one item per character)."""
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{what}: expected a sequence, got a single {type(values).__name__} (wrap it in a list)")
    try:
        return list(values)
    except TypeError:   # not iterable (None, a number)
        raise TypeError(f"{what}: expected a sequence, got {type(values).__name__}") from None


def _tokens(tokens, what: str) -> list[str]:
    """``tokens`` as a list of str; a token of another type is a TypeError naming its index, an empty or
    whitespace-only token a ValueError naming its index."""
    tokens = _items(tokens, what)
    for i, token in enumerate(tokens):
        if not isinstance(token, str):
            raise TypeError(f"{what}[{i}]: expected str, got {type(token).__name__}")
        if not token.strip():
            raise ValueError(f"{what}[{i}]: empty token {token!r} (every token needs a non-space character)")
    return tokens


class Tagger:
    """A loaded bundle that tags text.

    Entities are dicts ``{"text", "label", "start", "end", "score"}`` with character offsets into the
    input (``text == input[start:end]``). ``score`` is the model's probability of the entity: with a CRF
    head, the CRF probability that the span's tokens carry exactly the predicted tags (forward score into
    the first token + path score inside + backward score out of the last token − log Z); with a softmax
    head, the product of the tokens' tag probabilities.
    """

    def __init__(self, bundle: Bundle, batch_size: int = 64, runtime: NumpyModel | None = None):
        self.bundle = bundle
        self.vocabs = bundle.vocabs
        self.scheme = bundle.config["scheme"]
        self.data_scheme = bundle.meta.get("data", {}).get("scheme", self.scheme)
        self.batch_size = batch_size
        self.runtime = runtime      # a ner.inference.runtime.NumpyModel, or None: the Keras model tags
        self._scorer = None

    @classmethod
    def load(cls, path: str | Path, batch_size: int = 64, engine: str = "auto") -> "Tagger":
        """``engine``: "numpy", "keras", or "auto" (numpy when the bundle has weights.npz)."""
        if engine not in ENGINES:
            raise NerError(f"engine: unknown engine {engine!r} (choose from {', '.join(ENGINES)})")
        path = bundle_path(path)
        read_meta(path)   # a bundle, put back first if a killed write left it missing
        has_weights = (Path(path) / WEIGHTS).is_file()
        if engine == "numpy" and not has_weights:
            raise NerError(f"{path}: no {WEIGHTS} (a bundle written before the numpy runtime existed, or with "
                           "an encoder it does not cover): use the keras engine")
        if engine == "keras" or not has_weights:
            return cls(load_bundle(path), batch_size=batch_size)
        bundle = load_bundle(path, model=False)
        return cls(bundle, batch_size=batch_size, runtime=NumpyModel.load(path, bundle.vocabs, bundle.config))

    @property
    def model(self) -> SequenceTagger:
        """The Keras model (``ner.model.network.SequenceTagger``), loaded on first use with the numpy engine."""
        if self.bundle.model is None:
            model = load_model(self.bundle.path)
            check_model(self.bundle.path, model, self.vocabs, self.bundle.config)
            self.bundle.model = model
        return self.bundle.model

    @property
    def labels(self) -> list[str]:
        return list(self.vocabs.labels.items)

    def _predict(self, sentences: Sequence[Sequence[str]], documents: Sequence[int] | None = None
                 ) -> list[tuple[np.ndarray, object]]:
        """Per sentence: best tag ids (T,) and what :meth:`_span_probability` needs to score spans.

        Softmax: the log-probability of each chosen tag (T,). CRF: (alpha (T, K), beta (T, K), log Z,
        emissions (T, K), transitions (K, K)) from forward-backward.
        """
        out: list = [None] * len(sentences)
        for rows, result in self._batches([list(s) for s in sentences], documents):
            for row, i in enumerate(rows):
                out[i] = (result["tags"][row, :len(sentences[i])], self._scores(result, row, len(sentences[i]))[0])
        return out

    @staticmethod
    def _scores(result: dict, row: int, n: int) -> tuple[object, np.ndarray]:
        """For sentence ``row`` (``n`` tokens) of a batch's outputs: what :meth:`_span_probability` needs, and the
        per-token tag probabilities (n, K) (CRF marginals or softmax)."""
        emissions = result["emissions"][row, :n].astype(np.float64)
        if "alpha" not in result:
            probs = _softmax(emissions)
            return np.log(probs)[np.arange(n), result["tags"][row, :n]], probs
        alpha, beta = result["alpha"][row, :n].astype(np.float64), result["beta"][row, :n].astype(np.float64)
        log_z = float(result["log_z"][row])
        return (alpha, beta, log_z, emissions, result["transitions"]), np.exp(alpha + beta - log_z)

    def _batches(self, sentences: list[list[str]], documents: Sequence[int] | None = None, scores: bool = True):
        """Yield (sentence indices, outputs) per batch: tags (B, T), emissions (B, T, K) and, with a CRF,
        alpha, beta (B, T, K), log_z (B,) and transitions (K, K). The numpy engine leaves out the CRF's
        forward-backward unless ``scores``. ``documents``: the document of each sentence (a model that reads
        documents sees each whole; default: each sentence its own)."""
        documents = np.arange(len(sentences)) if documents is None else np.asarray(documents, dtype=np.int64)
        if self.runtime is not None:
            rt = self.runtime
            if rt.reads_documents:
                plan = pack_documents(documents, self.batch_size)
            else:
                order = np.argsort([len(s) for s in sentences], kind="stable")
                plan = [order[start:start + self.batch_size] for start in range(0, len(order), self.batch_size)]
            for rows in plan:
                encoded = [encode_sentence(sentences[i], self.vocabs) for i in rows]
                inputs = pad_inputs(encoded, max(len(e.words) for e in encoded),
                                    max(packed_length(e, rt.char_gap) for e in encoded), rt.char_gap,
                                    documents[rows] if rt.reads_documents else None)
                lengths = np.array([len(e.words) for e in encoded])
                emissions = rt.emissions(inputs)
                result = {"tags": rt.decode(emissions, lengths), "emissions": emissions}
                if scores and rt.has_crf:
                    result["alpha"], result["beta"], result["log_z"] = rt.forward_backward(emissions, lengths)
                    result["transitions"] = rt.transitions
                yield rows, result
            return
        from ner.data.batching import TaggingBatches, batch_layout  # these import Keras: only its engine needs it
        from ner.model.network import ScoringModel

        if self._scorer is None:    # one compiled pass for tags and scores: scores come along
            self._scorer = ScoringModel(self.model, name="scorer")
        batches = TaggingBatches(sentences, self.vocabs, batch_size=self.batch_size, documents=documents,
                                 **batch_layout(self.model))
        crf = self.model.crf
        transitions = None if crf is None else np.asarray(crf.transition_scores()[1], dtype=np.float64)
        for b in range(len(batches)):
            result = {k: np.asarray(v) for k, v in self._scorer.predict_on_batch(batches[b]).items()}
            if transitions is not None:
                result["transitions"] = transitions
            yield batches.batch_indices(b), result

    @staticmethod
    def _span_probability(scores, tags: np.ndarray, start: int, end: int) -> float:
        if isinstance(scores, np.ndarray):  # softmax: product of token probabilities
            return float(np.exp(scores[start:end].sum()))
        alpha, beta, log_z, emissions, trans = scores
        path = alpha[start, tags[start]] + beta[end - 1, tags[end - 1]]
        for t in range(start + 1, end):
            path += trans[tags[t - 1], tags[t]] + emissions[t, tags[t]]
        return float(np.exp(min(0.0, path - log_z)))

    def tag_sentences(self, sentences: Iterable[Iterable[str]], scheme: str | None = None,
                      documents: Iterable[int] | None = None) -> list[list[str]]:
        """Tags of tokenized sentences, in ``scheme`` (default: the scheme of the training data). ``documents``:
        the document of each sentence (ints; default: each sentence its own), which a model with document context
        reads whole."""
        sentences = [_tokens(s, f"sentences[{n}]") for n, s in enumerate(_items(sentences, "sentences"))]
        if documents is not None:
            documents = _items(documents, "documents")
            if len(documents) != len(sentences):
                raise ValueError(f"documents: {len(documents)} for {len(sentences)} sentences (one per sentence)")
            for i, document in enumerate(documents):
                if isinstance(document, bool) or not isinstance(document, numbers.Integral):
                    raise TypeError(f"documents[{i}]: expected an int, got {type(document).__name__}")
                if not -2**63 <= document < 2**63:
                    raise ValueError(f"documents[{i}]: {document} is out of range (a 64-bit integer)")
        index = [i for i, s in enumerate(sentences) if len(s)]
        nonempty = [sentences[i] for i in index]
        tags: list[list[str]] = [[] for _ in sentences]
        for rows, result in self._batches(nonempty, None if documents is None else [documents[i] for i in index],
                                          scores=False):
            for row, j in enumerate(rows):
                ids = result["tags"][row, :len(nonempty[j])]
                tags[index[j]] = convert(self.vocabs.labels.decode(ids), self.scheme, scheme or self.data_scheme)
        return tags

    def tag_tokens(self, tokens: Iterable[str], scheme: str | None = None) -> list[str]:
        """Tags of one tokenized sentence, in ``scheme`` (default: the scheme of the training data)."""
        return self.tag_sentences([_tokens(tokens, "tokens")], scheme)[0]

    def tag_many(self, texts: Iterable[str], nbest: int | None = None) -> list[list[dict]]:
        """Entities of each text; all sentences of all texts are batched together. With ``nbest`` (CRF models):
        per text, its sentences, each ``{"start", "end", "analyses"}`` with the ``nbest`` most probable tag
        sequences best first, each ``{"probability", "entities"}`` (fewer when the sentence has fewer)."""
        texts = _items(texts, "texts")
        sentences: list[list[Token]] = []
        owner: list[int] = []
        for n, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"texts[{n}]: expected str, got {type(text).__name__}")
            for sentence in tokenize_text(text):
                if sentence:
                    sentences.append(sentence)
                    owner.append(n)
        if nbest is not None:
            return [[{"start": s["start"], "end": s["end"], "analyses": s["nbest"]} for s in text]
                    for text in self.analyse(texts, nbest=nbest)]
        results: list[list[dict]] = [[] for _ in texts]
        if not sentences:
            return results
        predictions = self._predict([[t.text for t in s] for s in sentences], owner)   # a text is a document
        for sentence, n, (ids, scores) in zip(sentences, owner, predictions):
            results[n] += self._entities(texts[n], sentence, ids, scores)
        return results

    def _entities(self, text: str, sentence: list[Token], ids: np.ndarray, scores: object = None) -> list[dict]:
        """The entities of tag ids (T,) over the tokens of ``sentence`` in ``text``; each with its probability
        when ``scores`` (from :meth:`_predict`) are given."""
        found = []
        for span in to_spans(self.vocabs.labels.decode(ids), self.scheme):
            start, end = sentence[span.start].start, sentence[span.end - 1].end
            entity = {"text": text[start:end], "label": span.label, "start": start, "end": end}
            if scores is not None:
                entity["score"] = self._span_probability(scores, ids, span.start, span.end)
            found.append(entity)
        return found

    def analyse(self, texts: Sequence[str], tokens: bool = False, marginals: bool = False,
                nbest: int | None = None) -> list[list[dict]]:
        """Everything one decoding pass gives, per text and sentence: ``{"start", "end", "entities"}`` (with
        scores), and as asked ``"tokens"`` ([{"text", "start", "end", "tag"}], tags in the scheme of the training
        data, as :meth:`tag_sentences` gives them),
        ``"marginals"`` (per token {label: probability}: CRF marginals or softmax) and ``"nbest"`` (the k most
        probable analyses, as :meth:`tag_many` gives them; CRF models)."""
        if nbest is not None and (isinstance(nbest, bool) or not isinstance(nbest, int) or nbest < 1):
            raise NerError(f"nbest: expected a whole number of analyses >= 1, got {nbest!r}")
        if nbest is not None and not self.has_crf:
            raise NerError(f"{self.bundle.path}: n-best analyses need a CRF head (this model has softmax)")
        sentences, owner = [], []
        for n, text in enumerate(texts):
            for sentence in tokenize_text(text):
                if sentence:
                    sentences.append(sentence)
                    owner.append(n)
        words = [[t.text for t in s] for s in sentences]
        details: list = [None] * len(sentences)
        labels = self.labels
        crf_scores = self._crf_scores() if nbest is not None else None
        for rows, result in self._batches(words, owner):   # a text is a document
            lengths = np.array([len(words[i]) for i in rows])
            paths = None
            if nbest is not None:
                paths, path_scores = nbest_paths(result["emissions"].astype(np.float64), lengths, *crf_scores, nbest)
            for row, i in enumerate(rows):
                n, text, sentence = lengths[row], texts[owner[i]], sentences[i]
                ids = result["tags"][row, :n]
                scores, probs = self._scores(result, row, n)
                out = {"start": sentence[0].start, "end": sentence[-1].end,
                       "entities": self._entities(text, sentence, ids, scores)}
                if tokens:
                    tags = convert(self.vocabs.labels.decode(ids), self.scheme, self.data_scheme)
                    out["tokens"] = [{"text": t.text, "start": t.start, "end": t.end, "tag": tag}
                                     for t, tag in zip(sentence, tags)]
                if marginals:
                    out["marginals"] = [{label: float(p) for label, p in zip(labels, token)} for token in probs]
                if paths is not None:
                    log_z = float(result["log_z"][row])
                    probability = np.exp(np.minimum(0.0, path_scores[row] - log_z))   # 0: no path, or a forbidden one
                    out["nbest"] = [{"probability": float(probability[j]),
                                     "entities": self._entities(text, sentence, paths[row, j, :n])}
                                    for j in range(nbest) if probability[j] > 0]
                details[i] = out
        per_text: list[list[dict]] = [[] for _ in texts]
        for i, out in enumerate(details):
            per_text[owner[i]].append(out)
        return per_text

    @property
    def has_crf(self) -> bool:
        """Whether the model has a CRF head."""
        return self.runtime.has_crf if self.runtime is not None else self.model.crf is not None

    def _crf_scores(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """start (K,), transitions (K, K), end (K,) in use, float64 (CRF models)."""
        if self.runtime is not None:
            return self.runtime.w["crf_start"], self.runtime.transitions, self.runtime.w["crf_end"]
        return tuple(np.asarray(s, dtype=np.float64) for s in self.model.crf.transition_scores())

    def tag(self, text: str, nbest: int | None = None) -> list[dict]:
        """Entities of one text (split into sentences first); with ``nbest``, its sentences' k best analyses
        (:meth:`tag_many`)."""
        return self.tag_many([text], nbest)[0]
