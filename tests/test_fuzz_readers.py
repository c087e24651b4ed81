"""Property-based fuzzing of every reader: any bytes, and near-valid inputs with random corruption, give a
parsed result or our one-line NerError naming the file, never another exception.

Every reader or input format added later joins this file (a strategy for its bytes and one for near-valid
input). Hypothesis runs derandomized, without deadline (a deadline is a wall-clock test) and without an
example database, so every run tries the same examples.
"""

from __future__ import annotations

import codecs
import gzip
import json
import re
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ner.bundle import REQUIRED, describe, load_bundle, read_meta
from ner.data.conll import read_conll
from ner.data.corpus import load_corpus, read_sentences
from ner.data.embeddings import load_vectors
from ner.data.vocab import Vocabularies
from ner.errors import NerError


def fuzz(examples: int):
    return settings(max_examples=examples, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def parsed_or_ours(read, where, *args, **kwargs):
    """``read(*args, **kwargs)``, or None when it raised our NerError: one line naming ``where``."""
    try:
        return read(*args, **kwargs)
    except NerError as exc:
        text = str(exc)
        assert "\n" not in text and str(where) in text, text
        return None


# ---------------------------------------------------------------- strategies

TAGS = ["O", "B-PER", "I-PER", "E-PER", "S-LOC", "M-LOC", "L-ORG", "U-ORG", "B-", "X-Y", "b-misc", "I-ORG",
        "-DOCSTART-", "B-A-B", "O-", "I-"]
ODD = ["", " ", "\t", "\r", "\n", "\x00", "\ufeff", "\u00a0", "\u2028", "\x85", "\x1c", "\ud800", "é", "北京",
       "-DOCSTART-", "\\", '"', "1e999", "NaN", "²"]
word = st.text(st.characters(blacklist_categories=("Zs", "Zl", "Zp", "Cc", "Cs")), min_size=1, max_size=6)
token = st.one_of(st.sampled_from(["EU", "rejects", "German", "call", ".", "Peter", "北京", "3.5"]), word,
                  st.text(min_size=1, max_size=6))
tag = st.one_of(st.sampled_from(TAGS), st.sampled_from(TAGS), word, st.text(max_size=5))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6) | st.sampled_from(ODD),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12)


@st.composite
def corrupted(draw, text: str | bytes) -> bytes:
    """``text`` (as UTF-8) with a few random edits: bytes inserted, a slice dropped or repeated."""
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(data)))
        edit = draw(st.sampled_from(["insert", "drop", "repeat"]))
        if edit == "insert":
            data = data[:at] + draw(st.sampled_from([s.encode("utf-8", "surrogatepass") for s in ODD])
                                    | st.binary(max_size=3)) + data[at:]
        else:
            end = draw(st.integers(at, min(len(data), at + 12)))
            data = data[:at] + (data[at:end] * 2 if edit == "repeat" else b"") + data[end:]
    return data


@st.composite
def conll_text(draw) -> str:
    """Mostly valid CoNLL: sentences of token/tag lines, optional -DOCSTART- and extra columns."""
    sep = draw(st.sampled_from([" ", "\t", "  ", " \t"]))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    extra = draw(st.integers(0, 2))
    blocks = []
    if draw(st.booleans()):
        blocks.append(sep.join(["-DOCSTART-"] + ["-X-"] * extra + ["O"]))
    for sentence in draw(st.lists(st.lists(st.tuples(token, tag), min_size=1, max_size=5), max_size=4)):
        blocks.append(newline.join(sep.join([w] + ["x"] * extra + [t]) for w, t in sentence))
    return (newline * 2).join(blocks) + draw(st.sampled_from(["", newline, newline * 3, " "]))


conll_bytes = st.binary(max_size=200) | conll_text().flatmap(corrupted)


@st.composite
def json_record(draw):
    """A corpus row: usually an object with tokens/tags of matching length, sometimes broken."""
    n = draw(st.integers(0, 3))
    record = {"tokens": draw(st.lists(token, min_size=n, max_size=n)),
              "tags": draw(st.lists(st.sampled_from(TAGS[:8]), min_size=n, max_size=n))}
    for _ in range(draw(st.integers(0, 2))):
        key = draw(st.sampled_from(["tokens", "tags", "id", "tokens", "words", "ner_tags"]))
        if draw(st.booleans()):
            record.pop(key, None)
        else:
            record[key] = draw(json_values)
    return draw(st.sampled_from([record] * 4 + [[1, 2, 3], 5, ["a", "b"], None, "text"]))


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


