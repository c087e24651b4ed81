"""notebooks/tag_text.ipynb runs top to bottom (training small bundles, since none exist)."""

from __future__ import annotations

import nbformat
from nbclient import NotebookClient

from conftest import ROOT


def test_notebook_executes(tmp_path, monkeypatch):
    monkeypatch.setenv("NER_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("NER_NOTEBOOK_EPOCHS", "1")
    monkeypatch.setenv("NER_ROOT", str(ROOT))
    nb = nbformat.read(ROOT / "notebooks" / "tag_text.ipynb", as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    html = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert "<mark" in html or "<p>" in html  # highlighted sentences were displayed
    assert html.count("<table>") == 2  # one per-type table per language
    assert (tmp_path / "models" / "sample-en" / "bundle.json").exists()
    assert (tmp_path / "models" / "sample-zh" / "bundle.json").exists()
