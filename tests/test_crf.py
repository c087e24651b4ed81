"""CRF layer against a brute-force numpy oracle that enumerates every tag sequence (K <= 5, T <= 5).

Runs on the current Keras backend; CI runs this file on TensorFlow and again with KERAS_BACKEND=jax.
"""

import itertools

import keras
import numpy as np
import pytest
from keras import ops

from ner.layers import crf_parallel
from ner.layers.crf import CRF, CRF_SCANS, FORBIDDEN_SCORE, NBEST_PAD_SCORE
from ner.layers.scan import scan

from helpers import grads, slow_except

BACKEND = keras.backend.backend()
BIO_3 = ["O", "B-X", "I-X"]
BIO_5 = ["O", "B-X", "I-X", "B-Y", "I-Y"]
MASKS = ("allowed_start", "allowed_transitions", "allowed_end")


def bio_allowed(labels):
    """Local BIO constraint masks (independent of ner.data.schemes): start (K,), trans (K, K), end (K,)."""
    k = len(labels)
    start = np.array([not lab.startswith("I-") for lab in labels])
    trans = np.zeros((k, k), bool)
    for i, j in itertools.product(range(k), range(k)):
        trans[i, j] = not labels[j].startswith("I-") or labels[i][2:] == labels[j][2:]
    return start, trans, np.ones(k, bool)


def bio_masks(labels):
    """:func:`bio_allowed` as the CRF's keyword arguments."""
    return dict(zip(MASKS, bio_allowed(labels)))


def np_(x):
    return ops.convert_to_numpy(x)


# ---- the oracle --------------------------------------------------------------------------------------


def effective_weights(crf):
    """start, transitions, end (float64) as the model scores them, constraint penalties included."""
    w = [np_(crf.start).astype(float), np_(crf.transitions).astype(float), np_(crf.end).astype(float)]
    allowed = [getattr(crf, name) for name in MASKS]
    return [x if a is None else x + np.where(a, 0.0, FORBIDDEN_SCORE) for x, a in zip(w, allowed)]


class Brute:
    """Every path of one sequence: e (L, K) float64 emissions of its real steps."""

    def __init__(self, e, start, trans, end):
        length, k = e.shape
        self.paths = np.array(list(itertools.product(range(k), repeat=length)))  # (K**L, L)
        p = self.paths
        emit, moves = e[np.arange(length), p].sum(1), trans[p[:, :-1], p[:, 1:]].sum(1)
        self.scores = start[p[:, 0]] + emit + moves + end[p[:, -1]]
        top = self.scores.max()
        self.log_z = top + np.log(np.exp(self.scores - top).sum())
        self.probs = np.exp(self.scores - self.log_z)
        self.k, self.length = k, length

    def index(self, gold):
        return int(np.ravel_multi_index(tuple(gold), (self.k,) * self.length))

    def counts(self, weights):
        """Expected (weights = probs) or one path's (one-hot weights) feature counts:
        emissions (L, K), start (K,), transitions (K, K), end (K,)."""
        p, rows = self.paths, np.arange(self.length)
        emit, trans = np.zeros((self.length, self.k)), np.zeros((self.k, self.k))
        start, end = np.zeros(self.k), np.zeros(self.k)
        np.add.at(emit, (np.broadcast_to(rows, p.shape), p), weights[:, None])
        np.add.at(start, p[:, 0], weights)
        np.add.at(trans, (p[:, :-1], p[:, 1:]), weights[:, None])
        np.add.at(end, p[:, -1], weights)
        return emit, start, trans, end

    def ll_grads(self, gold):
        """d log p(gold) / d (emissions, start, transitions, end) = gold counts - expected counts."""
        onehot = np.zeros(len(self.paths))
        onehot[self.index(gold)] = 1.0
        return [g - e for g, e in zip(self.counts(onehot), self.counts(self.probs))]


