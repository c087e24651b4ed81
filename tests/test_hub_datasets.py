"""Hugging Face datasets as the hub shapes them (issue 17): detected columns, ClassLabel or string tags,
``validation`` as dev, extra columns ignored, ``datasets`` objects in the API, ``hf:`` offline. Every dataset
is built locally; the hub is made unreachable (HF_HUB_OFFLINE=1) where ``hf:`` is read."""

import json
import shutil
import time

import datasets
import pandas as pd
import pytest
from datasets import ClassLabel, Dataset, DatasetDict, Features, Sequence, Value

import ner
from ner.cli import main
from ner.data.corpus import load_corpus
from ner.errors import InputError, NerError
from ner.training.config import TrainConfig

from helpers import SAMPLE, TINY_TRAIN, cli, one_line_error

LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
HUB = Features({"id": Value("string"), "tokens": Sequence(Value("string")), "pos_tags": Sequence(Value("int32")),
                "ner_tags": Sequence(ClassLabel(names=LABELS))})


def hub_split(rows: list[tuple[list[str], list[int]]]) -> Dataset:
    return Dataset.from_dict({"id": [str(i) for i in range(len(rows))], "tokens": [r[0] for r in rows],
                              "pos_tags": [[7] * len(r[0]) for r in rows], "ner_tags": [r[1] for r in rows]},
                             features=HUB)


def hub_like() -> DatasetDict:
    """conll2003's shape: id, tokens, pos_tags, ClassLabel ner_tags; train and validation, no test split."""
    return DatasetDict({"train": hub_split([(["Angela", "Merkel", "spoke"], [1, 2, 0]), (["in", "Paris"], [0, 3])]),
                        "validation": hub_split([(["New", "York"], [3, 4])])})


EXPECTED = {"train": [{"tokens": ["Angela", "Merkel", "spoke"], "tags": ["B-PER", "I-PER", "O"]},
                      {"tokens": ["in", "Paris"], "tags": ["O", "B-LOC"]}],
            "dev": [{"tokens": ["New", "York"], "tags": ["B-LOC", "I-LOC"]}]}


def rows(corpus) -> dict:
    return {split: [{k: r[k] for k in ("tokens", "tags")} for r in ds] for split, ds in corpus.items()}


def stats(capsys, path, *flags) -> dict:
    code, out, err = cli(capsys, "data", "stats", path, "--json", *flags)
    assert code == 0, err
    return json.loads(out)["splits"]


@pytest.mark.parametrize("save", ["save_to_disk", "parquet"])
def test_classlabel_ner_tags_with_validation_and_extra_columns(capsys, tmp_path, save):
    data = hub_like()
    if save == "save_to_disk":
        data.save_to_disk(tmp_path / "corpus")
    else:   # parquet written by `datasets` keeps the ClassLabel names in its metadata
        (tmp_path / "corpus").mkdir()
        for split, ds in data.items():
            ds.to_parquet(tmp_path / "corpus" / f"{split}.parquet")
    assert rows(load_corpus(tmp_path / "corpus")) == EXPECTED
    found = stats(capsys, tmp_path / "corpus")
    assert list(found) == ["train", "dev"]
    assert found["train"]["entities"] == {"LOC": 1, "PER": 1} and found["dev"]["entities"] == {"LOC": 1}


def test_words_and_labels_with_string_tags(capsys, tmp_path):
    Dataset.from_dict({"words": [["Hanna", "Berg"]], "labels": [["B-PER", "I-PER"]], "chunk_tags": [[1, 2]]}
                      ).to_parquet(tmp_path / "t.parquet")
    assert stats(capsys, tmp_path / "t.parquet")["train"]["entities"] == {"PER": 1}
    (tmp_path / "t.jsonl").write_text(json.dumps({"id": 3, "words": ["Oslo"], "ner": ["B-LOC"]}) + "\n")
    assert stats(capsys, tmp_path / "t.jsonl")["train"]["entities"] == {"LOC": 1}


def test_pandas_parquet_with_bare_int_tags_is_one_line(capsys, tmp_path):
    pd.DataFrame({"tokens": [["Hanna", "Berg"]], "ner_tags": [[1, 2]]}).to_parquet(tmp_path / "p.parquet")
    err = one_line_error(capsys, ["data", "stats", tmp_path / "p.parquet"])
    assert f"{tmp_path / 'p.parquet'} [train]: column 'ner_tags' holds label ids but no label names: give the " \
           "tags as strings" in err
    (tmp_path / "ids.jsonl").write_text('{"tokens": ["a"], "labels": [0]}\n')
    assert "ids.jsonl:1: 'labels' holds label ids but no label names" in \
        one_line_error(capsys, ["data", "stats", tmp_path / "ids.jsonl"])


def test_dataset_dict_without_test_split(capsys, tmp_path):
    hub_like().save_to_disk(tmp_path / "saved")
    assert list(stats(capsys, tmp_path / "saved")) == ["train", "dev"]
    assert list(load_corpus(hub_like())) == ["train", "dev"]


