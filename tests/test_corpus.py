"""Corpora as datasets.DatasetDict from CoNLL files and folders, save_to_disk folders, parquet/json files
and ``hf:`` specs (driven offline through datasets.load_dataset with local data)."""

import json
import logging

import datasets
import pytest
from datasets import ClassLabel, Dataset, DatasetDict, Features, Sequence, Value

import ner.data.corpus as corpus_module
from ner.data.corpus import FEATURES, Corpus, corpus_scheme, corpus_stats, load_corpus
from ner.errors import InputError

TRAIN = "FIFA B-ORG\npraises O\nGreek B-MISC\n\nHanna B-PER\nBerg I-PER\n"
DEV = "-DOCSTART- O\n\nCAIRO B-LOC\n2003-04-17 O\n"
LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
HF_FEATURES = Features({"id": Value("string"), "words": Sequence(Value("string")),
                        "ner_tags": Sequence(ClassLabel(names=LABELS))})


def hf_like(n_train=2):
    """A DatasetDict shaped like HF conll2003: ClassLabel ids, "validation", a -DOCSTART- row."""
    train = {"id": ["0", "1", "2"][:n_train + 1], "words": [["-DOCSTART-"], ["Angela", "Merkel", "spoke"],
                                                           ["in", "Paris"]][:n_train + 1],
             "ner_tags": [[0], [1, 2, 0], [0, 3]][:n_train + 1]}
    dev = {"id": ["0"], "words": [["Hamburg"]], "ner_tags": [[3]]}
    return DatasetDict({"train": Dataset.from_dict(train, features=HF_FEATURES),
                        "validation": Dataset.from_dict(dev, features=HF_FEATURES)})


EXPECTED_HF = {"train": [{"tokens": ["Angela", "Merkel", "spoke"], "tags": ["B-PER", "I-PER", "O"]},
                         {"tokens": ["in", "Paris"], "tags": ["O", "B-LOC"]}],
               "dev": [{"tokens": ["Hamburg"], "tags": ["B-LOC"]}]}
HF_COLUMNS = dict(tokens_column="words", tags_column="ner_tags")


def rows(corpus):
    return {split: ds.remove_columns("document").to_list() for split, ds in corpus.items()}


def test_conll_file_is_one_train_split(tmp_path):
    (tmp_path / "all.conll").write_text(TRAIN)
    corpus = load_corpus(tmp_path / "all.conll")
    assert isinstance(corpus, DatasetDict) and isinstance(corpus, Corpus)
    assert list(corpus) == ["train"] and corpus["train"].features == FEATURES
    assert corpus["train"][0] == {"tokens": ["FIFA", "praises", "Greek"], "tags": ["B-ORG", "O", "B-MISC"],
                                  "document": 0}
    assert corpus.scheme == corpus_scheme(corpus) == "bio"


def test_conll_folder_and_columns(tmp_path):
    (tmp_path / "train.txt").write_text(TRAIN)
    (tmp_path / "valid.txt").write_text(DEV)
    (tmp_path / "test").write_text("Hamburg B-LOC\n")
    corpus = load_corpus(str(tmp_path))
    assert list(corpus) == ["train", "dev", "test"]
    assert corpus["dev"].to_list() == [{"tokens": ["CAIRO", "2003-04-17"], "tags": ["B-LOC", "O"], "document": 0}]
    (tmp_path / "cols.tsv").write_text("1\tHamburg\tB-LOC\t_\n2\tis\tO\t_\n")
    swapped = load_corpus(tmp_path / "cols.tsv", token_col=1, tag_col=2)
    assert swapped["train"][0] == {"tokens": ["Hamburg", "is"], "tags": ["B-LOC", "O"], "document": 0}


def test_save_to_disk_with_classlabel_tags_and_column_names(tmp_path):
    hf_like().save_to_disk(tmp_path / "saved")
    corpus = load_corpus(tmp_path / "saved", **HF_COLUMNS)
    assert rows(corpus) == EXPECTED_HF  # ids -> names, validation -> dev, -DOCSTART- row dropped
    assert corpus["train"].column_names == ["tokens", "tags", "document"]
    assert rows(load_corpus(tmp_path / "saved")) == EXPECTED_HF  # words / ner_tags detected
    with pytest.raises(InputError, match=r"no column 'tokens' \(columns: 'id', 'words', 'ner_tags'\)"):
        load_corpus(tmp_path / "saved", tokens_column="tokens")