def prefix_suffix(e, start, trans, end):
    """alpha (L, K), beta (L, K) by enumerating prefixes / suffixes, as CRF.forward_backward defines them."""
    length, k = e.shape
    alpha, beta = np.zeros((length, k)), np.zeros((length, k))
    for t in range(length):
        pre = Brute(e[: t + 1], start, trans, np.zeros(k))
        alpha[t] = [np.logaddexp.reduce(pre.scores[pre.paths[:, -1] == j]) for j in range(k)]
        last = t == length - 1
        beta[t] = end if last else [Brute(e[t + 1 :], trans[j], trans, end).log_z for j in range(k)]
    return alpha, beta


def problem(seed, batch, steps, k, constrained, labels=None):
    """Random CRF weights, emissions (B, T, K), mask (B, T) int32 with lengths incl. 1 and T, gold tags
    (B, T) (well-formed when constrained; -1 at padding, which must be ignored) and one oracle per row."""
    rng = np.random.default_rng(seed)
    crf = CRF(num_tags=k, **(bio_masks(labels) if constrained else {}))
    crf.build((None, None, k))
    for w in (crf.start, crf.transitions, crf.end):
        w.assign(rng.normal(size=w.shape).astype("float32"))
    e = (2 * rng.normal(size=(batch, steps, k))).astype("float32")
    lengths = np.r_[1, steps, rng.integers(1, steps + 1, size=batch - 2)]
    mask = (np.arange(steps)[None] < lengths[:, None]).astype("int32")
    start, trans, end = effective_weights(crf)
    oracles = [Brute(e[b, :n].astype(float), start, trans, end) for b, n in enumerate(lengths)]
    tags = np.full((batch, steps), -1, "int32")
    for b, o in enumerate(oracles):  # a well-formed gold path: the sampled path among the non-forbidden ones
        ok = o.scores > FORBIDDEN_SCORE / 2
        tags[b, : lengths[b]] = o.paths[rng.choice(np.flatnonzero(ok))]
    return crf, e, mask, tags, lengths, oracles


PROBLEMS = {  # name: (seed, batch, steps, K, constrained, labels); one shape: eager JAX compiles per shape
    "k5": (1, 4, 5, 5, False, None),
    "bio5": (3, 4, 5, 5, True, BIO_5),
}
NBEST = 4


def outputs(crf, e, mask, tags):
    """Every CRF result as a dict of tensors (used eagerly and inside compiled predict)."""
    alpha, beta, log_z = crf.forward_backward(e, mask)
    best, scores = crf.nbest(e, mask, k=NBEST)
    return {
        "score": crf.score(e, tags, mask),
        "ll": crf.log_likelihood(e, tags, mask),
        "log_partition": crf.log_partition(e, mask),
        "alpha": alpha,
        "beta": beta,
        "log_z": log_z,
        "marginals": crf.marginals(e, mask),
        "decode": crf.decode(e, mask),
        "nbest": best,
        "nbest_scores": scores,
    }


class AllOutputs(keras.layers.Layer):
    """Wraps a built CRF so a functional model can return every result (compiled predict)."""

    def __init__(self, crf, **kwargs):
        super().__init__(**kwargs)
        self.crf = crf

    def call(self, e, tags, m):
        return outputs(self.crf, e, m, tags)


def compiled_outputs(crf, e, mask, tags, jit_compile):
    inputs = [keras.Input((None, e.shape[-1]))] + [keras.Input((None,), dtype="int32") for _ in range(2)]
    model = keras.Model(inputs, AllOutputs(crf)(*inputs))
    model.compile(jit_compile=jit_compile)
    return model.predict([e, tags, mask], batch_size=len(e), verbose=0)