def test_two_candidate_tag_columns_are_listed(capsys, tmp_path):
    data = hub_like()["train"]
    data.add_column("tags", [["B-PER", "I-PER", "O"], ["O", "B-LOC"]]).save_to_disk(tmp_path / "two")
    err = one_line_error(capsys, ["data", "stats", tmp_path / "two"])
    assert "several tag columns (tags, ner_tags): choose one with --tags-column" in err
    assert stats(capsys, tmp_path / "two", "--tags-column", "ner_tags")["train"]["entities"] == {"LOC": 1, "PER": 1}
    err = one_line_error(capsys, ["data", "stats", tmp_path / "two", "--tokens-column", "words"])
    assert "no column 'words' (columns: 'id', 'tokens', 'pos_tags', 'ner_tags', 'tags')" in err


@pytest.mark.parametrize("token", ["", "  ", "\u00a0"])
def test_empty_token_names_its_row(capsys, tmp_path, token):
    data = Dataset.from_dict({"tokens": [["a"], ["b", token]], "tags": [["O"], ["O", "B-PER"]]})
    with pytest.raises(InputError) as err:
        load_corpus(data)
    assert str(err.value).startswith(f"Dataset(2 rows) [train] row 2: token 2 is empty ({token!r})")
    data.to_parquet(tmp_path / "t.parquet")
    assert f"{tmp_path / 't.parquet'} [train] row 2: token 2 is empty" in \
        one_line_error(capsys, ["data", "stats", tmp_path / "t.parquet"])
    (tmp_path / "t.jsonl").write_text("\n".join(json.dumps(r) for r in data.to_list()))
    error = one_line_error(capsys, ["data", "stats", tmp_path / "t.jsonl"])
    assert f"{tmp_path / 't.jsonl'}:2: token 2 is empty" in error


def test_train_config_takes_a_dataset_and_column_names(tmp_path):
    data = hub_like()
    assert TrainConfig(data=data, tokens_column="tokens").validate().data is data
    with pytest.raises(NerError, match=r"--data: expected a string, not \[1, 2\]"):
        TrainConfig(data=[1, 2]).validate()
    with pytest.raises(NerError, match="--tags-column: expected a string or null, not 5"):
        TrainConfig(tags_column=5).validate()
    (tmp_path / "c.json").write_text('{"tokens_column": "words", "tags_column": null}')
    assert TrainConfig.from_json(tmp_path / "c.json") == {"tokens_column": "words", "tags_column": None}


@pytest.mark.parametrize("command", [["train"], ["evaluate"], ["compare"], ["data", "stats"]])
def test_every_corpus_command_has_the_column_flags(capsys, command):
    with pytest.raises(SystemExit):
        main([*command, "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--tokens-column" in out and "--tags-column" in out
    assert out.count("table sources (save_to_disk, parquet, json, hf:), not CoNLL files") == 2


def test_column_flags_reach_train_and_compare(capsys, tmp_path):
    hub_like().save_to_disk(tmp_path / "saved")
    err = one_line_error(capsys, ["train", "--data", tmp_path / "saved", "--tokens-column", "words",
                         "--out", tmp_path / "m", "--quiet"])
    assert "no column 'words'" in err
    (tmp_path / "c.json").write_text(json.dumps({"data": str(tmp_path / "saved"), "tags_column": "ner"}))
    assert "no column 'ner'" in one_line_error(capsys, ["train", "--config", tmp_path / "c.json", "--out",
                                               tmp_path / "m2", "--quiet"])
    assert "no column 'words'" in one_line_error(capsys, ["compare", "--data", tmp_path / "saved", "--tokens-column",
                                                 "words", "--out", tmp_path / "c", "--quiet"])


# ---------------------------------------------------------------- hf: offline

def cache_hub_dataset(cache, repo: str, data: DatasetDict) -> None:
    """Leave ``data`` in ``cache`` as ``load_dataset(repo)`` leaves a downloaded hub dataset
    (NAMESPACE___NAME/default/0.0.0/HASH), built from local parquet files."""
    from datasets.packaged_modules.parquet.parquet import Parquet

    files = {}
    for split, ds in data.items():
        ds.to_parquet(cache / f"{split}.parquet")
        files[split] = str(cache / f"{split}.parquet")
    builder = Parquet(cache_dir=str(cache / "build"), dataset_name=repo.split("/")[-1], config_name="default",
                      data_files=files, hash="0123abcd")
    builder.download_and_prepare()
    target = cache / repo.replace("/", "___") / "default" / "0.0.0"
    target.mkdir(parents=True)
    shutil.move(builder.cache_dir, target / "0123abcd")


def test_hf_dataset_in_the_local_cache_loads_offline_quietly(capfd, tmp_path, monkeypatch):
    cache_hub_dataset(tmp_path, "someone/ner_set", hub_like())
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")   # the hub is out of reach
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path))
    capfd.readouterr()
    code = main(["data", "stats", "hf:someone/ner_set", "--json"])
    out, err = capfd.readouterr()
    assert code == 0 and err == "" and json.loads(out)["splits"]["dev"]["entities"] == {"LOC": 1}
    assert datasets.config.HF_HUB_OFFLINE is False and datasets.is_progress_bar_enabled()   # put back