# ---------------------------------------------------------------- CoNLL

@fuzz(300)
@given(data=conll_bytes, token_col=st.sampled_from([0, 0, 0, 1, -1, 3, -3]),
       tag_col=st.sampled_from([-1, -1, -1, None, 0, 1, 2, -2, 3]))
def test_read_conll(data, token_col, tag_col):
    with tempfile.TemporaryDirectory() as d:
        path = write(Path(d), "train.txt", data)
        sentences = parsed_or_ours(read_conll, path, path, token_col, tag_col)
        for s in sentences or []:
            assert s.tokens and len(s.lines) == len(s.tokens) and (s.tags is None or len(s.tags) == len(s.tokens))


@fuzz(150)
@given(data=conll_bytes, repair=st.booleans())
def test_load_conll_corpus(data, repair):
    with tempfile.TemporaryDirectory() as d:
        path = write(Path(d), "all.conll", data)
        corpus = parsed_or_ours(load_corpus, path, path, repair=repair)
        if corpus is not None:
            assert set(corpus) == {"train"} and all(len(r["tokens"]) == len(r["tags"]) for r in corpus["train"])


SPLIT_FILES = ["train.txt", "dev.txt", "valid.conll", "test", "TEST.bio", "Train.iob", "notes.md", ".hidden",
               "validation.tsv", "train.json", "test.jsonl", "dataset_dict.json"]


@fuzz(100)
@given(train=conll_text().flatmap(corrupted), files=st.dictionaries(st.sampled_from(SPLIT_FILES), conll_bytes,
                                                                   max_size=3))
def test_conll_folder(train, files):
    with tempfile.TemporaryDirectory() as d:
        for name, data in {"train.txt": train, **files}.items():
            write(Path(d), name, data)
        parsed_or_ours(read_sentences, d, d)
        parsed_or_ours(load_corpus, d, d)


# ---------------------------------------------------------------- invisible characters, BOMs, UTF-16

INVISIBLE = ["\u00a0", "\u2000", "\u3000", "\u2028", "\u2029", "\x00", "\x0b", "\x1c", "\x85", "\x7f", "\u200b",
             "\u200d", "\u2060", "\ufeff", "\u00ad", " ", "\t"]   # not CR: it ends a line
ENCODINGS = [("utf-8", b""), ("utf-8", codecs.BOM_UTF8), ("utf-16-le", codecs.BOM_UTF16_LE),
             ("utf-16-be", codecs.BOM_UTF16_BE), ("utf-32-le", codecs.BOM_UTF32_LE), ("utf-32-be", codecs.BOM_UTF32_BE)]
invisible_text = st.text(st.sampled_from(INVISIBLE), max_size=4)


def encoded(text: str, encoding: tuple[str, bytes]) -> bytes:
    return encoding[1] + text.encode(encoding[0], "surrogatepass")


@st.composite
def invisible_lines(draw, text: str) -> str:
    """``text`` with invisible characters added to each of its blank lines (it reads the same)."""
    parts = re.split(r"(\r\n|\r|\n)", text)   # lines and their ends
    return "".join(p + draw(invisible_text) if i % 2 == 0 and not p.strip(" \t") else p for i, p in enumerate(parts))


@st.composite
def invisible_conll(draw) -> bytes:
    """CoNLL text full of invisible characters (blank lines, separators, tokens), in any encoding with a BOM."""
    text = draw(conll_text())
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(INVISIBLE + ["\n", "\n\u200b\n", "\ufeff"])) + text[at:]
    return encoded(draw(invisible_lines(text)), draw(st.sampled_from(ENCODINGS)))


def outcome(read, path, *args):
    """``read(path, *args)`` as sentences' (tokens, tags, lines, document), or our one-line error message."""
    try:
        return [(s.tokens, s.tags, s.lines, s.document) for s in read(path, *args)]
    except NerError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)
        return str(exc)


@fuzz(200)
@given(text=conll_text(), encoding=st.sampled_from(ENCODINGS[2:]), data=st.data())
def test_conll_reads_the_same_in_any_encoding_and_with_invisible_blank_lines(text, encoding, data):
    with tempfile.TemporaryDirectory() as d:
        path = write(Path(d), "train.txt", encoded(text, ENCODINGS[1]))
        plain = outcome(read_conll, path)
        write(Path(d), "train.txt", encoded(text, encoding))
        assert outcome(read_conll, path) == plain
        write(Path(d), "train.txt", encoded(data.draw(invisible_lines(text)), encoding))
        if isinstance(plain, list):
            assert outcome(read_conll, path) == plain