def check_against_oracle(out, crf, e, tags, lengths, oracles):
    out = {name: np_(v) for name, v in out.items()}
    start, trans, end = effective_weights(crf)
    tol = dict(rtol=1e-5, atol=1e-4)
    for got, want in zip(crf.transition_scores(), (start, trans, end)):
        np.testing.assert_allclose(np_(got), want, rtol=1e-6)
    for b, (o, n) in enumerate(zip(oracles, lengths)):
        np.testing.assert_allclose(out["score"][b], o.scores[o.index(tags[b, :n])], **tol)
        np.testing.assert_allclose(out["ll"][b], o.scores[o.index(tags[b, :n])] - o.log_z, **tol)
        np.testing.assert_allclose(out["log_partition"][b], o.log_z, **tol)
        np.testing.assert_allclose(out["log_z"][b], o.log_z, **tol)
        alpha, beta = prefix_suffix(e[b, :n].astype(float), start, trans, end)
        np.testing.assert_allclose(out["alpha"][b, :n], alpha, **tol)
        np.testing.assert_allclose(out["beta"][b, :n], beta, **tol)
        # at padding alpha repeats the last real step and beta is end: alpha + beta still gives log Z
        pad = e.shape[1] - n
        np.testing.assert_array_equal(out["alpha"][b, n:], np.repeat(out["alpha"][b, n - 1 : n], pad, axis=0))
        np.testing.assert_allclose(out["beta"][b, n:], np.repeat(end[None], pad, axis=0), **tol)
        lse = np.logaddexp.reduce((out["alpha"][b] + out["beta"][b]).astype(float), axis=-1)
        np.testing.assert_allclose(lse, o.log_z, **tol)
        np.testing.assert_allclose(out["marginals"][b, :n], o.counts(o.probs)[0], atol=1e-5)
        np.testing.assert_allclose(out["marginals"][b].sum(-1), np.arange(e.shape[1]) < n, atol=1e-5)
        assert out["decode"].dtype == np.int32
        np.testing.assert_array_equal(out["decode"][b, :n], o.paths[np.argmax(o.scores)])
        assert not out["decode"][b, n:].any()
        order = np.argsort(-o.scores)[:NBEST]
        found = len(order)
        np.testing.assert_allclose(out["nbest_scores"][b, :found], o.scores[order], rtol=1e-5, atol=1e-3)
        np.testing.assert_array_equal(out["nbest"][b, :found, :n], o.paths[order])
        assert not out["nbest"][b, :, n:].any()
        assert (out["nbest_scores"][b, found:] == NBEST_PAD_SCORE).all()
        assert not out["nbest"][b, found:].any()


@pytest.fixture(scope="module", params=sorted(PROBLEMS))
def prob(request):
    return problem(*PROBLEMS[request.param])


@pytest.fixture(params=["sequential", "parallel"])
def scan_mode(request):
    """A test's ``CRF(scan=...)``: log Z and Viterbi as loops over time, then (JAX) as parallel tree / scan
    products (on TensorFlow "parallel" falls back to the loop: test_scan_choices_resolve_on_this_machine)."""
    if request.param == "parallel" and BACKEND == "tensorflow":
        pytest.skip("TensorFlow always loops over time")
    if request.param == "parallel" and request.node.callspec.params.get("prob") == "k5":
        pytest.skip("the constrained problem (bio5) covers the parallel forms")
    if request.param == "parallel" and request.node.callspec.params.get("jit_compile") is False:
        pytest.skip("JAX compiles either way")
    return request.param


# ---- results vs the oracle -----------------------------------------------------------------------------


def test_eager_matches_brute_force(prob, scan_mode):
    crf, e, mask, tags, lengths, oracles = prob
    crf.scan = scan_mode
    check_against_oracle(outputs(crf, e, mask, tags), crf, e, tags, lengths, oracles)


@pytest.mark.parametrize("jit_compile", slow_except([False], [False, True]))   # XLA: slow to compile
def test_compiled_matches_brute_force(jit_compile, scan_mode):
    crf, e, mask, tags, lengths, oracles = problem(*PROBLEMS["bio5"])
    crf.scan = scan_mode
    check_against_oracle(compiled_outputs(crf, e, mask, tags, jit_compile), crf, e, tags, lengths, oracles)


