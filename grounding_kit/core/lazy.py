"""Lazy public names: a package lists ``name -> module`` and imports the module on first use.

This keeps ``import grounding_kit`` (and its sub-packages) light: torch, open_clip, transformers
and datasets load only when a name that needs them is first touched.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Mapping


def lazy_exports(package: str, namespace: dict[str, Any], exports: Mapping[str, str],
                 submodules: tuple[str, ...] = ()) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Build a package's module-level ``__getattr__`` and ``__dir__``.

    Parameters
    ----------
    package : the package's ``__name__``.
    namespace : the package's ``globals()``; a resolved name is stored there, so it resolves once.
    exports : public name -> module that defines it (absolute, or relative to ``package``).
    submodules : sub-packages reachable as attributes (``gk.world``).

    A public name may not be the name of the module that defines it: importing that module sets
    the module as the package's attribute, which would then hide the function of the same name.
    """
    shadowed = sorted(name for name, module in exports.items() if module.rsplit(".", 1)[-1] == name)
    if shadowed:
        raise ValueError(f"{package}: public names {shadowed} equal the names of their modules; "
                         "rename the module")

    def __getattr__(name: str) -> Any:
        if name in submodules:
            return importlib.import_module(f"{package}.{name}")
        module_name = exports.get(name)
        if module_name is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        if not module_name.startswith(package):
            module_name = f"{package}.{module_name}"
        value = getattr(importlib.import_module(module_name), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(exports) | set(submodules))

    return __getattr__, __dir__