@fuzz(200)
@given(data=invisible_conll() | invisible_conll().flatmap(corrupted)
       | st.builds(bytes.__add__, st.sampled_from([bom for _, bom in ENCODINGS]), st.binary(max_size=60)),
       tag_col=st.sampled_from([-1, -1, None, 1]))
def test_conll_with_invisible_characters_boms_and_utf16(data, tag_col):
    with tempfile.TemporaryDirectory() as d:
        path = write(Path(d), "train.txt", data)
        sentences = parsed_or_ours(read_conll, path, path, 0, tag_col)
        for s in sentences or []:
            assert s.tokens and len(s.lines) == len(s.tokens) and (s.tags is None or len(s.tags) == len(s.tokens))
        corpus = parsed_or_ours(load_corpus, path, path)
        if corpus is not None:
            assert all(len(r["tokens"]) == len(r["tags"]) and r["document"] >= 0 for r in corpus["train"])


# ---------------------------------------------------------------- JSON and JSON lines

def jsonl(records, blank: bool) -> bytes:
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    return ("\n\n" if blank else "\n").join(lines).encode("utf-8", "surrogatepass")


json_bytes = st.one_of(
    st.binary(max_size=150),
    st.builds(jsonl, st.lists(json_record(), max_size=4), st.booleans()),
    st.builds(jsonl, st.lists(json_record(), max_size=4), st.booleans()).flatmap(corrupted),
    st.builds(lambda v: json.dumps(v).encode(), json_values),
    st.builds(lambda rs, indent: json.dumps(rs, indent=indent).encode("utf-8", "surrogatepass"),
              st.lists(json_record(), max_size=4), st.none() | st.just(2)),
    st.builds(lambda rs, cut: json.dumps({"tokens": [r.get("tokens") if isinstance(r, dict) else r for r in rs],
                                          "tags": [r.get("tags") if isinstance(r, dict) else r for r in rs[cut:]]}
                                         ).encode("utf-8", "surrogatepass"),
              st.lists(json_record(), max_size=4), st.sampled_from([0, 0, 1])),
    st.sampled_from([b'{"tokens": ["\\ud800"], "tags": ["O"]}', b"[NaN, Infinity]"]),
)


@fuzz(300)
@given(data=json_bytes | st.builds(lambda r, blank, e: encoded(jsonl(r, blank).decode("utf-8", "surrogatepass"), e),
                                   st.lists(json_record(), max_size=4), st.booleans(), st.sampled_from(ENCODINGS)),
       name=st.sampled_from(["t.json", "t.jsonl", "train.JSON"]), repair=st.booleans())
def test_json_corpus(data, name, repair):
    with tempfile.TemporaryDirectory() as d:
        path = write(Path(d), name, data)
        corpus = parsed_or_ours(load_corpus, path, path, repair=repair)
        if corpus is not None:
            assert all(len(r["tokens"]) == len(r["tags"]) for r in corpus["train"])


# ---------------------------------------------------------------- parquet

def _arrow_column(draw):
    import pyarrow as pa

    kind = draw(st.sampled_from(["strings", "ints", "nulls", "flat", "nested", "binary", "large"]))
    n = draw(st.integers(0, 3))
    lists = st.lists(st.none() | st.sampled_from(TAGS[:6] + ["", "a b"]), max_size=3)
    if kind == "strings":
        return pa.array(draw(st.lists(st.none() | lists, min_size=n, max_size=n)), pa.list_(pa.string()))
    if kind == "ints":
        ids = st.lists(st.none() | st.integers(-3, 5), max_size=3)
        return pa.array(draw(st.lists(st.none() | ids, min_size=n, max_size=n)), pa.list_(pa.int64()))
    if kind == "nulls":
        return pa.nulls(n)
    if kind == "flat":
        return pa.array(draw(st.lists(st.none() | st.text(max_size=3), min_size=n, max_size=n)), pa.string())
    if kind == "nested":
        return pa.array(draw(st.lists(st.lists(lists, max_size=2), min_size=n, max_size=n)),
                        pa.list_(pa.list_(pa.string())))
    if kind == "binary":
        return pa.array(draw(st.lists(st.lists(st.binary(max_size=3), max_size=3), min_size=n, max_size=n)),
                        pa.list_(pa.binary()))
    return pa.array(draw(st.lists(lists, min_size=n, max_size=n)), pa.large_list(pa.large_string()))


