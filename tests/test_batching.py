import random
import types

import numpy as np
import pytest

from ner.data.batching import BUCKETS, CHAR_BUCKETS, CPU_BUCKETS, EXACT, TaggingBatches, batch_layout, bucket_length
from ner.data.vocab import build_vocabularies
from ner.errors import NerError

TOKENS = [["FIFA", "praises", "Greek", "deal"], ["Hanna", "Berg"], ["CAIRO", "2003-04-17"]]
TAGS = [["B-ORG", "O", "B-MISC", "O"], ["B-PER", "I-PER"], ["B-LOC", "O"]]


def corpus(n=300, seed=1, max_len=300, max_word=70):
    """Random sentences: lengths 1..max_len (mostly short), words of 1..max_word characters."""
    rng = random.Random(seed)
    common = ["the", "of", "Paris", "EU", "1996"]
    tokens, tags = [], []
    for _ in range(n):
        length = rng.choice([rng.randint(1, 20), rng.randint(1, 60), rng.randint(1, max_len)])
        sizes = [rng.choice([rng.randint(1, 8), rng.randint(1, max_word)]) for _ in range(length)]
        sent = [rng.choice(common) if rng.random() < 0.5 else "".join(rng.choice("abcXYZ09-") for _ in range(k))
                for k in sizes]
        tokens.append(sent)
        tags.append([rng.choice(["O", "B-PER", "I-PER"]) for _ in sent])
    return tokens, tags


@pytest.fixture(scope="module")
def big():
    tokens, tags = corpus()
    return tokens, tags, build_vocabularies(tokens, tags)


def test_bucket_length():
    b = (8, 16, 24, 32, 48, 64, 96, 128)
    assert [bucket_length(n, b) for n in (0, 1, 8, 9, 33, 128, 129, 256, 257, 100_000)] == \
        [8, 8, 8, 16, 48, 128, 256, 256, 384, 100_096]
    assert [bucket_length(n, (16, 32)) for n in (0, 16, 17, 33, 64, 65)] == [16, 16, 32, 64, 64, 96]


def test_exact_small_batches():
    v = build_vocabularies(TOKENS, TAGS)
    # words (lower-cased, digits -> 0), all seen once, so sorted by text after <pad> <unk>:
    # 0000-00-00=2 berg=3 cairo=4 deal=5 fifa=6 greek=7 hanna=8 praises=9
    ds = TaggingBatches(TOKENS, v, TAGS, batch_size=2)
    assert len(ds) == 2 and ds.workers == 1 and ds.use_multiprocessing is False
    assert ds.batch_indices(0).tolist() == [1, 2] and ds.batch_indices(1).tolist() == [0]
    x, y = ds[0]
    assert sorted(x) == ["casing", "chars", "words"]
    assert {k: (a.shape, a.dtype) for k, a in x.items()} == {
        "words": ((2, 8), np.int32), "chars": ((2, 32), np.int32), "casing": ((2, 8), np.int32)}
    assert x["words"].tolist() == [[8, 3, 0, 0, 0, 0, 0, 0], [4, 2, 0, 0, 0, 0, 0, 0]]
    assert x["casing"].tolist() == [[3, 3, 0, 0, 0, 0, 0, 0], [4, 5, 0, 0, 0, 0, 0, 0]]
    # labels: O=0 B-LOC=1 B-MISC=2 B-ORG=3 B-PER=4 I-PER=5
    assert y.dtype == np.int32 and y.tolist() == [[4, 5, 0, 0, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0, 0, 0]]
    enc = v.chars.encode
    # packed: the words' characters in order, one 0 between words ("Hanna Berg": 10 slots, "CAIRO 2003-04-17": 16)
    assert x["chars"][0].tolist() == enc("Hanna").tolist() + [0] + enc("Berg").tolist() + [0] * 22
    assert x["chars"][1].tolist() == enc("CAIRO").tolist() + [0] + enc("2003-04-17").tolist() + [0] * 16
    x1, y1 = ds[1]
    assert x1["words"].tolist() == [[6, 9, 7, 5, 0, 0, 0, 0]] and y1.tolist() == [[3, 0, 2, 0, 0, 0, 0, 0]]
    with pytest.raises(IndexError):
        ds[2]


