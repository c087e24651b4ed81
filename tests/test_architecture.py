"""Imports run one way through the packages (docs/architecture.md) and no module imports itself in a cycle.

Every ``import`` and ``from ... import`` counts, also those inside functions.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Lowest first: a module may import its own package and the packages of earlier layers, nothing later.
LAYERS = [("ner.errors",), ("ner.io", "ner.backend"), ("ner.data",), ("ner.layers",), ("ner.model",),
          ("ner.bundle",), ("ner.inference",), ("ner.evaluation",), ("ner.training",), ("ner.comparison",),
          ("ner.commands",), ("ner.cli",), ("ner.__main__",)]
FREE = ("ner",)   # the package root: __version__ and the lazy public API, imports nothing itself


def module_sources(root: Path = ROOT) -> dict[str, str]:
    """{dotted module name: source} of every module of the ner package."""
    sources = {}
    for path in sorted((root / "ner").rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        sources[name] = path.read_text(encoding="utf-8")
    return sources


def imports(sources: dict[str, str]) -> dict[str, set[str]]:
    """{module: the ner modules it imports}; ``from P import x`` is module ``P.x`` when that is a module."""
    graph = {}
    for name, source in sources.items():
        found = set()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in sources else node.module
                          for a in node.names}
        graph[name] = {m for m in found if m == "ner" or m.startswith("ner.")} - {name}
    return graph


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


def test_modules_and_commands_that_need_no_keras_do_not_import_it():
    """Importing these modules, `ner` without a command, `ner info` and `ner tag` (numpy engine) on a
    bundle never import Keras, TensorFlow or JAX: they start fast and leave the backend choice open."""
    import subprocess
    import sys

    bundle = ROOT / "tests" / "bundles" / "fused-crf-adam"
    code = ("import contextlib, importlib, io, sys\n"
            f"for name in {LIGHT!r}: importlib.import_module(name)\n"
            "from ner.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
            f"    codes = [main([]), main(['info', {str(bundle)!r}]), main(['tag', {str(bundle)!r}, 'Paris .'])]\n"
            "print(codes, sorted({m.split('.')[0] for m in sys.modules} & {'keras', 'tensorflow', 'jax'}))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[-2] == "[2, 0, 0] []"