def test_hf_dataset_not_cached_offline_is_one_line(capfd, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path))
    capfd.readouterr()
    code = main(["data", "stats", "hf:someone/not_here"])
    out, err = capfd.readouterr()
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert err.startswith("ner: error: hf:someone/not_here: could not load dataset 'someone/not_here' (offline "
                          "(HF_HUB_OFFLINE / HF_DATASETS_OFFLINE) and not in the local cache)")


# ---------------------------------------------------------------- training and scoring on datasets objects

@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A softmax bundle trained 1 epoch on a DatasetDict shaped like conll2003, built from data/sample."""
    sample = load_corpus(SAMPLE)
    labels = sorted({t for ds in sample.values() for tags in ds["tags"] for t in tags})
    features = Features({**HUB, "ner_tags": Sequence(ClassLabel(names=labels))})

    def split(name: str, n: int) -> Dataset:
        part = sample[name][:n]
        return Dataset.from_dict({"id": [str(i) for i in range(n)], "tokens": part["tokens"],
                                  "pos_tags": [[0] * len(t) for t in part["tokens"]],
                                  "ner_tags": [[labels.index(t) for t in tags] for tags in part["tags"]]},
                                 features=features)

    data = DatasetDict({"train": split("train", 80), "validation": split("dev", 20), "test": split("test", 20)})
    bundle = ner.train(data=data, encoder="bilstm", crf=False, out=str(tmp_path_factory.mktemp("hub") / "m"),
                       **dict(TINY_TRAIN, epochs=1))
    return bundle, data


@pytest.mark.slow
def test_train_on_a_dataset_dict_records_its_fingerprints(trained):
    bundle, data = trained
    config = json.loads((bundle / "config.json").read_text())
    meta = json.loads((bundle / "bundle.json").read_text())
    assert config["data"] == meta["data"]["path"] == "DatasetDict(train, validation, test)"
    assert meta["data"]["fingerprints"] == {split: ds._fingerprint for split, ds in data.items()}
    assert meta["data"]["sentences"] == {"train": 80, "dev": 20, "test": 20}


@pytest.mark.slow
def test_evaluate_a_dataset_object(trained, tmp_path, capsys):
    bundle, data = trained
    scores = ner.evaluate(bundle, data["test"])   # one Dataset is the split scored
    assert scores["sentences"] == 20 and scores == ner.evaluate(bundle, data)
    with pytest.raises(NerError, match=r"--split: DatasetDict\(train, validation\) has no split 'test' \(it has "
                                       r"train, dev\)"):
        ner.evaluate(bundle, DatasetDict({"train": data["train"], "validation": data["validation"]}))
    data["test"].add_column("labels", [["O"] * len(t) for t in data["test"]["tokens"]]).save_to_disk(tmp_path / "t")
    assert "several tag columns (ner_tags, labels)" in one_line_error(capsys, ["evaluate", bundle, "--data",
                                                                       tmp_path / "t", "--split", "train"])
    code, out, _ = cli(capsys, "evaluate", bundle, "--data", tmp_path / "t", "--split", "train", "--tags-column",
                       "ner_tags", "--json")
    assert code == 0 and json.loads(out)["f1"] == scores["f1"]


@pytest.mark.slow
def test_tagger_refuses_an_empty_token(trained):
    tagger = ner.Tagger.load(trained[0])
    with pytest.raises(ValueError, match=r"tokens\[1\]: empty token ''"):
        tagger.tag_tokens(["Paris", ""])
    with pytest.raises(ValueError, match=r"sentences\[1\]\[0\]: empty token ' '"):
        tagger.tag_sentences([["Paris"], [" ", "x"]])


def test_an_unreachable_hub_reads_the_cache_at_once(capfd, tmp_path, monkeypatch):
    import huggingface_hub.constants

    cache_hub_dataset(tmp_path, "someone/ner_set", hub_like())
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy",
                 "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", "http://127.0.0.1:9")   # nothing listens there
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path))
    monkeypatch.setattr(time, "sleep", lambda seconds: pytest.fail("retried the unreachable hub"))
    capfd.readouterr()
    assert main(["data", "stats", "hf:someone/ner_set", "--json"]) == 0
    out, err = capfd.readouterr()
    assert err == "" and json.loads(out)["splits"]["dev"]["entities"] == {"LOC": 1}
    assert main(["data", "stats", "hf:someone/not_here"]) == 2
    err = capfd.readouterr().err
    assert err.count("\n") == 1 and "the hub is unreachable (127.0.0.1:9: Connection refused)" in err, err
