"""notebooks/tag_text.ipynb runs top to bottom on the tiny session bundles (the notebook's own training
path is `ner.train` with the sample corpora, tested elsewhere)."""

from __future__ import annotations

import shutil

import nbformat
import pytest
from nbclient import NotebookClient

from helpers import ROOT


@pytest.mark.slow
def test_notebook_executes(crf_bundle, zh_bundle, tmp_path, monkeypatch):
    models = tmp_path / "models"
    shutil.copytree(crf_bundle, models / "sample-en")
    shutil.copytree(zh_bundle, models / "sample-zh")
    monkeypatch.setenv("NER_MODELS_DIR", str(models))
    monkeypatch.setenv("NER_ROOT", str(ROOT))
    nb = nbformat.read(ROOT / "notebooks" / "tag_text.ipynb", as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert not any("training" in o.get("text", "") for o in outputs)  # the bundles were loaded, not trained
    html = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert "<mark" in html or "<p>" in html  # highlighted sentences were displayed
    assert html.count("<table>") == 2  # one per-type table per language