def test_gradients_match_brute_force(prob, scan_mode):
    crf, e, mask, tags, lengths, oracles = prob
    crf.scan = scan_mode
    values = [e, np_(crf.start), np_(crf.transitions), np_(crf.end)]

    def total_ll(e, start, trans, end):
        mapping = [(crf.start, start), (crf.transitions, trans), (crf.end, end)]
        with keras.StatelessScope(state_mapping=mapping):
            return ops.sum(crf.log_likelihood(e, tags, mask))

    g_e, g_start, g_trans, g_end = grads(total_ll, *values)
    want = [np.zeros_like(g_e, dtype=float), 0.0, 0.0, 0.0]
    for b, (o, n) in enumerate(zip(oracles, lengths)):
        d_e, d_start, d_trans, d_end = o.ll_grads(tags[b, :n])
        want[0][b, :n] = d_e
        want[1:] = [w + d for w, d in zip(want[1:], (d_start, d_trans, d_end))]
    for got, w in zip((g_e, g_start, g_trans, g_end), want):
        np.testing.assert_allclose(got, w, atol=1e-4)


def test_padding_changes_nothing(prob, scan_mode):
    crf, e, mask, tags, lengths, oracles = prob
    crf.scan = scan_mode
    rng = np.random.default_rng(7)
    extra = 3
    e_pad = np.concatenate([e, 50 * rng.normal(size=(len(e), extra, e.shape[2])).astype("float32")], axis=1)
    mask_pad = np.concatenate([mask, np.zeros((len(e), extra), "int32")], axis=1)
    tags_pad = np.concatenate([tags, rng.integers(-5, 9, size=(len(e), extra)).astype("int32")], axis=1)
    ref = {n: np_(v) for n, v in outputs(crf, e, mask, tags).items()}
    got = {n: np_(v) for n, v in outputs(crf, e_pad, mask_pad, tags_pad).items()}
    for name, r in ref.items():
        g = got[name]
        g = g[..., : e.shape[1], :] if name in ("alpha", "beta", "marginals") else g
        g = g[..., : e.shape[1]] if name in ("decode", "nbest") else g
        np.testing.assert_allclose(g, r, rtol=1e-6, atol=1e-5, err_msg=name)
    # mask=None is "all on".
    full = np.ones_like(mask)
    np.testing.assert_allclose(np_(crf.log_partition(e, None)), np_(crf.log_partition(e, full)), rtol=1e-6)


def test_padded_length_one_compiled(scan_mode):
    crf, e, mask, tags, lengths, oracles = problem(5, 4, 1, 3, True, BIO_3)
    crf.scan = scan_mode
    check_against_oracle(compiled_outputs(crf, e, mask, tags, True), crf, e, tags, lengths, oracles)


# ---- constraints -----------------------------------------------------------------------------------------


def is_allowed(path, allowed):
    start, trans, end = allowed
    return start[path[0]] and end[path[-1]] and all(trans[a, b] for a, b in zip(path[:-1], path[1:]))


def test_constrained_decoding_is_well_formed():
    rng = np.random.default_rng(11)
    allowed = bio_allowed(BIO_5)
    crf = CRF(**bio_masks(BIO_5))
    e = rng.normal(size=(8, 6, 5)).astype("float32")
    e[..., [2, 4]] += 20.0  # emissions that want I- tags everywhere
    mask = (np.arange(6)[None] < rng.integers(1, 7, size=(8, 1))).astype("int32")
    lengths = mask.sum(1)
    for b, path in enumerate(np_(crf.decode(e, mask))):
        assert is_allowed(path[: lengths[b]], allowed), path
    best, scores = crf.nbest(e, mask, k=3)
    for b, paths in enumerate(np_(best)):
        for path in paths:
            assert is_allowed(path[: lengths[b]], allowed), path


def test_masks_and_scan_in_config():
    crf = CRF(**bio_masks(BIO_5), scan="parallel")
    assert crf.num_tags == 5 and crf.scan == "parallel"
    crf.build((None, None, 5))
    assert len(crf.trainable_weights) == 3 and not crf.non_trainable_weights
    config = crf.get_config()
    assert config["scan"] == "parallel" and config["allowed_transitions"] == bio_allowed(BIO_5)[1].tolist()
    clone = CRF.from_config(config)
    assert (clone.num_tags, clone.scan) == (5, "parallel") and clone.get_config() == config
    for name, want in zip(MASKS, bio_allowed(BIO_5)):
        np.testing.assert_array_equal(getattr(clone, name), want)
    partial = CRF.from_config(CRF(allowed_end=[True, False, True]).get_config())   # any mask may be left out
    assert (partial.num_tags, partial.allowed_start, partial.scan) == (3, None, "auto")
    np.testing.assert_array_equal(partial.allowed_end, [True, False, True])


