"""Numpy inference for saved taggers: tagging without importing Keras or TensorFlow.

A bundle's ``weights.npz`` (written by :func:`ner.model.arrays.export_arrays` next to ``model.keras``) lets
:class:`NumpyModel` compute the same emissions, Viterbi paths and forward-backward scores with numpy, so
``ner tag`` never waits for a deep-learning framework to import (README gives the start-up times). Covered:
every encoder the registry builds from Keras' SimpleRNN / LSTM / GRU (one or both directions),
``FusedLSTM`` and ``MaskedConv1D`` layers, the char CNN, casing and word embeddings, both heads.
Bundles with anything else have no ``weights.npz`` and are run by Keras.

Shapes: B sentences, T steps, L packed characters per sentence, K tags; inputs as built by
``ner.data.arrays.pad_inputs`` (0 = padding). Encoder maths in float32 like the Keras model, CRF
maths in float64.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from ner.bundle import WEIGHTS, check_parts, load_bundle
from ner.data.arrays import char_gap
from ner.data.vocab import Vocabularies
from ner.errors import NerError


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _logsumexp(x, axis):
    top = np.max(x, axis=axis, keepdims=True)
    return np.squeeze(top, axis) + np.log(np.sum(np.exp(x - top), axis=axis))


def _reverse_within(x, lengths):
    """(B, T, ...) with each row reversed inside its length (padding stays at the end)."""
    t = np.arange(x.shape[1])[None, :]
    index = np.where(t < lengths[:, None], lengths[:, None] - 1 - t, t)
    return x[np.arange(x.shape[0])[:, None], index]


def _same_conv(x, kernel, bias):
    """Conv1D with "same" padding: x (N, L, D), kernel (k, D, F) -> (N, L, F) before activation."""
    k = kernel.shape[0]
    left = (k - 1) // 2
    padded = np.pad(x, ((0, 0), (left, k - 1 - left), (0, 0)))
    return sum(padded[:, i:i + x.shape[1]] @ kernel[i] for i in range(k)) + bias


def _document_context(mode: str, states, mask, doc, keys):
    """``ner.layers.document_context.DocumentContext``: states (B, T, D), mask (B, T), doc (B,), keys (B, T) ->
    (B, T, 2D + 1) ("document") or (B, T, 2D) ("document-mean")."""
    real = mask[..., None].astype(np.float32)                                            # (B, T, 1)
    kept = states * real
    if mode == "document-mean":
        sums, counts = np.zeros((len(doc), states.shape[-1]), np.float32), np.zeros((len(doc), 1), np.float32)
        np.add.at(sums, doc, kept.sum(axis=1))
        np.add.at(counts, doc, real.sum(axis=1))
        mean = sums[doc] / np.maximum(counts[doc], 1.0)                                  # (B, D)
        return np.concatenate([states, np.broadcast_to(mean[:, None], states.shape)], axis=-1)
    groups = int(keys.max()) + 1
    sums, counts = np.zeros((groups, states.shape[-1]), np.float32), np.zeros((groups, 1), np.float32)
    np.add.at(sums, keys.ravel(), kept.reshape(-1, states.shape[-1]))
    np.add.at(counts, keys.ravel(), real.reshape(-1, 1))
    others = (counts[keys] - real) * real                                                # (B, T, 1)
    pooled = (sums[keys] - kept) / np.maximum(others, 1.0)
    return np.concatenate([states, pooled, (others > 0).astype(np.float32)], axis=-1)


def nbest_paths(emissions: np.ndarray, lengths: np.ndarray, start: np.ndarray, transitions: np.ndarray,
                end: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best tag paths of a linear-chain CRF by k-best Viterbi, best first: emissions (B, T, K), lengths (B,),
    start (K,), transitions (K, K) [from, to], end (K,) -> tags (B, k, T) int (0 at padding) and path scores
    (B, k) float64 (a path's score; minus log Z, its log-probability). A sentence with fewer than k paths
    (K ** length < k) has score -inf and all-zero tags in the rest; ties in any order."""
    batch, steps, tags = emissions.shape
    wanted, k = k, min(k, tags ** min(steps, 20))                    # no more ranks than there are paths
    score = np.full((batch, tags, k), -np.inf)                       # best k partial paths ending in each tag
    score[:, :, 0] = start + emissions[:, 0]
    back = np.zeros((batch, steps, tags, k), dtype=np.int32)         # flat (previous tag * k + rank)
    for t in range(1, steps):
        cand = (score[:, :, :, None] + transitions[None, :, None, :])                  # (B, K_from, k, K_to)
        cand = cand.transpose(0, 3, 1, 2).reshape(batch, tags, tags * k)               # (B, K_to, K_from * k)
        order = np.argsort(-cand, axis=-1, kind="stable")[:, :, :k]                    # (B, K_to, k)
        best = np.take_along_axis(cand, order, axis=-1) + emissions[:, t, :, None]
        live = (t < lengths)[:, None, None]
        score = np.where(live, best, score)
        back[:, t] = order
    final = (score + end[None, :, None]).reshape(batch, tags * k)
    ranked = np.argsort(-final, axis=-1, kind="stable")[:, :k]                         # (B, k) flat tag * k + rank
    scores = np.take_along_axis(final, ranked, axis=-1)
    paths = np.zeros((batch, k, steps), dtype=np.int64)
    for row in range(batch):
        for j in range(k):
            if scores[row, j] == -np.inf:
                continue
            flat = ranked[row, j]
            for t in range(lengths[row] - 1, -1, -1):
                paths[row, j, t] = flat // k
                flat = back[row, t, flat // k, flat % k]
    missing = wanted - k
    return (np.pad(paths, ((0, 0), (0, missing), (0, 0))),
            np.pad(scores, ((0, 0), (0, missing)), constant_values=-np.inf))


class NumpyModel:
    """A saved tagger run with numpy; see the module docstring."""

    def __init__(self, arrays: dict[str, np.ndarray]):
        self.w = {k: np.asarray(v, dtype=np.float64 if k.startswith("crf") else np.float32)
                  for k, v in arrays.items() if k != "layout" and "/" not in k}
        self.layout = json.loads(str(arrays["layout"]))
        # an ensemble (ner.model.ensemble): its members' models; emissions averaged, the CRF scores are its own
        self.members = [NumpyModel({**{k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith(f"member{i}/")},
                                    "layout": np.array(json.dumps(layout))})
                        for i, layout in enumerate(self.layout.get("members", []))]

    @classmethod
    def load(cls, bundle: str | Path, vocabs: Vocabularies | None = None, config: dict | None = None) -> "NumpyModel":
        """The model of ``bundle/weights.npz``; a corrupt file raises NerError naming it (a file-system error
        stays an OSError), and so do weights that do not fit the bundle's ``vocabs`` and ``config`` (read from
        its vocab.json and config.json when not given)."""
        path = Path(bundle) / WEIGHTS
        try:
            with np.load(path) as data:
                model = cls({k: data[k] for k in data.files})
                facts = model.facts()
        except (ValueError, KeyError, TypeError, AttributeError, EOFError, zipfile.BadZipFile):
            raise NerError(f"{path}: corrupt weights file (not a readable .npz archive); --engine keras tags "
                           "with model.keras instead") from None
        if vocabs is None or config is None:
            parts = load_bundle(bundle, model=False)
            vocabs, config = parts.vocabs, parts.config
        check_parts(bundle, WEIGHTS, facts, vocabs, config)
        return model

    def facts(self) -> dict:
        """What the weights show of the model, for ``ner.bundle.check_parts``: word and char table rows,
        label count, and the settings word_dim, crf, casing_dim, char_cnn (and layers, hidden of a recurrent
        encoder). Raises KeyError or ValueError for arrays missing or of the wrong rank."""
        if self.members:
            first = self.members[0].facts()
            facts = {"words": first["words"], "labels": first["labels"], "crf": self.layout["crf"]}
            chars = {m["chars"] for m in (member.facts() for member in self.members) if "chars" in m}
            return {**facts, "chars": chars.pop()} if len(chars) == 1 else facts
        w, layout = self.w, self.layout
        words, word_dim = w["word_embedding"].shape
        _, labels = w["emission_kernel"].shape
        facts = {"words": words, "word_dim": word_dim, "labels": labels, "crf": layout["crf"],
                 "char_cnn": layout["char_cnn"], "casing_dim": 0}
        if layout["casing"]:
            _, facts["casing_dim"] = w["casing_embedding"].shape
        if layout["char_cnn"]:
            facts["chars"], _ = w["char_embedding"].shape
        recurrent = [i for i, layer in enumerate(layout["encoder"]) if layer["kind"] != "conv"]
        if recurrent:
            facts["layers"] = len(recurrent)
            facts["hidden"], _ = w[f"encoder{recurrent[0]}_0_recurrent"].shape
        return facts

    @property
    def has_crf(self) -> bool:
        return self.layout["crf"]

    @property
    def transitions(self) -> np.ndarray:
        """(K, K) transition scores with the constraint penalties (CRF head only)."""
        return self.w["crf_transitions"]

    def emissions(self, inputs: dict) -> np.ndarray:
        """Emission scores (B, T, K) for inputs {"words" (B, T), "chars" (B, L), "casing" (B, T)}."""
        if self.members:   # the members' mean emissions (CRF) or log mean softmax probabilities
            each = np.stack([member.emissions(inputs) for member in self.members])                  # (M, B, T, K)
            if self.has_crf:
                return each.mean(axis=0)
            probs = np.exp(each - each.max(axis=-1, keepdims=True))
            return np.log(np.maximum((probs / probs.sum(axis=-1, keepdims=True)).mean(axis=0), 1e-30))
        w = self.w
        words = np.asarray(inputs["words"])
        mask = words != 0
        lengths = mask.sum(axis=1)
        parts = [w["word_embedding"][words]]
        if self.layout["casing"]:
            parts.append(w["casing_embedding"][np.asarray(inputs["casing"])])
        if self.layout["char_cnn"]:
            parts.append(self._char_cnn(np.asarray(inputs["chars"]), mask))
        x = np.concatenate(parts, axis=-1)
        for i, layer in enumerate(self.layout["encoder"]):
            if layer["kind"] == "conv":
                x = np.maximum(_same_conv(x * mask[..., None], w[f"encoder{i}_kernel"], w[f"encoder{i}_bias"]), 0)
                continue
            outs = []
            for d in range(layer["directions"]):
                xs = _reverse_within(x, lengths) if d else x
                h = self._recurrence(layer["kind"], xs, lengths, *(w[f"encoder{i}_{d}_{n}"]
                                                                     for n in ("kernel", "recurrent", "bias")))
                outs.append(_reverse_within(h, lengths) if d else h)
            x = np.concatenate(outs, axis=-1)
        if self.layout.get("context", "sentence") != "sentence":
            x = _document_context(self.layout["context"], x, mask, np.asarray(inputs["doc"]),
                                  np.asarray(inputs["keys"]))
        return (x @ w["emission_kernel"] + w["emission_bias"]).astype(np.float64)

    @property
    def reads_documents(self) -> bool:
        """Whether the model (or a member) takes the document inputs ``doc`` and ``keys``."""
        if self.members:
            return any(member.reads_documents for member in self.members)
        return self.layout.get("context", "sentence") != "sentence"

    @property
    def char_gap(self) -> int:
        """Zeros between the packed words of the ``chars`` input that the char CNN needs (1 without one)."""
        if self.members:
            return max(member.char_gap for member in self.members)
        return char_gap(self.w["char_kernel"].shape[0]) if self.layout["char_cnn"] else 1

    def _char_cnn(self, chars, mask):
        """Packed char ids (B, L), word mask (B, T) -> (B, T, F): embeddings (padding zeroed), conv, tanh,
        max over the characters of each word (its run of non-zero ids); 0 for padded words."""
        present = chars != 0
        x = self.w["char_embedding"][chars] * present[..., None]
        x = np.tanh(_same_conv(x, self.w["char_kernel"], self.w["char_bias"]))
        starts = present & ~np.pad(present[:, :-1], ((0, 0), (1, 0)))
        batch, steps = mask.shape
        segment = (np.arange(batch)[:, None] * steps + np.cumsum(starts, axis=1) - 1)[present]  # non-decreasing
        best = np.zeros((batch * steps, x.shape[-1]), np.float32)
        if segment.size:
            first = np.flatnonzero(np.r_[True, segment[1:] != segment[:-1]])
            best[segment[first]] = np.maximum.reduceat(x[present], first, axis=0)
        return np.where(mask[..., None], best.reshape(batch, steps, -1), 0.0)

    @staticmethod
    def _recurrence(kind, x, lengths, kernel, recurrent, bias):
        """One direction over right-padded x (B, T, D) -> (B, T, H), 0 at padding (Keras' gate orders)."""
        batch, steps = x.shape[:2]
        units = recurrent.shape[0]
        z = x @ kernel + (bias[0] if kind == "gru" else bias)
        h, c = np.zeros((batch, units), np.float32), np.zeros((batch, units), np.float32)
        out = np.zeros((batch, steps, units), np.float32)
        for t in range(steps):
            r = h @ recurrent
            if kind == "lstm":
                g = z[:, t] + r
                c_new = (_sigmoid(g[:, units:2 * units]) * c
                         + _sigmoid(g[:, :units]) * np.tanh(g[:, 2 * units:3 * units]))
                h_new = _sigmoid(g[:, 3 * units:]) * np.tanh(c_new)
            elif kind == "gru":
                r = r + bias[1]
                update = _sigmoid(z[:, t, :units] + r[:, :units])
                reset = _sigmoid(z[:, t, units:2 * units] + r[:, units:2 * units])
                h_new = update * h + (1 - update) * np.tanh(z[:, t, 2 * units:] + reset * r[:, 2 * units:])
                c_new = c
            else:
                h_new, c_new = np.tanh(z[:, t] + r), c
            live = (t < lengths)[:, None]
            h, c = np.where(live, h_new, h), np.where(live, c_new, c)
            out[:, t] = np.where(live, h_new, 0.0)
        return out

    def decode(self, emissions: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Best tag ids (B, T), 0 at padding: Viterbi (first best index on ties) or argmax."""
        steps = emissions.shape[1]
        live = np.arange(steps)[None, :] < lengths[:, None]
        if not self.has_crf:
            return np.where(live, emissions.argmax(axis=-1), 0)
        trans = self.transitions
        score = self.w["crf_start"] + emissions[:, 0]
        back = np.zeros(emissions.shape, dtype=np.int64)
        for t in range(1, steps):
            cand = score[:, :, None] + trans
            back[:, t] = cand.argmax(axis=1)
            score = np.where(live[:, t, None], cand.max(axis=1) + emissions[:, t], score)
        tags = np.zeros(live.shape, dtype=np.int64)
        best = (score + self.w["crf_end"]).argmax(axis=-1)
        for row, n in enumerate(lengths):
            tag = best[row]
            for t in range(n - 1, -1, -1):
                tags[row, t] = tag
                tag = back[row, t, tag]
        return tags

    def nbest(self, emissions: np.ndarray, lengths: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k best tag paths (B, k, T) and their scores (B, k) (:func:`nbest_paths`; CRF head only)."""
        return nbest_paths(emissions, lengths, self.w["crf_start"], self.transitions, self.w["crf_end"], k)

    def forward_backward(self, emissions: np.ndarray, lengths: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """alpha (B, T, K), beta (B, T, K), log Z (B,) as ``CRF.forward_backward`` at real steps."""
        trans, end = self.transitions, self.w["crf_end"]
        batch, steps, _ = emissions.shape
        alpha = np.zeros(emissions.shape)
        alpha[:, 0] = self.w["crf_start"] + emissions[:, 0]
        for t in range(1, steps):
            alpha[:, t] = _logsumexp(alpha[:, t - 1, :, None] + trans, axis=1) + emissions[:, t]
        beta = np.broadcast_to(end, emissions.shape).copy()
        for t in range(steps - 2, -1, -1):
            inner = _logsumexp(trans[None] + (emissions[:, t + 1] + beta[:, t + 1])[:, None, :], axis=2)
            beta[:, t] = np.where((t + 1 < lengths)[:, None], inner, end)
        log_z = _logsumexp(alpha[np.arange(batch), lengths - 1] + end, axis=-1)
        return alpha, beta, log_z
