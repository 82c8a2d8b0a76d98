"""Caches are written atomically and a corrupt cache is rebuilt, with a warning."""

from __future__ import annotations

import pytest

from grounding_kit.core.cache import atomic_write, cache_key, cached


def test_cache_key_is_stable_and_sensitive():
    assert cache_key("match", 10, {"a": 1}) == cache_key("match", 10, {"a": 1})
    assert cache_key("match", 10) != cache_key("match", 11)


def test_cached_builds_once_then_loads(tmp_path):
    calls = []
    build = lambda: calls.append(1) or "value"  # noqa: E731
    save = lambda value, path: path.write_text(value)  # noqa: E731
    load = lambda path: path.read_text()  # noqa: E731
    assert cached(tmp_path / "x.txt", build, save, load) == "value"
    assert cached(tmp_path / "x.txt", build, save, load) == "value"
    assert calls == [1]


def test_corrupt_cache_is_rebuilt_with_a_warning(tmp_path):
    path = tmp_path / "n.txt"
    path.write_text("not a number")
    with pytest.warns(RuntimeWarning, match="unreadable"):
        value = cached(path, lambda: 42, lambda v, p: p.write_text(str(v)), lambda p: int(p.read_text()))
    assert value == 42 and path.read_text() == "42"


def test_failed_write_leaves_no_partial_file(tmp_path):
    def broken_writer(tmp):
        tmp.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(tmp_path / "out.bin", broken_writer)
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_replaces_a_folder(tmp_path):
    target = tmp_path / "ds"
    for content in ("old", "new"):
        atomic_write(target, lambda tmp, c=content: (tmp.mkdir(), (tmp / "f").write_text(c)))
    assert (target / "f").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["ds"]