@pytest.mark.parametrize("scan_choice", CRF_SCANS)
def test_model_with_crf_saves_and_loads_without_custom_objects(tmp_path, scan_choice):
    rng = np.random.default_rng(3)
    inp = keras.Input((None, 6))
    out = CRF(**bio_masks(BIO_3), scan=scan_choice)(keras.layers.Dense(3)(inp))
    model = keras.Model(inp, out)
    crf = model.layers[-1]
    crf.transitions.assign(rng.normal(size=(3, 3)).astype("float32"))
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    crf2 = loaded.layers[-1]
    assert isinstance(crf2, CRF) and crf2.get_config() == crf.get_config() and crf2.scan == scan_choice
    np.testing.assert_array_equal(np_(crf2.transitions), np_(crf.transitions))
    x = rng.normal(size=(2, 4, 6)).astype("float32")
    np.testing.assert_allclose(np_(loaded(x)), np_(model(x)), rtol=1e-6)
    np.testing.assert_array_equal(np_(crf2.decode(loaded(x))), np_(crf.decode(model(x))))


def test_call_returns_emissions_and_drops_the_keras_mask():
    ids = keras.Input((None,), dtype="int32")
    x = keras.layers.Dense(4)(keras.layers.Embedding(10, 3, mask_zero=True)(ids))
    assert getattr(x, "_keras_mask", None) is not None
    y = CRF()(x)
    assert getattr(y, "_keras_mask", None) is None
    e = np.random.default_rng(0).normal(size=(2, 3, 4)).astype("float32")
    np.testing.assert_array_equal(np_(CRF()(e, mask=np.array([[1, 1, 0], [1, 0, 0]]))), e)


# ---- the per-backend loop --------------------------------------------------------------------------------


def scan_step(consts, carry, x):
    """carry <- scale * carry + (v * v if flag else v); outputs the carry and whether its rows sum > 0."""
    v, flag = x
    carry = consts[0] * carry + ops.where(flag, v * v, v)
    return carry, (carry, ops.cast(ops.sum(carry, axis=-1) > 0, "int32"))


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("steps", [1, 4])
def test_scan_matches_a_python_loop(steps, reverse):
    rng = np.random.default_rng(steps)
    xs = rng.normal(size=(steps, 2, 3)).astype("float32")
    flags = rng.random(steps) < 0.5

    def run(xs):
        init = ops.ones((2, 3))
        return scan(scan_step, (0.5,), init, (xs, flags), (init, ops.zeros((2,), "int32")), reverse=reverse)

    carry, (ys, signs) = run(xs)
    order = list(reversed(range(steps))) if reverse else list(range(steps))
    c, want, want_g = np.ones((2, 3)), np.zeros((steps, 2, 3)), np.zeros_like(xs)
    for i, t in enumerate(order):
        c = 0.5 * c + (xs[t] ** 2 if flags[t] else xs[t])
        want[t] = c
        # d carry_final / d x_t: the local derivative, halved by each later step
        want_g[t] = 0.5 ** (steps - 1 - i) * (2 * xs[t] if flags[t] else 1.0)
    np.testing.assert_allclose(np_(carry), c, rtol=1e-6)
    np.testing.assert_allclose(np_(ys), want, rtol=1e-6)
    np.testing.assert_array_equal(np_(signs), (want.sum(-1) > 0).astype("int32"))
    (g,) = grads(lambda xs: ops.sum(run(xs)[0]), xs)
    np.testing.assert_allclose(g, want_g, rtol=1e-5)


# ---- execution choices: CRF(scan=...) -------------------------------------------------------------------


def spy_on_parallel_forms(monkeypatch) -> list[str]:
    """Record each call of the parallel forms (through ``ner.layers.crf_parallel``) in the returned list."""
    calls = []
    for name, real in (("forward_scores", crf_parallel.forward_scores), ("viterbi", crf_parallel.viterbi)):
        def spy(*args, _real=real, _name=name):
            calls.append(_name)
            return _real(*args)
        monkeypatch.setattr(crf_parallel, name, spy)
    return calls