def test_save_to_disk_single_dataset(tmp_path):
    Dataset.from_dict({"tokens": [["a", "b"]], "tags": [["B-X", "I-X"]]}).save_to_disk(tmp_path / "one")
    assert rows(load_corpus(tmp_path / "one")) == {"train": [{"tokens": ["a", "b"], "tags": ["B-X", "I-X"]}]}


def test_parquet_file_and_folder(tmp_path):
    data = hf_like()
    data["train"].to_parquet(tmp_path / "single.parquet")
    assert rows(load_corpus(tmp_path / "single.parquet", **HF_COLUMNS)) == {"train": EXPECTED_HF["train"]}
    folder = tmp_path / "pq"
    folder.mkdir()
    data["train"].to_parquet(folder / "train.parquet")
    data["validation"].to_parquet(folder / "validation.parquet")
    assert rows(load_corpus(folder, **HF_COLUMNS)) == EXPECTED_HF


def test_json_and_jsonl_files(tmp_path):
    records = [{"tokens": ["a", "b"], "tags": ["B-X", "I-X"]}, {"tokens": ["c"], "tags": ["O"]}]
    (tmp_path / "train.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    (tmp_path / "test.json").write_text(json.dumps(records[:1]))
    assert rows(load_corpus(tmp_path / "train.jsonl")) == {"train": records}
    assert rows(load_corpus(tmp_path)) == {"train": records, "test": records[:1]}
    (tmp_path / "columns.json").write_text(json.dumps({"tokens": [["c"]], "tags": [["O"]]}))
    assert rows(load_corpus(tmp_path / "columns.json")) == {"train": records[1:]}
    (tmp_path / "lines.json").write_text(json.dumps(records[1]) + "\n" + json.dumps(records[0]))
    assert rows(load_corpus(tmp_path / "lines.json")) == {"train": records[::-1]}


def test_hf_spec_through_real_load_dataset_with_local_parquet(tmp_path):
    data = hf_like()
    data["train"].to_parquet(tmp_path / "train.parquet")
    data["validation"].to_parquet(tmp_path / "dev.parquet")
    files = {"train": str(tmp_path / "train.parquet"), "validation": str(tmp_path / "dev.parquet")}
    corpus = load_corpus("hf:parquet", load_kwargs={"data_files": files, "cache_dir": str(tmp_path / "cache")},
                         **HF_COLUMNS)
    assert rows(corpus) == EXPECTED_HF


def test_hf_spec_calls_load_dataset_with_name_and_config(tmp_path, monkeypatch):
    hf_like().save_to_disk(tmp_path / "saved")
    calls = []

    def local_load_dataset(name, config=None, **kwargs):  # stands in for the hub download only
        calls.append((name, config, kwargs))
        return datasets.load_from_disk(str(tmp_path / "saved"))

    monkeypatch.setattr(datasets, "load_dataset", local_load_dataset)
    assert rows(load_corpus("hf:eriktks/conll2003", **HF_COLUMNS)) == EXPECTED_HF
    assert rows(load_corpus("hf:conll2003:conll2003", **HF_COLUMNS)) == EXPECTED_HF
    assert calls == [("eriktks/conll2003", None, {}), ("conll2003", "conll2003", {})]


def test_hf_spec_failure_is_one_line(monkeypatch):
    def offline(name, config=None, **kwargs):
        raise ConnectionError("Couldn't reach 'conll2003' on the Hub (LocalEntryNotFoundError)\nmore detail")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    monkeypatch.setattr(corpus_module, "_hub_unreachable", lambda: None)   # the hub answers, the load fails
    with pytest.raises(InputError) as err:
        load_corpus("hf:conll2003")
    assert str(err.value).startswith("hf:conll2003: could not load dataset 'conll2003'")
    assert "ConnectionError: Couldn't reach" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(InputError, match="expected hf:NAME"):
        load_corpus("hf:")


def test_hf_dataset_without_train_split(monkeypatch):
    monkeypatch.setattr(datasets, "load_dataset", lambda name, config=None: DatasetDict(
        {"test": hf_like()["validation"]}))
    with pytest.raises(InputError, match="no train split"):
        load_corpus("hf:x", **HF_COLUMNS)


def put(path, text):
    path.write_text(text)
    return path


@pytest.mark.parametrize("make, message", [
    (lambda p: p / "missing.txt", "no such file or folder"),
    (lambda p: put(p / "dev.txt", TRAIN).parent, "no train split"),
    (lambda p: put(p / "test.parquet", "").parent, "no train split (found test.parquet)"),
    (lambda p: put(p / "t.txt", "FIFA B-ORG\npraises X-ORG\n"), ":2: unknown tag 'X-ORG'"),
    (lambda p: put(p / "t.txt", "FIFA PER\n"), ":1: unknown tag 'PER'"),
    (lambda p: put(p / "t.jsonl", '{"tokens": ["a"], "tags": ["O"]}\n{oops\n'), ":2: not JSON"),
    (lambda p: put(p / "t.jsonl", '{"tokens": ["a"], "tags": [1]}\n'),
     "t.jsonl:1: 'tags' holds label ids but no label names: give the tags as strings"),
    (lambda p: put(p / "t.jsonl", '{"tokens": ["a", "b"], "tags": ["O"]}\n'), "t.jsonl:1: 2 tokens but 1 tags"),
    (lambda p: put(p / "t.jsonl", '{"tokens": ["a"], "tags": ["O"]}\n{"tokens": ["b"], "tags": ["Y-Z"]}'),
     "t.jsonl:2, token 1: unknown tag 'Y-Z'"),
    (lambda p: put(p / "t.jsonl", '{"tokens": ["a"], "tags": ["O"]}\n\n[1, 2, 3]\n'),
     "t.jsonl:3: expected an object with 'tokens' and 'tags', got an array"),
    (lambda p: put(p / "t.jsonl", "5\n"), "t.jsonl:1: expected an object with 'tokens' and 'tags', got a number"),
    (lambda p: put(p / "t.jsonl", '["a", "b"]'),
     "t.jsonl:1: expected an object with 'tokens' and 'tags', got an array"),
    (lambda p: put(p / "t.jsonl", "null"), "t.jsonl:1: expected an object with 'tokens' and 'tags', got null"),
    (lambda p: put(p / "t.jsonl", '{"tokens": ["a"]}'),
     "t.jsonl:1: no tag column (looked for tags, ner_tags, labels, ner; columns: 'tokens')"),
    (lambda p: put(p / "t.jsonl", '{"tokens": "a b", "tags": ["O", "O"]}'),
     "t.jsonl:1: 'tokens' must be a list of strings, got a string"),
    (lambda p: put(p / "t.jsonl", '{"tokens": ["\\ud800"], "tags": ["O"]}'),
     "t.jsonl:1: a string holds a lone surrogate"),
    (lambda p: put(p / "t.json", '[{"tokens": ["a"], "tags": ["O"]},\n [1, 2, 3]]'),
     "t.json, record 2: expected an object with 'tokens' and 'tags', got an array"),
    (lambda p: put(p / "t.json", '[{"tokens": ["a"], "tags": ["O"]},\n {"tokens": ["b"], "tags": ["X-Y"]}]'),
     "t.json, record 2, token 1: unknown tag 'X-Y'"),
    (lambda p: put(p / "t.json", '{"tokens": [["a"], ["b"]], "tags": [["O"], 5]}'),
     "t.json, record 2: 'tags' must be a list of strings, got a number"),
    (lambda p: put(p / "t.json", '[{"tokens": ["a"],\n  "tags": ["O"]},\n  {"tokens": ["b"] "tags": ["O"]}]'),
     "t.json:3: not JSON: Expecting ',' delimiter"),
    (lambda p: put(p / "t.json", "[" * 100_000), "t.json: JSON nested too deeply"),
    (lambda p: put(p / "t.json", ""), "empty file"),
    (lambda p: put(p / "t.txt", "a O\n\nb X O\n"), ":3: line has 3 column(s) but line 1 has 2"),
])
def test_bad_input_is_one_clear_line(tmp_path, make, message):
    with pytest.raises(InputError) as err:
        load_corpus(make(tmp_path))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_classlabel_ids_out_of_range(tmp_path):
    features = Features({"tokens": Sequence(Value("string")), "tags": Sequence(ClassLabel(names=["O", "B-X"]))})
    ds = Dataset.from_dict({"tokens": [["a"]], "tags": [[0]]}, features=features)
    ds.to_parquet(tmp_path / "t.parquet")
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / "t.parquet")
    pq.write_table(table.set_column(1, "tags", pa.array([[-1]], pa.list_(pa.int64()))).replace_schema_metadata(
        table.schema.metadata), tmp_path / "bad.parquet")
    with pytest.raises(InputError, match="row 1: tag ids"):
        load_corpus(tmp_path / "bad.parquet")


