"""Every public docstring of the kit parses as numpydoc, without warnings (section names, underlines)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import warnings

import pytest
from numpydoc.docscrape import NumpyDocString

import grounding_kit


def public_objects():
    for info in pkgutil.walk_packages(grounding_kit.__path__, "grounding_kit."):
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(obj):
                yield f"{module.__name__}.{name}", obj
            elif inspect.isclass(obj):
                yield f"{module.__name__}.{name}", obj
                for attr, member in vars(obj).items():
                    if not attr.startswith("_") and inspect.isfunction(member):
                        yield f"{module.__name__}.{name}.{attr}", member


def test_public_docstrings_parse_as_numpydoc():
    problems = []
    for name, obj in public_objects():
        doc = inspect.getdoc(obj)
        if not doc:
            continue
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                NumpyDocString(doc)
            except Exception as err:  # noqa: BLE001 - report every docstring that does not parse
                problems.append(f"{name}: {err}".splitlines()[0])
        problems += [f"{name}: {w.message}".splitlines()[0] for w in caught]
    assert not problems, "\n".join(problems)


def test_the_scan_sees_the_public_api():
    names = {name for name, _ in public_objects()}
    assert {"grounding_kit.analysis.grid_model.GridModel", "grounding_kit.models.heads.load_head",
            "grounding_kit.experiments.protocol.task_experiment", "grounding_kit.models.clip.load_clip"} <= names
    with pytest.warns(UserWarning):  # the check itself catches a broken section underline
        NumpyDocString("Summary.\n\nParameters\n---\nx : int\n")
