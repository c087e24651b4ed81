"""README's screenshots (run by hand; need Debian's chromium and the playwright package).

    python docs/screenshots.py page [--width 1100]                 # docs/page.png
    python docs/screenshots.py report reports/sample/index.html    # docs/report-top.png

page: serves the two 0.1.0 test bundles (tests/bundles: a CRF and a softmax model trained on tests/bundles/data)
with browse mode on that corpus, tags one sentence and screenshots the page. report: the top of a comparison
report's index.html (``ner compare --out reports/sample``) at a laptop's width.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUNDLES = ROOT / "tests" / "bundles"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", choices=("page", "report"))
    p.add_argument("report", nargs="?", default="reports/sample/index.html", help="report: its index.html")
    p.add_argument("--width", type=int, default=1100)
    p.add_argument("--out", help="default: docs/page.png or docs/report-top.png")
    args = p.parse_args()
    from playwright.sync_api import sync_playwright

    if args.what == "report":
        out = args.out or str(ROOT / "docs" / "report-top.png")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": args.width, "height": 1400})
            page.goto(Path(args.report).resolve().as_uri())
            page.screenshot(path=out)
            browser.close()
        print(out)
        return 0
    args.out = args.out or str(ROOT / "docs" / "page.png")

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "ner", "serve", str(BUNDLES / "fused-crf-adam"),
                               str(BUNDLES / "conv-softmax-sgd"), "--data", str(BUNDLES / "data"), "--port", str(port)])
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": args.width, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}")
            page.wait_for_selector("#sentences article")
            page.fill("#text", "Tobias Wennerholm , the new manager of Sandvik Lodge FC , promised supporters an "
                               "attacking style of football .")
            page.click("button[type=submit]")
            page.wait_for_selector("#readings .reading")
            page.hover("#readings .tok.disagree")
            page.screenshot(path=args.out, clip={"x": 0, "y": 0, "width": args.width, "height": 1000})
            browser.close()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