ILL_FORMED = "a B-PER\nb I-PER\n\nc O\nd I-LOC\n\ne B-ORG\nf I-ORG\n\ng B-MISC\n"


def test_ill_formed_sentences_are_counted_and_kept(tmp_path, caplog):
    (tmp_path / "t.txt").write_text(ILL_FORMED)
    with caplog.at_level(logging.WARNING, logger="ner.data.corpus"):
        corpus = load_corpus(tmp_path / "t.txt")
    assert corpus.scheme == "bio" and corpus.ill_formed == {"train": 1} and corpus.repaired == {"train": 0}
    assert corpus["train"][1]["tags"] == ["O", "I-LOC"]
    assert "1 sentence(s) are ill-formed bio" in caplog.text


def test_repair_rewrites_and_counts(tmp_path, caplog):
    (tmp_path / "t.txt").write_text(ILL_FORMED)
    with caplog.at_level(logging.WARNING, logger="ner.data.corpus"):
        corpus = load_corpus(tmp_path / "t.txt", repair=True)
    assert corpus.repaired == {"train": 1}
    assert corpus["train"][1]["tags"] == ["O", "B-LOC"]
    assert "repaired 1 ill-formed bio sentence(s)" in caplog.text


def test_clean_corpus_logs_nothing(tmp_path, caplog):
    (tmp_path / "t.txt").write_text(TRAIN)
    with caplog.at_level(logging.WARNING, logger="ner.data.corpus"):
        corpus = load_corpus(tmp_path / "t.txt", repair=True)
    assert corpus.repaired == {"train": 0} and caplog.text == ""


