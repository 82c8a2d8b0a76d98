"""Optional dependencies: the base install serves a student; Dask, the course tools and the docs are extras.

A function that needs an extra imports it through :func:`require`, so a missing package fails with
one line that names the extra to install, e.g. ``pip install 'grounding_kit[dask]'``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

#: extra -> what it is for (the names in pyproject.toml's ``[project.optional-dependencies]``)
EXTRAS: dict[str, str] = {
    "dask": "EMAP on a Dask cluster",
    "course": "building the course (nbgrader, decks, book)",
    "docs": "building the API reference",
    "pid": "the dit cross-check of the partial information decomposition",
    "hub": "a class on JupyterHub (grounding-kit hub init)",
}


def require(module: str, extra: str) -> ModuleType:
    """Import ``module``, or raise ImportError naming the extra that installs it.

    Parameters
    ----------
    module : the importable name, e.g. ``"distributed"``.
    extra : the kit's extra that provides it, one of :data:`EXTRAS`.

    Raises
    ------
    ValueError
        ``extra`` is not one of the kit's extras.
    ImportError
        ``module`` is not installed; the message names ``pip install 'grounding_kit[EXTRA]'``.
    """
    if extra not in EXTRAS:
        raise ValueError(f"extra must be one of {sorted(EXTRAS)}, got {extra!r}")
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(f"{EXTRAS[extra]} needs {module!r}, which is not installed: "
                          f"pip install 'grounding_kit[{extra}]'") from err