@st.composite
def parquet_table(draw):
    import pyarrow as pa

    names = draw(st.sampled_from([["tokens", "tags"]] * 3 + [["tags", "tokens", "id"], ["tokens"], ["id", "tags"], [],
                                                            ["words", "tags", "labels"], ["words", "ner"]]))
    columns = {name: _arrow_column(draw) for name in names}
    lengths = {len(c) for c in columns.values()}
    if len(lengths) > 1:  # a table needs equally long columns: cut them to the shortest
        columns = {k: c.slice(0, min(lengths)) for k, c in columns.items()}
    table = pa.table(columns) if columns else pa.table({"x": pa.array([], pa.int64())})
    if draw(st.booleans()):  # ClassLabel names as `datasets` stores them, right or wrong
        names = draw(st.lists(st.sampled_from(TAGS[:6]), max_size=4))
        feature = draw(st.sampled_from([
            {"_type": "List", "feature": {"_type": "ClassLabel", "names": names}},
            {"_type": "Sequence", "feature": {"_type": "ClassLabel", "names": names}},
            {"_type": "Value", "dtype": "string"}, {"_type": "ClassLabel", "names": names}]))
        meta = {"info": {"features": {**{k: {"_type": "List", "feature": {"_type": "Value", "dtype": "string"}}
                                           for k in columns}, "tags": feature}}}
        table = table.replace_schema_metadata({"huggingface": json.dumps(meta)})
    return table


@fuzz(150)
@given(table=parquet_table(), garbage=st.none() | st.binary(max_size=64))
def test_parquet_corpus(table, garbage):
    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "t.parquet"
        if garbage is None:
            pq.write_table(table, path)
        else:
            path.write_bytes(garbage)
        corpus = parsed_or_ours(load_corpus, path, path)
        if corpus is not None:
            assert all(len(r["tokens"]) == len(r["tags"]) for r in corpus["train"])


# ---------------------------------------------------------------- datasets objects, columns detected

@st.composite
def hub_dataset(draw):
    """A Dataset or DatasetDict as hub NER sets come: candidate token/tag columns (sometimes none or two),
    ClassLabel ids, string tags or ids without names, extra columns, blank tokens, rows of unequal lengths."""
    import datasets

    columns = draw(st.sampled_from([["tokens", "ner_tags"], ["id", "words", "labels"], ["tokens", "tags", "ner"],
                                    ["words", "tokens", "tags"], ["tokens", "pos_tags"], ["id", "ner_tags"]]))
    kind = draw(st.sampled_from(["names", "strings", "ids"]))
    names = TAGS[:6]
    lengths = draw(st.lists(st.integers(0, 3), max_size=3))
    rows, features = {}, {}
    for column in columns:
        if column in ("tokens", "words"):
            words = token | st.sampled_from(["", " ", "\u00a0", "\u2028", "-DOCSTART-"])
            rows[column] = [draw(st.lists(words, min_size=n, max_size=n)) for n in lengths]
            features[column] = datasets.List(datasets.Value("string"))
        elif column == "id":
            rows[column], features[column] = [str(i) for i in range(len(lengths))], datasets.Value("string")
        else:
            item = st.sampled_from(TAGS) if kind == "strings" else st.integers(0, len(names) - 1)
            rows[column] = [draw(st.lists(item, min_size=n, max_size=n + draw(st.sampled_from([0, 0, 1]))))
                            for n in lengths]
            inner = {"names": datasets.ClassLabel(names=names), "strings": datasets.Value("string"),
                     "ids": datasets.Value("int64")}[kind]
            features[column] = datasets.List(inner)
    ds = datasets.Dataset.from_dict(rows, features=datasets.Features(features))
    shape = draw(st.sampled_from(["dataset", "dict", "no train"]))
    if shape == "dataset":
        return ds
    return datasets.DatasetDict({"train" if shape == "dict" else "test": ds, "validation": ds})


@fuzz(100)
@given(data=hub_dataset(), tags_column=st.sampled_from([None, None, None, "ner_tags", "nope"]))
def test_dataset_objects(data, tags_column):
    corpus = parsed_or_ours(load_corpus, "Dataset", data, tags_column=tags_column)
    for split in corpus or {}:
        assert all(len(r["tokens"]) == len(r["tags"]) and all(t.strip() for t in r["tokens"]) for r in corpus[split])