def test_char_gap_puts_that_many_zeros_between_words():
    v = build_vocabularies(TOKENS, TAGS)
    ds = TaggingBatches(TOKENS, v, TAGS, batch_size=3, buckets=(1,), char_buckets=(1,), char_gap=2)
    x, _ = ds[0]
    enc = v.chars.encode
    row = ds.batch_indices(0).tolist().index(1)
    # the longest packed row: "FIFA praises Greek deal" = 20 characters + 3 gaps of 2
    assert x["chars"].shape == (3, 26) and ds.batch_shape(0) == (3, 4, 26)
    assert x["chars"][row].tolist() == enc("Hanna").tolist() + [0, 0] + enc("Berg").tolist() + [0] * 15


def test_without_tags_items_are_inputs_only():
    v = build_vocabularies(TOKENS, TAGS)
    x = TaggingBatches([["Unseen", "deal"], []], v, workers=2, max_queue_size=3)[0]
    assert isinstance(x, dict) and x["words"].tolist() == [[0] * 8, [1, 5] + [0] * 6]
    assert TaggingBatches(TOKENS, v, workers=2).workers == 2


def test_every_batch_is_exact_padded_and_untruncated(big):
    tokens, tags, v = big
    ds = TaggingBatches(tokens, v, tags, batch_size=16, shuffle=True, seed=3)
    seen = []
    for i in range(len(ds)):
        x, y = ds[i]
        idx = ds.batch_indices(i)
        seen += idx.tolist()
        t = bucket_length(max(len(tokens[s]) for s in idx), ds.buckets)
        c = bucket_length(max(sum(map(len, tokens[s])) + len(tokens[s]) - 1 for s in idx), ds.char_buckets)
        assert x["words"].shape == (len(idx), t) and x["chars"].shape == (len(idx), c) and ds.batch_shape(i) == (
            len(idx), t, c)
        for row, s in enumerate(idx):
            n = len(tokens[s])
            assert x["words"][row, :n].tolist() == v.words.encode(tokens[s]).tolist()
            assert y[row, :n].tolist() == v.labels.encode(tags[s]).tolist()
            assert not x["words"][row, n:].any() and not y[row, n:].any() and not x["casing"][row, n:].any()
            assert x["casing"][row, :n].all()
            packed = [c for w in tokens[s] for c in v.chars.encode(w).tolist() + [0]][:-1]
            assert x["chars"][row, :len(packed)].tolist() == packed and not x["chars"][row, len(packed):].any()
    assert sorted(seen) == list(range(len(tokens)))


def test_unshuffled_batches_are_length_sorted_and_cover_everything(big):
    tokens, tags, v = big
    ds = TaggingBatches(tokens, v, tags, batch_size=32)
    order = np.concatenate([ds.batch_indices(i) for i in range(len(ds))])
    assert sorted(order.tolist()) == list(range(len(tokens)))
    assert len(ds) == 10 and sorted(len(ds.batch_indices(i)) for i in range(len(ds)))[:2] == [12, 32]
    by_len = sorted(range(len(tokens)), key=lambda s: (len(tokens[s]), s))
    batches = sorted((ds.batch_indices(i).tolist() for i in range(len(ds))), key=lambda b: (len(tokens[b[0]]), b))
    assert sum(batches, []) == by_len


def test_few_distinct_shapes_and_similar_lengths_per_batch(big):
    tokens, tags, v = big
    ds = TaggingBatches(tokens, v, tags, batch_size=16, shuffle=True, seed=0)
    for epoch in range(3):
        shapes = {ds.batch_shape(i)[1:] for i in range(len(ds))}
        assert {t for t, _ in shapes} <= {8, 16, 24, 32, 48, 64, 96, 128, 256, 384}
        assert all(c in ds.char_buckets or c % ds.char_buckets[-1] == 0 for _, c in shapes)
        # batches are contiguous runs of the sentences sorted by length bucket: they never interleave
        own = sorted(sorted(bucket_length(len(tokens[s]), ds.buckets) for s in ds.batch_indices(i))
                     for i in range(len(ds)))
        assert all(a[-1] <= b[0] for a, b in zip(own, own[1:]))
        assert sum(len(b) > 1 and b[0] != b[-1] for b in own) <= 9     # at most one batch per bucket boundary
        ds.set_epoch(epoch + 1)


def test_first_two_batches_witness_every_varying_dimension(big):
    tokens, tags, v = big
    for shuffle in (False, True):
        ds = TaggingBatches(tokens, v, tags, batch_size=8, shuffle=shuffle, seed=5)
        for epoch in range(4):
            ds.set_epoch(epoch)
            (_, t0, c0), (_, t1, c1) = ds.batch_shape(0), ds.batch_shape(1)
            assert t0 != t1 and c0 != c1
    # only the char length varies: the first two batches must still differ in L
    v2 = build_vocabularies([["a"], ["b" * 40], ["c"]], [["O"]] * 3)
    ds = TaggingBatches([["a"], ["b" * 40], ["c"]], v2, batch_size=1)
    assert [ds.batch_shape(i)[2] for i in range(3)] == [32, 64, 32]