@pytest.mark.parametrize("choice", ["auto", "parallel"])
def test_scan_choices_resolve_on_this_machine(choice, monkeypatch):
    """Without a GPU "auto" loops on every backend; an explicit "parallel" runs the parallel forms only on
    JAX (where T is static) and falls back to the loop on TensorFlow, eager and compiled (T unknown there).
    Either way log-likelihoods and Viterbi paths are the loop's."""
    from ner.layers.scan import jax_on_gpu

    if jax_on_gpu():
        pytest.skip("on a GPU auto picks the parallel forms")
    crf, e, mask, tags, lengths, oracles = problem(*PROBLEMS["bio5"])
    loop = CRF.from_config({**crf.get_config(), "scan": "sequential"})
    loop.build((None, None, e.shape[-1]))
    loop.set_weights(crf.get_weights())
    crf.scan = choice
    calls = spy_on_parallel_forms(monkeypatch)
    np.testing.assert_allclose(np_(crf.log_likelihood(e, tags, mask)), np_(loop.log_likelihood(e, tags, mask)),
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(np_(crf.decode(e, mask)), np_(loop.decode(e, mask)))
    assert calls == (["forward_scores", "viterbi"] if choice == "parallel" and BACKEND == "jax" else [])
    if choice == "parallel" and BACKEND == "tensorflow":
        check_against_oracle(compiled_outputs(crf, e, mask, tags, True), crf, e, tags, lengths, oracles)
        assert calls == []


@pytest.mark.skipif(BACKEND != "jax", reason="auto picks the loop-free forms only on JAX")
def test_auto_takes_the_loop_free_forms_on_a_jax_gpu(monkeypatch):
    """With JAX on a GPU (simulated: the one function that detects it says so), "auto" runs the parallel
    CRF forms and FusedLSTM's cuDNN call; "sequential" and "loop" keep the loops there."""
    import ner.layers.crf
    import ner.layers.lstm
    from ner.layers.lstm import FusedLSTM

    monkeypatch.setattr(ner.layers.crf, "jax_on_gpu", lambda: True)
    monkeypatch.setattr(ner.layers.lstm, "jax_on_gpu", lambda: True)
    crf, e, mask, tags, lengths, oracles = problem(*PROBLEMS["bio5"])
    calls = spy_on_parallel_forms(monkeypatch)
    crf.scan = "auto"
    check_against_oracle(compiled_outputs(crf, e, mask, tags, True), crf, e, tags, lengths, oracles)
    assert set(calls) == {"forward_scores", "viterbi"}   # traced once or more per output
    calls.clear()
    crf.scan = "sequential"
    check_against_oracle(compiled_outputs(crf, e, mask, tags, True), crf, e, tags, lengths, oracles)
    assert calls == []
    assert FusedLSTM(4)._cudnn() and not FusedLSTM(4, implementation="loop")._cudnn()


@pytest.mark.skipif(BACKEND != "jax", reason="the parallel forms run on JAX (static T)")
@pytest.mark.parametrize("steps", [1, 2, 7, 33])
def test_parallel_forms_equal_the_loops(steps):
    """crf_parallel's log Z and Viterbi, compiled with a static T, against the CRF's loops on random scores
    with forbidden moves and padded rows of lengths 1..T."""
    import jax

    rng = np.random.default_rng(steps)
    batch, k = 6, 9
    crf = CRF(num_tags=k, allowed_transitions=rng.random((k, k)) > 0.2, scan="sequential")
    crf.build((None, None, k))
    for w in (crf.start, crf.transitions, crf.end):
        w.assign(rng.normal(size=w.shape).astype("float32"))
    e = (3 * rng.normal(size=(batch, steps, k))).astype("float32")
    lengths = np.r_[1, steps, rng.integers(1, steps + 1, size=batch - 2)]
    mask = np.arange(steps)[None] < lengths[:, None]
    start, trans, end = crf.transition_scores()
    e_t, m_t = np.transpose(e, (1, 0, 2)), mask.T                                     # time-major
    alpha = jax.jit(crf_parallel.forward_scores)(start, trans, e_t, m_t)             # (B, K)
    np.testing.assert_allclose(np_(ops.logsumexp(alpha + end, axis=-1)), np_(crf.log_partition(e, mask)),
                               rtol=1e-5)
    path = np_(jax.jit(crf_parallel.viterbi)(start, trans, end, e_t, m_t))             # (T, B)
    np.testing.assert_array_equal(np.where(m_t, path, 0).T, np_(crf.decode(e, mask)))


# ---- training inside model.fit ---------------------------------------------------------------------------


class Batches(keras.utils.PyDataset):
    """Padded batches of different lengths: x = {features (B, T, F), mask (B, T)}, y = tags (B, T)."""

    def __init__(self, batches):
        super().__init__()
        self.batches = batches

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, i):
        return self.batches[i]