# ---------------------------------------------------------------- pretrained embeddings

WORDS = ["<pad>", "<unk>", "the", "eu", "EU", "north", "北京", "²"]


@st.composite
def vectors_text(draw) -> str:
    dim = draw(st.integers(1, 3))
    odd = st.sampled_from(["1", "-0", "1e3", "x", "", "²", "٣", "1_0"])
    value = st.one_of(*[st.floats(-10, 10, width=32).map(repr)] * 6, odd)
    lines = [" ".join([draw(st.sampled_from(WORDS[2:]) | token)] + draw(st.lists(value, min_size=dim,
                                                                                  max_size=dim)))
             for _ in range(draw(st.integers(0, 4)))]
    header = draw(st.sampled_from(["", f"{len(lines)} {dim}\n", "3 ²\n", "2 0\n", "1\n", "0 0 0\n"]))
    return header + draw(st.sampled_from(["\n", "\r\n", "\t\n"])).join(lines)


def read_vectors(name: str, data: bytes, **kwargs):
    """``load_vectors`` of ``data`` written as file ``name``: the vectors, checked for shape, or None when it
    raised our one-line error."""
    with tempfile.TemporaryDirectory() as d:
        path = write(Path(d), name, data)
        vectors = parsed_or_ours(load_vectors, path, path, WORDS, skip=2, **kwargs)
    if vectors is not None:
        assert vectors.vectors.shape == (len(vectors.rows), vectors.dim) and vectors.dim >= 1
    return vectors


@fuzz(300)
@given(data=st.binary(max_size=120) | vectors_text().flatmap(corrupted))
def test_embeddings_text_file(data):
    read_vectors("vectors.txt", data)


@st.composite
def vectors_binary(draw) -> bytes:
    """Mostly valid word2vec binary: a header (true, or off by one in count or dim), words (UTF-8, maybe with a
    space or a newline) and float32 values (nan, inf and text-like bytes included), each record with or without
    a newline."""
    dim = draw(st.integers(1, 3))
    value = st.floats(width=32) | st.sampled_from([0.7, 1.0, float("nan")])
    records = [draw(st.sampled_from(WORDS[2:]) | token).encode("utf-8", "surrogatepass") + b" "
               + np.asarray(draw(st.lists(value, min_size=dim, max_size=dim)), dtype="<f4").tobytes()
               + draw(st.sampled_from([b"", b"\n"]))
               for _ in range(draw(st.integers(0, 4)))]
    count = len(records) + draw(st.sampled_from([0, 0, 0, 1, -1]))
    header = f"{count} {dim + draw(st.sampled_from([0, 0, 0, 1, -1]))}\n".encode()
    return header + draw(st.sampled_from([b"", b"\n"])) + b"".join(records)


@fuzz(300)
@given(data=vectors_binary().flatmap(corrupted), compress=st.booleans(), binary=st.sampled_from([None, None, True]))
def test_embeddings_binary_file(data, compress, binary):
    vectors = read_vectors("vectors.bin", gzip.compress(data, mtime=0) if compress else data, binary=binary)
    if vectors is not None:
        assert np.isfinite(vectors.vectors).all()


@fuzz(200)
@given(data=st.one_of(vectors_binary(), vectors_text().map(str.encode)).map(lambda d: gzip.compress(d, mtime=0))
       .flatmap(corrupted))
def test_embeddings_gzip_file(data):
    read_vectors("vectors.gz", data)


# ---------------------------------------------------------------- bundle JSON files

VALID = {
    "bundle.json": {"format_version": 1, "status": "complete", "parameters": 10, "best_epoch": 1, "epochs_run": 2,
                    "data": {"path": "d", "hash": "ab" * 32, "scheme": "bio", "dev": "dev split"},
                    "versions": {"ner": "0.1", "keras": "3"}},
    "config.json": {"encoder": "bilstm", "crf": True, "word_dim": 16, "hidden": 16, "layers": 1, "dropout": 0.5,
                    "char_cnn": True, "casing_dim": 4, "scheme": "bio"},
    "vocab.json": {"format": "ner-vocabularies", "version": 1,
                   "words": {"items": ["eu", "the"], "pad": True, "unk": True, "lowercase": True, "digits": True},
                   "chars": {"items": ["E", "U"], "pad": True, "unk": True, "lowercase": False, "digits": False},
                   "labels": {"items": ["O", "B-ORG"], "pad": False, "unk": False, "lowercase": False,
                              "digits": False}},
    "metrics.json": {"dev": {"precision": 1.0, "recall": 0.5, "f1": 0.6}},
    "history.json": [{"loss": 1.0}],
}


