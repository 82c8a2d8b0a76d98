"""The dashboard kernel's start-up: optional modules that only slow it down are marked unavailable.

plotly's ``FigureWidget`` imports ``plotly.io._renderers``, which imports ``nbformat`` (for
``fig.show()``'s mime rendering), which imports ``jsonschema``, whose format checkers import the
optional package ``rfc3987_syntax`` when it is installed (it comes with Jupyter's own
dependencies): at import it builds Lark (Earley) parsers for about 30 rules of the RFC 3987
grammar, for the ``"iri"`` and ``"iri-reference"`` formats. Measured on this project's 2-core
machines: 1.5 s of the 2.2 s first ``FigureWidget`` import when idle, 2.5 s of 3.6 s under load.
The dashboard's kernel validates no IRI, so it marks the module as not importable
(``sys.modules[name] = None``, Python's documented way: the import raises ``ImportError``, which
jsonschema treats as "checker not installed"); every other jsonschema format still works.
"""

from __future__ import annotations

import sys

#: optional modules the dashboard kernel does without
SKIPPED_OPTIONAL_MODULES = ("rfc3987_syntax",)


def skip_slow_optional_imports() -> list[str]:
    """Mark :data:`SKIPPED_OPTIONAL_MODULES` not importable in this process, unless already imported.

    Call it first thing in the dashboard's kernel (``dashboard.ipynb`` does), not in a process
    that may validate IRIs with jsonschema. Returns the modules it marked.
    """
    marked = []
    for name in SKIPPED_OPTIONAL_MODULES:
        if name not in sys.modules:
            sys.modules[name] = None  # type: ignore[assignment]
            marked.append(name)
    return marked