class Tagger(keras.Model):
    """Dense emissions + CRF; loss = mean CRF NLL computed in compute_loss (no Keras loss masking)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(3)
        self.crf = CRF(**bio_masks(BIO_3))

    def call(self, x):
        return self.crf(self.dense(x["features"]), mask=x["mask"])

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        return -ops.mean(self.crf.log_likelihood(y_pred, y, x["mask"]))


def training_batches(seed):
    rng = np.random.default_rng(seed)
    batches = []
    for steps in (5, 1, 5):
        lengths = np.r_[steps, rng.integers(1, steps + 1, size=3)]
        mask = (np.arange(steps)[None] < lengths[:, None]).astype("int32")
        tags = np.zeros((4, steps), "int32")
        for b, n in enumerate(lengths):  # well-formed BIO: O, B-X, I-X after B-X/I-X
            for t in range(n):
                tags[b, t] = rng.choice([0, 1, 2] if t and tags[b, t - 1] else [0, 1])
        feats = np.eye(3)[tags] + 0.3 * rng.normal(size=(4, steps, 3))
        feats = np.concatenate([feats, rng.normal(size=(4, steps, 3))], -1).astype("float32")
        batches.append(({"features": feats, "mask": mask}, tags))
    return batches


@pytest.mark.parametrize("jit_compile", slow_except([False], [False, True]))
def test_fit_trains_and_matches_brute_force_nll(jit_compile):
    if not jit_compile and keras.backend.backend() == "jax":
        pytest.skip("JAX fits always compile (Keras' 'auto'); eager JAX is covered by the eager brute-force tests")
    keras.utils.set_random_seed(0)
    batches = training_batches(1)
    model = Tagger()
    model.compile(optimizer=keras.optimizers.Adam(0.05), jit_compile=jit_compile)
    history = model.fit(Batches(batches), epochs=3, verbose=0, shuffle=False)
    losses = history.history["loss"]
    assert np.isfinite(losses).all() and losses[-1] < 0.8 * losses[0], losses
    evaluated = model.evaluate(Batches(batches), verbose=0, return_dict=True)["loss"]
    kernel, bias = np_(model.dense.kernel), np_(model.dense.bias)
    weights = effective_weights(model.crf)
    nll = []
    for x, tags in batches:
        e = x["features"] @ kernel + bias
        for b, n in enumerate(x["mask"].sum(1)):
            o = Brute(e[b, :n].astype(float), *weights)
            nll.append(o.log_z - o.scores[o.index(tags[b, :n])])
    np.testing.assert_allclose(evaluated, np.mean(nll), rtol=1e-4)


# ---- stability and bad input -----------------------------------------------------------------------------


def np_log_partition(e, start, trans, end):
    """Forward algorithm in float64 numpy: e (L, K) -> log Z (the oracle for long sequences)."""
    alpha = start + e[0]
    for e_t in e[1:]:
        x = alpha[:, None] + trans
        top = x.max(0)
        alpha = top + np.log(np.exp(x - top).sum(0)) + e_t
    x = alpha + end
    return x.max() + np.log(np.exp(x - x.max()).sum())


@pytest.mark.slow
def test_long_sequences_and_huge_emissions_stay_finite():
    """T = 2000 (compiled: eager TF loops step by step in Python): row 0 has emissions +-1e4, row 1
    ordinary ones (length 1500) and must match a float64 forward algorithm."""
    rng = np.random.default_rng(5)
    crf, steps = CRF(**bio_masks(BIO_3)), 2000
    huge, ordinary = 1e4 * rng.choice([-1.0, 1.0], size=(steps, 3)), 3 * rng.normal(size=(steps, 3))
    e = np.stack([huge, ordinary]).astype("float32")
    mask = np.ones((2, steps), "int32")
    mask[1, 1500:] = 0
    tags = np.zeros((2, steps), "int32")
    crf.build((None, None, 3))
    out = compiled_outputs(crf, e, mask, tags, jit_compile=True)
    for name, value in out.items():
        assert np.isfinite(value).all(), name
    np.testing.assert_allclose(out["marginals"].sum(-1), mask, atol=1e-4)
    start, trans, end = effective_weights(crf)
    log_z = np_log_partition(e[1, :1500].astype(float), start, trans, end)
    np.testing.assert_allclose(out["log_z"][1], log_z, rtol=1e-4)  # float32 rounding over 1500 steps
    gold = start[0] + e[1, :1500, 0].sum() + 1499 * trans[0, 0] + end[0]
    np.testing.assert_allclose(out["ll"][1], gold - log_z, atol=1e-4 * abs(log_z))

    def total_ll(e, trans):
        with keras.StatelessScope(state_mapping=[(crf.transitions, trans)]):
            return ops.sum(crf.log_likelihood(e, tags, mask))

    for g in grads(total_ll, e, np_(crf.transitions), compiled=True):
        assert np.isfinite(g).all()


def test_bad_input_raises_clear_errors():
    crf = CRF(num_tags=3)
    e = np.zeros((2, 4, 3), "float32")
    tags = np.zeros((2, 4), "int32")
    with pytest.raises(ValueError, match="batch, time, num_tags"):
        crf.log_partition(np.zeros((2, 4), "float32"))
    with pytest.raises(ValueError, match="last dim"):
        crf.log_partition(np.zeros((2, 4, 5), "float32"))
    with pytest.raises(ValueError, match=r"tags must be \(batch, time\)"):
        crf.log_likelihood(e, np.zeros((2, 5), "int32"))
    with pytest.raises(ValueError, match="mask must be"):  # static shapes are checked symbolically too
        CRF()(keras.Input((5, 3)), mask=keras.Input((4,)))
    with pytest.raises(ValueError, match="mask must be"):
        crf.decode(e, np.ones((3, 4), "int32"))
    with pytest.raises(ValueError, match="right-padded"):
        crf.log_partition(e, np.array([[1, 0, 1, 0], [1, 1, 1, 1]]))
    with pytest.raises(ValueError, match=r"mask\[:, 0\]"):
        crf.marginals(e, np.array([[0, 0, 0, 0], [1, 1, 1, 1]]))
    with pytest.raises(ValueError, match=r"in \[0, 3\)"):
        crf.log_likelihood(e, np.array([[0, 3, 0, 0], [0, 0, 0, 0]]))
    with pytest.raises(ValueError, match="no time steps"):
        crf.decode(np.zeros((2, 0, 3), "float32"))
    with pytest.raises(ValueError, match="k must be"):
        crf.nbest(e, k=0)
    with pytest.raises(ValueError, match="inconsistent"):
        CRF(num_tags=4, **bio_masks(BIO_3))
    with pytest.raises(ValueError, match=r"allowed_transitions must have shape \(3, 3\)"):
        CRF(allowed_start=np.ones(3), allowed_transitions=np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"allowed_end must have shape \(2,\)"):
        CRF(num_tags=2, allowed_end=np.ones((2, 2)))
    with pytest.raises(ValueError, match="scan must be one of auto, sequential, parallel"):
        CRF(scan="fast")
    crf.log_likelihood(e, tags, np.array([[1, 1, 0, 0], [1, 1, 1, 1]]))  # the good case passes