@st.composite
def mutated(draw, value):
    """``value`` with one random key dropped or one value (at any depth) replaced by a random JSON value,
    often one of the same type."""
    if isinstance(value, (dict, list)) and value and draw(st.integers(0, 3)):
        keys = list(value) if isinstance(value, dict) else list(range(len(value)))
        key = draw(st.sampled_from(keys))
        copy = dict(value) if isinstance(value, dict) else list(value)
        if isinstance(copy, dict) and draw(st.booleans()):
            del copy[key]
        else:
            copy[key] = draw(mutated(value[key]))
        return copy
    same = {bool: st.booleans(), int: st.integers(-2, 100), float: st.floats(), str: word}.get(type(value))
    return draw(json_values if same is None or draw(st.booleans()) else same)


def json_file(name: str):
    as_text = st.builds(lambda v: json.dumps(v, ensure_ascii=False).encode("utf-8", "surrogatepass"),
                        mutated(VALID[name]))
    return st.one_of(as_text, as_text.flatmap(corrupted), st.binary(max_size=40),
                     st.sampled_from([b'{"format_version": 1e400}', b'{"format_version": NaN}']))


def bundle_folder(folder: Path, files: dict[str, bytes]) -> Path:
    for name in REQUIRED:
        write(folder, name, files.get(name) or json.dumps(VALID.get(name, {})).encode())
    return folder


@fuzz(150)
@given(data=json_file("bundle.json"))
def test_bundle_meta(data):
    with tempfile.TemporaryDirectory() as d:
        folder = bundle_folder(Path(d), {"bundle.json": data})
        meta = parsed_or_ours(read_meta, folder, folder)
        assert meta is None or isinstance(meta, dict)


@fuzz(200)
@given(data=json_file("vocab.json"))
def test_vocabularies_file(data):
    with tempfile.TemporaryDirectory() as d:
        path = write(Path(d), "vocab.json", data)
        vocabs = parsed_or_ours(Vocabularies.load, path, path)
        if vocabs is not None:
            assert Vocabularies.from_dict(vocabs.to_dict()) == vocabs


def read_bundle_files(folder: Path) -> None:
    """``ner info``'s reading and ``load_bundle`` without the model: a result or a one-line NerError."""
    for read in (describe, lambda path: load_bundle(path, model=False)):
        try:
            read(folder)
        except NerError as exc:
            assert "\n" not in str(exc)


@fuzz(200)
@given(name=st.sampled_from(sorted(VALID)), data=st.data())
def test_bundle_files(name, data):
    with tempfile.TemporaryDirectory() as d:
        read_bundle_files(bundle_folder(Path(d), {name: data.draw(json_file(name))}))


# ---------------------------------------------------------------- inputs too large to shrink or print

DEEP = b"[" * 100_000
HUGE = b"9" * 5_000   # over Python's 4,300-digit limit for int()


@pytest.mark.parametrize("name, data", [
    ("t.json", DEEP), ("t.jsonl", DEEP), ("t.jsonl", b'{"tokens": [' + HUGE + b'], "tags": ["O"]}'),
    ("t.json", b'[{"tokens": ["a"], "tags": [' + HUGE + b"]}]"), ("vocab.json", DEEP), ("vocab.json", HUGE),
])
def test_pathological_json_file(tmp_path, name, data):
    path = write(tmp_path, name, data)
    parsed_or_ours(Vocabularies.load if name == "vocab.json" else load_corpus, path, path)


@pytest.mark.parametrize("name", sorted(VALID))
@pytest.mark.parametrize("data", [DEEP, HUGE, b'{"format_version": ' + HUGE + b"}",
                                  json.dumps({**VALID["bundle.json"], "parameters": float("inf")}).encode()],
                         ids=["deep", "huge", "huge-version", "infinite-parameters"])
def test_pathological_bundle_json(tmp_path, name, data):
    folder = bundle_folder(tmp_path, {name: data})
    parsed_or_ours(read_meta, folder, folder)
    read_bundle_files(folder)
