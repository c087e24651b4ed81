"""ner.backend.compile_cache: JAX's persistent compilation cache on by default, the user's setting kept."""

import os
import sys

from ner.backend.compile_cache import ENV, default_dir, enable_compile_cache


def test_default_folder_when_unset(monkeypatch, tmp_path):
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    jax = sys.modules.get("jax")
    before = jax.config.jax_compilation_cache_dir if jax else None
    try:
        assert enable_compile_cache() == str(tmp_path / "ner" / "jax") == str(default_dir())
        assert os.environ[ENV] == str(tmp_path / "ner" / "jax")
        if jax:
            assert jax.config.jax_compilation_cache_dir == str(tmp_path / "ner" / "jax")
    finally:
        if jax:
            jax.config.update("jax_compilation_cache_dir", before)


def test_user_setting_wins(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV, str(tmp_path / "mine"))
    assert enable_compile_cache() == str(tmp_path / "mine")
    monkeypatch.setenv(ENV, "")
    assert enable_compile_cache() is None
