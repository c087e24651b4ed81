"""Imports run one way through the packages (docs/architecture.md) and no module imports itself in a cycle.

Every ``import`` and ``from ... import`` counts, also those inside functions.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Lowest first: a module may import its own package and the packages of earlier layers, nothing later.
LAYERS = [("ner.errors",), ("ner.io", "ner.backend"), ("ner.data",), ("ner.layers",), ("ner.model",),
          ("ner.bundle",), ("ner.inference",), ("ner.evaluation",), ("ner.training",),
          ("ner.comparison", "ner.service", "ner.tagging"), ("ner.commands",), ("ner.cli",), ("ner.__main__",)]
FREE = ("ner",)   # the package root: __version__ and the lazy public API, imports nothing itself
ROOT_NAMES = ("__version__",)   # what a module may take from the root (anything else loads a package lazily)


def module_sources(root: Path = ROOT) -> dict[str, str]:
    """{dotted module name: source} of every module of the ner package."""
    sources = {}
    for path in sorted((root / "ner").rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        sources[name] = path.read_text(encoding="utf-8")
    return sources


def imports(sources: dict[str, str]) -> dict[str, set[str]]:
    """{module: the ner modules it imports}: ``import``, ``from ... import`` (relative too; ``from P import x``
    is module ``P.x`` when that is a module), and ``importlib.import_module("ner....")`` with a literal name.
    Taking a name other than :data:`ROOT_NAMES` from the root package counts as importing ``ner:NAME``."""
    graph = {}
    for name, source in sources.items():
        package = name if _is_package(name, sources) else name.rpartition(".")[0]
        found = set()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                found |= {"ner:*" if alias.name == "ner" else alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:   # relative: from the module's package, one level up per extra dot
                    parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join(parent + ([node.module] if node.module else []))
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    if full in sources:
                        found.add(full)
                    elif base == "ner":
                        found.add("ner" if alias.name in ROOT_NAMES else f"ner:{alias.name}")
                    else:
                        found.add(base)
            elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None))
                  == "import_module" and node.args and isinstance(node.args[0], ast.Constant)):
                found.add(str(node.args[0].value))
        graph[name] = {m for m in found if m == "ner" or m.startswith(("ner.", "ner:"))} - {name}
    return graph


def _is_package(name: str, sources: dict[str, str]) -> bool:
    return any(other.startswith(name + ".") for other in sources)


def layer_of(module: str) -> tuple[int, str]:
    """(layer index, package) of a module."""
    for index, packages in enumerate(LAYERS):
        for package in packages:
            if module == package or module.startswith(package + "."):
                return index, package
    raise AssertionError(f"{module} belongs to no layer: add it to LAYERS and docs/architecture.md")


def backward_imports(graph: dict[str, set[str]]) -> list[str]:
    """``A -> B`` for every import of a module in a later layer (or another package of the same layer)."""
    bad = []
    for module, targets in sorted(graph.items()):
        if module in FREE:
            continue
        (mine, package) = layer_of(module)
        for target in sorted(targets - set(FREE)):
            if target.startswith("ner:"):   # through the root's lazy API: hides which package it loads
                bad.append(f"{module} -> {target}")
                continue
            (theirs, other) = layer_of(target)
            if theirs > mine or theirs == mine and other != package:
                bad.append(f"{module} -> {target}")
    return bad


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Import cycles between modules (each as the path that closes it)."""
    found, state = [], {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph.get(module, ())):
            if state.get(target) == "open":
                found.append(path[path.index(target):] + [target])
            elif target not in state:
                visit(target, path + [target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    return found


def test_every_module_has_a_layer():
    for module in module_sources():
        if module not in FREE:
            layer_of(module)


def test_imports_run_one_way():
    assert backward_imports(imports(module_sources())) == []


def test_no_import_cycles():
    assert cycles(imports(module_sources())) == []


@pytest.mark.parametrize("source, problem", [
    ({"ner.data.corpus": "def f():\n    from ner.training.fit import train\n", "ner.training.fit": ""},
     "ner.data.corpus -> ner.training.fit"),
    ({"ner.io.files": "import ner.backend.allocator\n", "ner.backend.allocator": ""},
     "ner.io.files -> ner.backend.allocator"),
    ({"ner.data": "", "ner.data.corpus": "from ..training import fit\n", "ner.training": "",
      "ner.training.fit": ""}, "ner.data.corpus -> ner.training.fit"),
    ({"ner.data.conll": "import importlib\nm = importlib.import_module('ner.comparison.grid')\n",
      "ner.comparison.grid": ""}, "ner.data.conll -> ner.comparison.grid"),
    ({"ner": "", "ner.io.outputs": "from ner import compare\n"}, "ner.io.outputs -> ner:compare"),
    ({"ner": "", "ner.training.fit": "def f():\n    import ner\n"}, "ner.training.fit -> ner:*"),
])
def test_a_backward_import_inside_a_function_is_found(source, problem):
    assert backward_imports(imports(source)) == [problem]


def test_a_cycle_inside_a_package_is_found():
    source = {"ner.comparison.report": "from ner.comparison import grid\n",
              "ner.comparison.grid": "def f():\n    from ner.comparison.report import write_report\n"}
    assert backward_imports(imports(source)) == []
    assert cycles(imports(source)) == [["ner.comparison.grid", "ner.comparison.report", "ner.comparison.grid"]]


LIGHT = ("ner", "ner.errors", "ner.io.files", "ner.io.outputs", "ner.data.conll", "ner.data.schemes",
         "ner.data.corpus", "ner.data.vocab", "ner.data.arrays", "ner.data.tokenize", "ner.data.prepare",
         "ner.model", "ner.bundle", "ner.inference.tagger", "ner.inference.runtime", "ner.evaluation",
         "ner.comparison", "ner.comparison.results", "ner.comparison.verdicts", "ner.comparison.report",
         "ner.cli", *(f"ner.commands.{m.stem}" for m in (ROOT / "ner" / "commands").glob("[a-z]*.py")))


def _imported_after(code: str) -> list[str]:
    """Which of Keras, TensorFlow, JAX and datasets a fresh interpreter has imported after running ``code``."""
    import subprocess
    import sys

    probe = (f"{code}\nimport json, sys\n"
             "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & {'keras', 'tensorflow', 'jax', "
             "'datasets'})))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_modules_that_need_no_keras_do_not_import_it():
    """Importing these modules never imports Keras, TensorFlow or JAX: the backend choice stays open."""
    code = f"import importlib\nfor name in {LIGHT!r}: importlib.import_module(name)"
    assert [m for m in _imported_after(code) if m != "datasets"] == []


def test_help_info_and_tag_import_no_framework():
    """`ner` without a command, `ner info` and `ner tag` (numpy engine) on a bundle import neither Keras,
    TensorFlow, JAX nor datasets: they start fast."""
    bundle = str(ROOT / "tests" / "bundles" / "fused-crf-adam")
    code = ("import contextlib, io\nfrom ner.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
            f"    codes = [main([]), main(['info', {bundle!r}]), main(['tag', {bundle!r}, 'Paris .'])]\n"
            "assert codes == [2, 0, 0], codes")
    assert _imported_after(code) == []
