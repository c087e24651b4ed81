"""The page of ``ner serve`` in a real browser: headless Chromium (Debian's package, found on PATH or at
$CHROMIUM) driven by Playwright's Python package, against a real server process. Skipped when no Chromium is
installed (``.ci/run`` installs it)."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from helpers import OLD_BUNDLES, ROOT

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium executable (apt-get install chromium)")
MODELS = [OLD_BUNDLES / "fused-crf-adam", OLD_BUNDLES / "conv-softmax-sgd"]   # same labels, other readings
DATA = OLD_BUNDLES / "data"
SENTENCE = "Tobias Wennerholm , the new manager of Sandvik Lodge FC , promised supporters an attacking style ."


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "ner", "serve", *map(str, MODELS), "--data", str(DATA),
                                "--port", str(port)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=1) as r:
                    assert json.load(r)["browse"] is True
                    break
            except OSError:
                if process.poll() is not None:
                    pytest.fail(process.communicate()[1].decode()[-2000:])
                time.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.mark.parametrize("width", [1280, 375])
def test_type_submit_with_the_keyboard_and_see_the_readings(server, browser, width, tmp_path):
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(server)
    page.wait_for_selector("#browse:not([hidden]) article")   # browse mode loaded its sentences
    page.fill("#text", SENTENCE)
    page.focus("#text")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#readings .reading")
    rows = page.locator("#readings .reading")
    assert rows.count() == 2
    assert [rows.nth(i).get_attribute("data-model") for i in range(2)] == ["fused-crf-adam", "conv-softmax-sgd"]
    first = rows.nth(0)
    assert first.locator(".tok.ent").count() > 0 and "PER" in first.locator(".chip").first.inner_text()
    tags = [[t.get_attribute("data-tag") for t in rows.nth(i).locator(".tok").all()] for i in range(2)]
    marked = [t.evaluate("n => n.classList.contains('disagree')") for t in first.locator(".tok").all()]
    assert marked == [a != b for a, b in zip(*tags)] and any(marked)
    page.keyboard.press("Tab")   # keyboard focus shows a word's tag probabilities
    page.focus("#readings .tok")
    assert page.locator("#readings .tok:focus .tip").is_visible()
    assert "%" in page.locator("#readings .tok:focus .tip").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= width   # no horizontal scroll
    page.screenshot(path=str(tmp_path / f"page-{width}.png"), full_page=True)
    page.close()


def test_browse_mode_ranks_disagreements_and_filters(server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(server)
    page.wait_for_selector("#sentences article")
    shown = page.locator("#sentences article")
    with urllib.request.urlopen(f"{server}/browse") as r:
        expected = json.load(r)["sentences"]
    assert shown.count() == len(expected) > 0
    assert shown.first.locator(".reading").first.get_attribute("data-model") == "gold"
    assert [e["differ"] for e in expected] == sorted((e["differ"] for e in expected), reverse=True)
    with urllib.request.urlopen(f"{server}/browse?filter=all-wrong") as r:
        wrong = json.load(r)["sentences"]
    assert len(wrong) != len(expected)   # the filter shows something else
    page.select_option("#filter", "all-wrong")
    page.click("#show")
    page.wait_for_function(f"document.querySelectorAll('#sentences article').length === {len(wrong)}")
    assert all(not any(s["right"].values()) for s in wrong)
    page.locator("#sentences article").first.focus()   # arrow keys move between sentences
    page.keyboard.press("ArrowDown")
    if len(wrong) > 1:
        assert page.evaluate("document.activeElement === document.querySelectorAll('#sentences article')[1]")
    page.close()
