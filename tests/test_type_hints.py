"""Every public function and method of the ner package annotates its parameters and its return value.

Public: a module-level function whose name does not start with ``_``; a method whose name does not start
with ``_`` (or ``__init__``) of a class whose name does not start with ``_``, also a class nested in such a
class. Functions defined inside functions are not public. ``self``/``cls`` (the first parameter of a method
that is no staticmethod) need no annotation, ``__init__`` no return annotation; ``*args`` and ``**kwargs``
need one (``**kwargs: Any`` where they pass through to Keras). Methods that override a Keras API with
Keras' own signature (``KERAS_OVERRIDES``, and callbacks' ``on_*``) are exempt.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Methods that override a Keras API with Keras' own signature (layers, models, optimizers); callbacks' on_*
# hooks are exempt as well. predict_step/train_step/test_step: Keras' signature differs per backend (JAX
# passes the state too), so an override takes what Keras gives.
KERAS_OVERRIDES = frozenset({"call", "build", "compute_mask", "compute_output_shape", "compute_output_spec",
                             "get_config", "from_config", "update_step", "compute_loss",
                             "predict_step", "train_step", "test_step"})
KERAS_HOOK_PREFIX = "on_"


def _is_exempt_method(name: str) -> bool:
    return name in KERAS_OVERRIDES or name.startswith(KERAS_HOOK_PREFIX)


def _is_staticmethod(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in node.decorator_list)


def _missing(node: ast.FunctionDef | ast.AsyncFunctionDef, method: bool) -> list[str]:
    """Names of the parameters of ``node`` without an annotation, then ``return`` if it lacks one."""
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    if method and not _is_staticmethod(node) and positional:
        positional = positional[1:]   # self or cls
    missing = [a.arg for a in [*positional, *args.kwonlyargs] if a.annotation is None]
    missing += [f"*{a.arg}" for a in [args.vararg] if a is not None and a.annotation is None]
    missing += [f"**{a.arg}" for a in [args.kwarg] if a is not None and a.annotation is None]
    if node.returns is None and node.name != "__init__":
        missing.append("return")
    return missing


def unannotated(source: str, module: str = "<source>") -> list[str]:
    """``module:line qualified.name (missing: ...)`` for every public function of ``source`` that lacks an
    annotation on a parameter or its return value."""
    found = []

    def visit(body: list[ast.stmt], prefix: str, in_class: bool) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                visit(node.body, f"{prefix}{node.name}.", True)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if node.name.startswith("_") and node.name != "__init__" or node.name == "__init__" and not in_class:
                    continue
                if in_class and _is_exempt_method(node.name):
                    continue
                missing = _missing(node, in_class)
                if missing:
                    found.append(f"{module}:{node.lineno} {prefix}{node.name} (missing: {', '.join(missing)})")
            elif isinstance(node, (ast.If, ast.Try)):   # definitions under `if` or `try` at the same level
                for block in (node.body, node.orelse, *(h.body for h in getattr(node, "handlers", ())),
                              getattr(node, "finalbody", [])):
                    visit(block, prefix, in_class)

    visit(ast.parse(source).body, "", False)
    return found


def package_findings(root: Path = ROOT) -> list[str]:
    """The unannotated public functions of every module under ner/."""
    found = []
    for path in sorted((root / "ner").rglob("*.py")):
        found += unannotated(path.read_text(encoding="utf-8"), path.relative_to(root).as_posix())
    return found


def test_public_functions_are_annotated():
    findings = package_findings()
    print("\n".join(findings))
    assert findings == []


@pytest.mark.parametrize("source, expected", [
    ("def tag(text, n=1):\n    pass\n", ["<source>:1 tag (missing: text, n, return)"]),
    ("def tag(text: str) -> list:\n    pass\n", []),
    ("def _tag(text):\n    pass\n", []),
    ("def tag(text: str, **kwargs) -> list:\n    pass\n", ["<source>:1 tag (missing: **kwargs)"]),
    ("class Tagger:\n    def __init__(self, path):\n        pass\n", ["<source>:2 Tagger.__init__ (missing: path)"]),
    ("class Tagger:\n    def __init__(self, path: str):\n        pass\n", []),
    ("class Tagger:\n    def tag(self, text: str):\n        pass\n", ["<source>:2 Tagger.tag (missing: return)"]),
    ("class Tagger:\n    @staticmethod\n    def tag(text: str) -> list:\n        pass\n", []),
    ("class Tagger:\n    @staticmethod\n    def tag(text) -> list:\n        pass\n",
     ["<source>:3 Tagger.tag (missing: text)"]),
    ("class Tagger:\n    def _tag(self, text):\n        pass\n", []),
    ("class _Tagger:\n    def tag(self, text):\n        pass\n", []),
    ("class CRF(keras.layers.Layer):\n    def call(self, inputs, mask=None):\n        pass\n", []),
    ("class Stop(keras.callbacks.Callback):\n    def on_epoch_end(self, epoch, logs=None):\n        pass\n", []),
    ("def call(inputs):\n    pass\n", ["<source>:1 call (missing: inputs, return)"]),
    ("def outer(x: int) -> int:\n    def inner(y):\n        pass\n    return x\n", []),
    ("try:\n    import numba\nexcept ImportError:\n    def jit(f):\n        return f\n",
     ["<source>:4 jit (missing: f, return)"]),
])
def test_the_checker_reports_what_the_rule_says(source, expected):
    assert unannotated(source) == expected
