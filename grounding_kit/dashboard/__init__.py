"""The live-demo dashboard: four labs on one Voila page, no code on screen.

``grounding-kit dashboard`` (or ``make dashboard``) calls :func:`serve`; the page itself is the
notebook ``dashboard.ipynb`` next to this file, which calls :func:`build_dashboard`.
"""

from __future__ import annotations

from grounding_kit.dashboard.server import notebook_path, serve, voila_command

__all__ = ["build_dashboard", "notebook_path", "serve", "voila_command"]


def build_dashboard(*args, **kwargs):
    """The dashboard's tabs (see :func:`grounding_kit.dashboard.app.build_dashboard`)."""
    from grounding_kit.dashboard.app import build_dashboard as build

    return build(*args, **kwargs)