def test_corpus_scheme_of_plain_datasets():
    iob1 = Features({"tokens": Sequence(Value("string")),
                     "tags": Sequence(ClassLabel(names=["O", "I-PER", "B-PER"]))})
    ds = Dataset.from_dict({"tokens": [["a", "b", "c"]], "tags": [[1, 2, 0]]}, features=iob1)
    assert corpus_scheme(ds) == "iob1"
    assert corpus_scheme(DatasetDict({"train": ds})) == "iob1"
    bioes = Dataset.from_dict({"tokens": [["a"]], "tags": [["S-PER"]]})
    assert corpus_scheme(DatasetDict({"train": bioes})) == "bioes"


def test_corpus_stats_hand_computed(tmp_path):
    (tmp_path / "train.txt").write_text(TRAIN + "\nx O\n")
    (tmp_path / "dev.txt").write_text(DEV)
    stats = corpus_stats(load_corpus(tmp_path))
    assert stats == {"splits": {
        "train": {"sentences": 3, "documents": 3, "tokens": 6, "scheme": "bio",
                  "entities": {"MISC": 1, "ORG": 1, "PER": 1}, "length": {"p50": 2, "p95": 3, "max": 3},
                  "sentences_per_document": {"mean": 1.0, "max": 1}},
        "dev": {"sentences": 1, "documents": 1, "tokens": 2, "scheme": "bio", "entities": {"LOC": 1},
                "length": {"p50": 2, "p95": 2, "max": 2}, "sentences_per_document": {"mean": 1.0, "max": 1}}}}
