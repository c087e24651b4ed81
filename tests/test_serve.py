"""``ner serve``: the HTTP contract in-process (FastAPI's test client), batching across requests counted in decoding
passes, limits and bad input, and a real server process that drains its requests on SIGTERM."""

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

httpx = pytest.importorskip("httpx")
TestClient = pytest.importorskip("fastapi.testclient").TestClient

from ner.service.app import Limits, create_app, load_taggers  # noqa: E402  (after the serve extra is known there)

from helpers import OLD_BUNDLES, ROOT, one_line_error  # noqa: E402

CRF, SOFTMAX = OLD_BUNDLES / "fused-crf-adam", OLD_BUNDLES / "conv-softmax-sgd"
TEXT = "The ferry from Oban to Craignure was cancelled because of high winds ."


@pytest.fixture(scope="module")
def taggers():
    return load_taggers([str(CRF), str(SOFTMAX)])


@pytest.fixture()
def client(taggers):
    with TestClient(create_app(taggers, Limits(max_body_bytes=2000, max_chars=300, max_texts=3, max_nbest=5))) as c:
        yield c


def test_tag_answers_each_text_for_each_model_as_the_tagger_does(client, taggers):
    texts = [TEXT, "Anna Lindqvist flew home .", ""]
    answer = client.post("/tag", json={"texts": texts}).json()
    assert [r["text"] for r in answer["results"]] == texts
    for name, tagger in taggers.items():
        assert [r["models"][name]["entities"] for r in answer["results"]] == tagger.tag_many(texts)
    one = client.post("/tag", json={"text": TEXT, "models": ["fused-crf-adam"]}).json()
    assert list(one["results"][0]["models"]) == ["fused-crf-adam"] and "sentences" not in one["results"][0]["models"][
        "fused-crf-adam"]


def test_tokens_marginals_and_nbest(client, taggers):
    answer = client.post("/tag", json={"text": TEXT, "models": ["fused-crf-adam"], "tokens": True,
                                       "marginals": True, "nbest": 3}).json()
    (sentence,) = answer["results"][0]["models"]["fused-crf-adam"]["sentences"]
    tokens = [t["text"] for t in sentence["tokens"]]
    assert tokens == TEXT.split() and [t["tag"] for t in sentence["tokens"]] == \
        taggers["fused-crf-adam"].tag_sentences([tokens])[0]   # in the scheme of the training data
    assert all(sum(m.values()) == pytest.approx(1.0) for m in sentence["marginals"])
    assert sentence["nbest"] == taggers["fused-crf-adam"].tag(TEXT, nbest=3)[0]["analyses"]


@pytest.mark.parametrize("body, status, error", [
    (b"{not json", 422, "malformed JSON"),
    (b"\xff\xfe", 422, "malformed JSON"),
    (json.dumps({"text": 3}).encode(), 422, "text: Input should be a valid string"),
    (json.dumps({"texts": ["a", 1]}).encode(), 422, "texts.1: Input should be a valid string"),
    (json.dumps({"text": "a", "tokens": "yes"}).encode(), 422, "tokens: Input should be a valid boolean"),
    (json.dumps({"text": "a", "file": "/etc/passwd"}).encode(), 422, "file: Extra inputs are not permitted"),
    (json.dumps({"text": "a", "texts": ["b"]}).encode(), 422, "body: give exactly one of 'text' and 'texts'"),
    (json.dumps({}).encode(), 422, "body: give exactly one of 'text' and 'texts'"),
    (json.dumps([1, 2]).encode(), 422, "Input should be a valid dictionary"),
    (json.dumps({"text": "a", "nbest": 0}).encode(), 422, "nbest: Input should be greater than or equal to 1"),
    (json.dumps({"text": "a", "nbest": 6}).encode(), 422, "nbest: 6 analyses, the limit is 5"),
    (json.dumps({"text": "a", "nbest": 2}).encode(), 422, "nbest: model 'conv-softmax-sgd' has no CRF head"),
    (json.dumps({"text": "a", "models": ["../../etc"]}).encode(), 404, "models: unknown model '../../etc'"),
    (json.dumps({"texts": ["a"] * 4}).encode(), 413, "texts: 4 texts, the limit is 3 per request"),
    (json.dumps({"text": "a" * 301}).encode(), 413, "texts[0]: 301 characters, the limit is 300"),
    (json.dumps({"text": "a" * 2500}).encode(), 413, "body: 2512 bytes, the limit is 2000"),
    (b"[" * 50 + b"]" * 50, 422, "Input should be a valid dictionary"),
    (b"[" * 60 + b"]" * 50, 422, "malformed JSON"),
    (b'{"text": "Paris \\ud800 ."}', 422, "texts[0]: not valid Unicode (character 6)"),
])
def test_bad_requests_get_a_status_and_one_line(client, body, status, error):
    response = client.post("/tag", content=body, headers={"content-type": "application/json"})
    assert response.status_code == status
    reason = response.json()["error"]
    assert error in reason and "\n" not in reason
    assert client.get("/health").json()["status"] == "ok"   # and the server goes on


def test_models_health_and_the_openapi_page(client):
    models = client.get("/models").json()
    assert list(models) == ["fused-crf-adam", "conv-softmax-sgd"] and models["fused-crf-adam"]["head"] == "crf"
    assert client.get("/health").json() == {"status": "ok", "models": ["fused-crf-adam", "conv-softmax-sgd"],
                                            "browse": False, "types": [], "pending": 0}
    assert client.get("/browse").status_code == 404 and "--data CORPUS" in client.get("/browse").json()["error"]
    assert client.get("/docs").status_code == 200 and "TagRequest" in client.get("/openapi.json").text


