"""Document context (``--context``): the pooling layer against per-token loops, the document inputs and batches,
both engines, and a generated task that only a model reading the rest of the document can solve."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ner.data.arrays import encode_sentence, pack_documents, pad_inputs, word_key
from ner.data.vocab import build_vocabularies
from ner.errors import NerError

from helpers import cli, one_line_error


def brute_force(mode, states, mask, doc, keys):
    """Per token, by loops: the state, then the mean over the other occurrences of its (document, word) and
    whether there are any ("document"), or the mean over every token of its document ("document-mean")."""
    batch, steps, dim = states.shape
    out = []
    for b in range(batch):
        row = []
        for t in range(steps):
            if mode == "document-mean":
                pool = [states[c, s] for c in range(batch) if doc[c] == doc[b] for s in range(steps) if mask[c, s]]
                row.append(np.concatenate([states[b, t], np.mean(pool, axis=0) if pool else np.zeros(dim)]))
                continue
            pool = [states[c, s] for c in range(batch) for s in range(steps)
                    if mask[b, t] and mask[c, s] and (c, s) != (b, t) and keys[c, s] == keys[b, t]]
            row.append(np.concatenate([states[b, t], np.mean(pool, axis=0) if pool else np.zeros(dim),
                                       [1.0 if pool else 0.0]]))
        out.append(row)
    return np.array(out)


def inputs_for(sentences, documents):
    vocabs = build_vocabularies(sentences, [["O"] * len(s) for s in sentences])
    encoded = [encode_sentence(s, vocabs) for s in sentences]
    return pad_inputs(encoded, max(map(len, sentences)) + 1, 64, 1, documents)


SENTENCES = [["Paris", "is", "in", "France"], ["paris", "again"], ["Paris", "Paris", "x"], ["France"], ["is"]]
DOCUMENTS = [7, 7, 3, 7, 3]


def test_document_inputs_number_documents_and_words_within_the_batch():
    inputs = inputs_for(SENTENCES, DOCUMENTS)
    assert inputs["doc"].tolist() == [1, 1, 0, 1, 0]                       # 3 -> 0, 7 -> 1
    keys, words = inputs["keys"], inputs["words"]
    assert ((keys == 0) == (words == 0)).all()                              # 0 exactly at padding
    pairs = {}
    for b, sentence in enumerate(SENTENCES):
        for t, token in enumerate(sentence):
            pairs.setdefault((DOCUMENTS[b], token.lower()), set()).add(int(keys[b, t]))
    assert all(len(v) == 1 for v in pairs.values())                         # one number per (document, word)
    assert len({next(iter(v)) for v in pairs.values()}) == len(pairs)       # different pairs, different numbers
    assert keys.max() <= keys.size                                          # within the layer's segment count
    assert "doc" not in inputs_for(SENTENCES, None)


def test_word_key_ignores_case_and_the_vocabulary():
    assert word_key("Paris") == word_key("PARIS") == word_key("paris") != word_key("Pariss")


@pytest.mark.parametrize("documents, size, expected", [
    ([0, 0, 1, 1, 1, 2], 3, [[0, 1], [2, 3, 4], [5]]),
    ([5, 5, 5, 5, 1], 2, [[0, 1, 2, 3], [4]]),          # a longer document is a batch of its own
    ([1, 2, 1, 2], 4, [[0, 2, 1, 3]]),                  # a document's sentences together, in their order
    ([], 4, []),
])
def test_pack_documents_keeps_documents_whole(documents, size, expected):
    assert [b.tolist() for b in pack_documents(documents, size)] == expected


@pytest.mark.parametrize("mode", ["document", "document-mean"])
def test_layer_equals_loops_and_the_numpy_runtime(mode):
    from ner.inference.runtime import _document_context
    from ner.layers.document_context import DocumentContext

    inputs = inputs_for(SENTENCES, DOCUMENTS)
    mask = inputs["words"] != 0
    states = np.random.default_rng(0).normal(size=(*mask.shape, 3)).astype(np.float32) * mask[..., None]
    expected = brute_force(mode, states, mask, inputs["doc"], inputs["keys"])
    layer = np.asarray(DocumentContext(mode)(states, mask, inputs["doc"], inputs["keys"]))
    np.testing.assert_allclose(layer, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_document_context(mode, states, mask, inputs["doc"], inputs["keys"]), expected,
                               rtol=1e-5, atol=1e-6)


def test_unknown_context_is_refused(capsys, tmp_path):
    from ner.model.network import resolve_config

    with pytest.raises(NerError, match="context: unknown choice 'paragraph'"):
        resolve_config({"context": "paragraph"})
    line = one_line_error(capsys, ["train", "--data", "data/sample", "--out", tmp_path / "m", "--context", "paragraph"])
    assert "--context: unknown choice 'paragraph' (choose from sentence, document, document-mean)" in line
    assert not (tmp_path / "m").exists()


def test_batches_follow_documents():
    from ner.data.batching import TaggingBatches

    sentences = [[f"w{i}"] * (1 + i % 5) for i in range(40)]
    documents = [i // 7 for i in range(40)]          # documents of 7 sentences (the last of 5)
    vocabs = build_vocabularies(sentences, [["O"] * len(s) for s in sentences])
    whole = TaggingBatches(sentences, vocabs, batch_size=10, context=True, documents=documents)
    for i in range(len(whole)):
        rows = whole.batch_indices(i).tolist()
        assert {documents[r] for r in rows} == {d for d in range(6) if documents.index(d) in rows}
        assert whole[i]["doc"].shape == (len(rows),)
    shuffled = TaggingBatches(sentences, vocabs, batch_size=10, context=True, documents=documents, shuffle=True,
                              seed=3)
    rows = np.concatenate([shuffled.batch_indices(i) for i in range(len(shuffled))])
    assert sorted(rows.tolist()) == list(range(40))
    runs = [documents[r] for r in rows]
    assert len([d for j, d in enumerate(runs) if j == 0 or d != runs[j - 1]]) == 6   # each document one run
    assert "doc" not in TaggingBatches(sentences, vocabs, batch_size=10, documents=documents)[0]
    alone = TaggingBatches(sentences, vocabs, batch_size=10, context=True)[0]   # no documents: each sentence one
    assert sorted(alone["doc"].tolist()) == list(range(len(alone["doc"])))
    with pytest.raises(NerError, match="40 token sentences but 3 documents"):
        TaggingBatches(sentences, vocabs, context=True, documents=[0, 1, 2])


def write_cue_corpus(folder, seed=0):
    """Documents of two sentences: the first names X after a cue ("mister" -> PER, "town" -> LOC), the second
    starts with X and has no cue. X's type is drawn per document, so only the first sentence tells the second."""
    rng = np.random.default_rng(seed)
    names = [f"Zor{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(60)]
    fillers = ["the", "said", "went", "then", "again", "today", "and", "was"]
    folder.mkdir()
    for split, n in (("train", 400), ("dev", 60), ("test", 60)):
        lines = []
        for _ in range(n):
            name, per = names[rng.integers(len(names))], bool(rng.integers(2))
            label = "PER" if per else "LOC"
            lines += ["-DOCSTART- O", ""]
            first = [(f, "O") for f in rng.choice(fillers, 2)] + [("mister" if per else "town", "O"),
                                                                  (name, f"B-{label}"), (".", "O")]
            second = [(name, f"B-{label}")] + [(f, "O") for f in rng.choice(fillers, 3)] + [(".", "O")]
            for sentence in (first, second):
                lines += [f"{w} {t}" for w, t in sentence] + [""]
        (folder / f"{split}.txt").write_text("\n".join(lines), encoding="utf-8")


@pytest.mark.slow
def test_document_context_reads_the_cue_of_another_sentence(tmp_path, capsys):
    import ner
    from ner.data.corpus import load_corpus
    from ner.inference.tagger import Tagger

    write_cue_corpus(tmp_path / "cue")
    out = tmp_path / "model"
    ner.train(data=str(tmp_path / "cue"), out=str(out), encoder="bilstm", context="document", epochs=25,
              patience=0, hidden=16, word_dim=16, casing_dim=0, lr=0.01, verbose=0, seed=1)
    test = load_corpus(str(tmp_path / "cue"))["test"]
    tokens, gold, documents = list(test["tokens"]), list(test["tags"]), list(test["document"])
    second = range(1, len(tokens), 2)     # the sentences without a cue
    for engine in ("numpy", "keras"):
        tagger = Tagger.load(out, engine=engine)
        with_documents = tagger.tag_sentences(tokens, documents=documents)
        alone = tagger.tag_sentences(tokens)
        right = np.mean([with_documents[i][0] == gold[i][0] for i in second])
        assert right >= 0.9, (engine, right)                        # a sentence alone says nothing: chance 0.5
        assert np.mean([alone[i][0] == gold[i][0] for i in second]) < 0.8
        texts = [" ".join(tokens[i - 1]) + " " + " ".join(tokens[i]) for i in second]   # a text is a document
        found = [[(e["text"], e["label"]) for e in entities] for entities in tagger.tag_many(texts)]
        assert np.mean([f == [(tokens[i][0], gold[i][0][2:])] * 2 for f, i in zip(found, second)]) >= 0.9
    assert json.loads((out / "config.json").read_text())["context"] == "document"
    code, printed, _ = cli(capsys, "tag", out, "--input", tmp_path / "cue" / "test.txt", "--input-format", "conll")
    assert code == 0
    tagged = [[line.split("\t")[1] for line in block.splitlines()] for block in printed.strip().split("\n\n")
              if not block.startswith("-DOCSTART-")]
    assert tagged == Tagger.load(out).tag_sentences(tokens, documents=documents)   # ner tag reads documents too
    code, printed, _ = cli(capsys, "info", out)
    assert "context:    document" in printed
    pair = ner.ensemble([out, out], out=tmp_path / "pair", data=str(tmp_path / "cue"), verbose=0)
    metrics = json.loads((pair / "metrics.json").read_text())       # scored with the documents, as the member
    assert metrics["test"]["f1"] == pytest.approx(json.loads((out / "metrics.json").read_text())["test"]["f1"])
    assert ner.evaluate(out, str(tmp_path / "cue"), engine="numpy")["f1"] >= 0.9


@pytest.mark.slow
def test_compare_judges_a_document_row_against_its_encoder(tmp_path):
    import ner
    from ner.comparison.grid import plan_bundles

    write_cue_corpus(tmp_path / "cue")
    path = ner.compare(data=str(tmp_path / "cue"), encoders="bilstm,bilstm+document", heads="crf", seeds=1,
                       epochs=25, out=str(tmp_path / "out"), hidden=16, word_dim=16, casing_dim=0, lr=0.01,
                       patience=0, resamples=200, quiet=True)
    report = json.loads((path.parent / "report.json").read_text())
    runs = {r["name"]: r for r in report["runs"]}
    assert set(runs) == {"bilstm-crf-s1", "bilstm+document-crf-s1"}
    config = json.loads((tmp_path / "out/runs/bilstm+document-crf-s1/model/config.json").read_text())
    assert (config["encoder"], config["context"]) == ("bilstm", "document")
    claim = next(v for v in report["verdicts"] if v["id"] == "f")
    check = claim["parts"][0]["checks"][0]                          # the second sentences need the first
    assert check["text"].startswith("crf: bilstm+document − bilstm") and check["interval"][0] > 0.1, check
    assert claim["verdict"] == "inconclusive" and "one seed" in check["text"]   # supported needs --seeds 3
    named = plan_bundles(tmp_path / "again", [tmp_path / "out/runs/bilstm+document-crf-s1/model"])
    assert named[0].name == "bilstm+document-crf-s1"                 # compare --from names it the same way