def test_shuffle_is_deterministic_per_seed_and_epoch(big):
    tokens, tags, v = big

    def epochs(seed, n=3):
        ds = TaggingBatches(tokens, v, tags, batch_size=16, shuffle=True, seed=seed)
        out = []
        for epoch in range(n):
            assert ds.epoch == epoch
            out.append([ds.batch_indices(i).tolist() for i in range(len(ds))])
            ds.set_epoch(epoch + 1)
        return out

    a, b, c = epochs(7), epochs(7), epochs(8)
    assert a == b and a[0] != c[0]
    assert a[0] != a[1] != a[2]
    assert {tuple(x) for x in a[0]} != {tuple(x) for x in a[1]}       # membership changes, not only order
    for batches in a:
        assert sorted(sum(batches, [])) == list(range(len(tokens)))
    ds = TaggingBatches(tokens, v, tags, batch_size=16, shuffle=True, seed=7)
    ds.set_epoch(2)
    assert ds.epoch == 2 and [ds.batch_indices(i).tolist() for i in range(len(ds))] == a[2]
    ds[0], ds[len(ds) - 1]                               # building items never changes the plan
    assert [ds.batch_indices(i).tolist() for i in range(len(ds))] == a[2]


def test_on_epoch_end_counts_only_complete_epochs(big):
    tokens, tags, v = big
    ds = TaggingBatches(tokens, v, tags, batch_size=16, shuffle=True, seed=7)
    first = ds.batch_indices(0)
    ds[0], ds[1]                                         # Keras (TF) builds these to learn the shapes,
    ds.on_epoch_end()                                    # then calls on_epoch_end before fit's first epoch
    assert ds.epoch == 0 and np.array_equal(ds.batch_indices(0), first)
    for i in range(len(ds)):
        ds[i]
    ds.on_epoch_end()
    ds.on_epoch_end()
    assert ds.epoch == 1 and not np.array_equal(ds.batch_indices(0), first)
    ds.set_epoch(5)
    ds.on_epoch_end()                                    # resuming at epoch 5 serves epoch 5
    assert ds.epoch == 5


