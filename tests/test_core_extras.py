"""Optional dependencies fail with one line naming the extra that installs them."""

from __future__ import annotations

import re
import sys

import pytest

from grounding_kit.core.extras import EXTRAS, require


def test_require_returns_an_installed_module():
    assert require("json", "dask") is sys.modules["json"]


def test_a_missing_module_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import of it now raises ImportError
    with pytest.raises(ImportError, match=r"pip install 'grounding_kit\[dask\]'"):
        require("distributed", "dask")


def test_an_unknown_extra_is_refused():
    with pytest.raises(ValueError, match=re.escape(f"extra must be one of {sorted(EXTRAS)}")):
        require("json", "gpu")


def test_every_extra_is_declared_in_pyproject():
    import tomllib
    from pathlib import Path

    declared = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert set(EXTRAS) <= set(declared)


def test_the_book_names_the_course_extra_when_sphinx_is_missing(monkeypatch, tmp_path):
    from grounding_kit.course.book import write_book

    monkeypatch.setitem(sys.modules, "sphinx", None)
    with pytest.raises(ImportError, match=r"grounding_kit\[course\]"):
        write_book([], tmp_path / "book")