def test_requests_arriving_together_are_decoded_in_one_pass(taggers):
    """Eight concurrent requests within the wait: one decoding pass per model; with max_batch 2: four."""
    async def burst(app, n):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ner") as http:
            return await asyncio.gather(*(http.post("/tag", json={"text": f"{TEXT} {i}", "models": ["fused-crf-adam"],
                                                                  "tokens": True}) for i in range(n)))

    for max_batch, passes in ((64, 1), (2, 4)):
        app = create_app(taggers, Limits(batch_wait_ms=2000, max_batch=max_batch))
        answers = asyncio.run(burst(app, 8))
        # each answer is its own text's: the last token the model saw is the request's number
        assert [a.json()["results"][0]["models"]["fused-crf-adam"]["sentences"][-1]["tokens"][-1]["text"]
                for a in answers] == [str(i) for i in range(8)]
        assert app.state.batchers["fused-crf-adam"].passes == passes
        assert app.state.batchers["conv-softmax-sgd"].passes == 0


def test_a_model_named_twice_is_decoded_once(taggers):
    app = create_app(taggers)
    with TestClient(app) as c:
        answer = c.post("/tag", json={"text": TEXT, "models": ["fused-crf-adam"] * 50}).json()
    assert list(answer["results"][0]["models"]) == ["fused-crf-adam"]
    assert app.state.batchers["fused-crf-adam"].passes == 1


def test_a_failure_inside_is_one_json_line_and_the_server_goes_on(taggers, monkeypatch):
    app = create_app(taggers)
    with TestClient(app, raise_server_exceptions=False) as c:
        monkeypatch.setattr(app.state.batchers["fused-crf-adam"], "decode", lambda texts, options: 1 / 0)
        response = c.post("/tag", json={"text": TEXT, "models": ["fused-crf-adam"]})
        assert response.status_code == 500 and response.json() == {"error": "internal error (ZeroDivisionError)"}
        assert c.post("/tag", json={"text": TEXT, "models": ["conv-softmax-sgd"]}).status_code == 200


def test_serve_without_fastapi_names_the_install(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    assert one_line_error(capsys, ["serve", CRF]) == \
        "ner: error: ner serve needs FastAPI and uvicorn (uvicorn is missing): pip install 'ner[serve]'"


def test_serve_refuses_a_bundle_the_numpy_runtime_cannot_run(tmp_path, capsys):
    import shutil

    bundle = shutil.copytree(CRF, tmp_path / "keras-only")
    (bundle / "weights.npz").unlink()
    assert one_line_error(capsys, ["serve", bundle]) == (f"ner: error: {bundle}: the numpy runtime cannot run this "
                                                         "bundle (no weights.npz); ner serve tags with the numpy "
                                                         "runtime only")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_real_server_answers_concurrent_requests_and_drains_on_sigterm():
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "ner", "serve", str(CRF), "--port", str(port),
                               "--batch-wait-ms", "3000"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env={**os.environ, "KERAS_BACKEND": "tensorflow"})
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=1) as r:
                    if json.load(r)["status"] == "ok":
                        break
            except OSError:
                time.sleep(0.1)
        answers, errors = [None] * 6, []

        def ask(i):
            body = json.dumps({"text": f"{TEXT} {i}", "tokens": True}).encode()
            request = urllib.request.Request(f"{url}/tag", data=body, headers={"content-type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=60) as r:
                    answers[i] = json.load(r)
            except Exception as exc:  # noqa: BLE001  (reported below)
                errors.append(repr(exc))

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for _ in range(600):   # until all six wait for their batch (3 s from the first), then stop the server
            with urllib.request.urlopen(f"{url}/health", timeout=5) as r:
                if json.load(r)["pending"] == 6:
                    break
            time.sleep(0.01)
        server.send_signal(signal.SIGTERM)
        for t in threads:
            t.join(timeout=60)
        assert server.wait(timeout=60) == 0 and errors == []
        assert [a["results"][0]["models"]["fused-crf-adam"]["sentences"][-1]["tokens"][-1]["text"]
                for a in answers] == [str(i) for i in range(6)]
    finally:
        server.kill()
        server.communicate()


def test_the_service_imports_no_framework():
    """Loading the models and answering /tag imports neither Keras, TensorFlow, JAX nor datasets."""
    code = (f"from fastapi.testclient import TestClient\nfrom ner.service.app import create_app, load_taggers\n"
            f"app = create_app(load_taggers([{str(CRF)!r}]))\n"
            f"with TestClient(app) as c:\n    assert c.post('/tag', json={{'text': {TEXT!r}}}).status_code == 200\n"
            "import json, sys\nprint(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'keras', 'tensorflow', 'jax', 'datasets'})))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_a_compare_folder_serves_every_run_by_its_name(tmp_path):
    import shutil

    from ner.io.outputs import MARK

    report = tmp_path / "report"
    for run in ("lstm-crf-s1", "bilstm-crf-s1"):
        shutil.copytree(CRF, report / "runs" / run / "model")
    (report / MARK).write_text(json.dumps({"written_by": "ner", "kind": "comparison"}))
    taggers = load_taggers([str(report), str(SOFTMAX)])
    assert sorted(taggers) == ["bilstm-crf-s1", "conv-softmax-sgd", "lstm-crf-s1"]
    with pytest.raises(Exception, match="a second model named 'conv-softmax-sgd'"):
        load_taggers([str(SOFTMAX), str(SOFTMAX)])