def singleton_corpus():
    """'the' 300 times, 'cat' twice, 400 words seen once."""
    words = [f"w{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(400)]   # distinct even after digits -> 0
    tokens = [["the"] * 3 + words[i:i + 4] for i in range(0, 400, 4)]
    tokens[0] += ["cat", "cat"]
    return tokens, [["O"] * len(s) for s in tokens]


def test_word_dropout_replaces_only_singletons_deterministically():
    tokens, tags = singleton_corpus()
    v = build_vocabularies(tokens, tags)
    the, cat, unk = v.words.encode(["the", "cat", "?"]).tolist()

    def words(ds, epoch):
        ds.set_epoch(epoch)
        return [ds[i][0]["words"] for i in range(len(ds))]

    clean = words(TaggingBatches(tokens, v, tags, batch_size=10), 0)
    ds = TaggingBatches(tokens, v, tags, batch_size=10, word_dropout=0.5, seed=1)
    e0, e0_again, e1 = words(ds, 0), words(ds, 0), words(ds, 1)
    assert all(np.array_equal(a, b) for a, b in zip(e0, e0_again))
    assert not all(np.array_equal(a, b) for a, b in zip(e0, e1))
    dropped = kept = 0
    for a, b in zip(clean, e0):
        changed = a != b
        assert (b[changed] == unk).all()
        assert not np.isin(a[changed], [0, the, cat]).any()       # never padding or words seen twice
        dropped += int(changed.sum())
        kept += int(((a != 0) & (a != the) & (a != cat) & ~changed).sum())
    assert dropped + kept == 400 and 160 < dropped < 240       # about half of the 400 singletons
    other = TaggingBatches(tokens, v, tags, batch_size=10, word_dropout=0.5, seed=2)
    assert not all(np.array_equal(a, b) for a, b in zip(e0, words(other, 0)))


def test_word_dropout_with_explicit_ids():
    tokens, tags = singleton_corpus()
    v = build_vocabularies(tokens, tags)
    the, unk = v.words.encode(["the", "?"]).tolist()
    ds = TaggingBatches(tokens, v, tags, batch_size=100, word_dropout=0.9, dropout_ids=[the])
    w = ds[0][0]["words"]
    dropped = (w == unk).sum()
    assert 240 < dropped < 300 and (w == the).sum() + dropped == 300
    with pytest.raises(NerError):
        TaggingBatches(tokens, v, tags, word_dropout=0.5, dropout_ids=[len(v.words)])


def test_hundred_thousand_token_sentence():
    tokens = [["tok"] * 99_999 + ["end" * 5], ["short"]]
    tags = [["O"] * 100_000, ["O"]]
    v = build_vocabularies(tokens, tags)
    ds = TaggingBatches(tokens, v, tags, batch_size=2)
    x, y = ds[0]
    # 99,999 x "tok" + "end" x 5 with 99,999 gaps: 400,011 packed characters -> bucket 400,384 (782 x 512)
    assert x["words"].shape == (2, 100_096) and x["chars"].shape == (2, 400_384) and y.shape == (2, 100_096)
    row = ds.batch_indices(0).tolist().index(0)
    assert x["chars"][row, 399_995:400_011].tolist() == [0] + v.chars.encode("end" * 5).tolist()
    assert not x["chars"][row, 400_011:].any()
    assert (x["words"][row] != 0).sum() == 100_000 and (x["words"][1 - row] != 0).sum() == 1


def test_user_errors():
    v = build_vocabularies(TOKENS, TAGS)
    with pytest.raises(NerError, match="sentence 1: 1 tags for 2 tokens"):
        TaggingBatches(TOKENS, v, [TAGS[0], ["O"], TAGS[2]])
    with pytest.raises(NerError, match=r"sentence 2: 'B-FOO'"):
        TaggingBatches(TOKENS, v, [TAGS[0], TAGS[1], ["B-FOO", "O"]])
    with pytest.raises(NerError):
        TaggingBatches(TOKENS, v, TAGS[:2])
    for bad in (dict(batch_size=0), dict(buckets=(16, 8)), dict(buckets=()), dict(word_dropout=1.0), dict(char_gap=0)):
        with pytest.raises(NerError):
            TaggingBatches(TOKENS, v, TAGS, **bad)


def test_keras_fit_and_predict_with_varying_shapes():
    """Keras' TF backend fixes shapes from the first two batches: later, larger batches must still fit."""
    import keras

    tokens = [["Ann", "met", "Bob"]] * 8 + [["Paris"] * 20] * 4 + [["x" * 40] * 50] * 4
    tags = [["B-PER", "O", "B-PER"]] * 8 + [["B-LOC"] * 20] * 4 + [["O"] * 50] * 4
    v = build_vocabularies(tokens, tags)
    ds = TaggingBatches(tokens, v, tags, batch_size=4)
    # sorted by length the first two batches would both be (8, 32), then (24, 128), (64, 2560)
    assert [ds.batch_shape(i)[1:] for i in range(len(ds))] == [(8, 32), (24, 128), (8, 32), (64, 2560)]
    words = keras.Input((None,), dtype="int32", name="words")
    chars = keras.Input((None,), dtype="int32", name="chars")
    casing = keras.Input((None,), dtype="int32", name="casing")
    h = keras.layers.Embedding(len(v.words), 4)(words) + keras.layers.Embedding(8, 4)(casing)
    h = h + keras.ops.mean(keras.layers.Embedding(len(v.chars), 4)(chars), axis=1, keepdims=True)
    model = keras.Model({"words": words, "chars": chars, "casing": casing},
                        keras.layers.Dense(len(v.labels))(h))
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(ds, epochs=2, shuffle=False, verbose=0)
    assert len(history.history["loss"]) == 2 and ds.epoch == 2
    out = model.predict_on_batch(ds[len(ds) - 1][0])
    assert out.shape[:2] == ds.batch_shape(len(ds) - 1)[:2]


def test_batch_layout_per_backend():
    model = types.SimpleNamespace(char_gap=2)
    assert batch_layout(model, "tensorflow") == {"buckets": EXACT, "char_buckets": EXACT, "char_gap": 2,
                                                 "context": False}
    reader = types.SimpleNamespace(char_gap=1, reads_documents=True)
    assert batch_layout(reader, "tensorflow")["context"] is True
    assert batch_layout(model, "torch")["buckets"] == BUCKETS
    pytest.importorskip("jax")
    import jax

    expected = CPU_BUCKETS if jax.default_backend() == "cpu" else BUCKETS
    assert batch_layout(model, "jax") == {"buckets": expected, "char_buckets": CHAR_BUCKETS, "char_gap": 2,
                                          "context": False}
    assert set(BUCKETS) <= set(CPU_BUCKETS)   # finer on the CPU, same range
