"""nbgrader hooks for a class: copies without widget state, and feedback pages without a CDN.

A course notebook run in JupyterLab or by nbgrader's autograder keeps its widgets' state in
``metadata.widgets`` (every model of every plotly ``FigureWidget`` and slider: megabytes a
notebook), which a submission and a graded copy do not need: the instructor grades the outputs.
nbgrader's feedback pages load MathJax from a CDN, which an offline classroom does not reach.
The ``nbgrader_config.py`` files that ``grounding-kit course init`` and ``grounding-kit hub init``
write install these hooks through nbgrader's own configuration:

==================================== ============================================================
``c.ExchangeFactory.submit``         :class:`WidgetFreeSubmit`: what a student submits (the
                                     exchange's inbound copy) holds no widget state; the
                                     student's own notebook is left as it is
``c.Autograde.autograde_preprocessors`` :class:`DropWidgetState` right after nbgrader's ``Execute``:
                                     the autograded copy holds no widget state (neither the
                                     submission's nor what executing it made)
``c.HTMLExporter.extra_template_basedirs`` :func:`feedback_template_dirs`: nbgrader's feedback page
                                     loads MathJax from the Jupyter server that serves the page
                                     (the ``jupyter-server-mathjax`` extension's static files)
==================================== ============================================================

This module imports nbgrader; the kit imports it only from those configuration files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
from nbconvert.exporters.exporter import ResourcesDict
from nbformat import NotebookNode
from nbgrader.converters import Autograde
from nbgrader.exchange.default.submit import ExchangeSubmit
from nbgrader.preprocessors import Execute, NbGraderPreprocessor

#: the notebook metadata key holding the widgets' saved state (ipywidgets' widget-state format)
WIDGETS_KEY = "widgets"
#: the kit's templates for nbgrader's feedback page: ``feedback/mathjax.html.j2``
FEEDBACK_TEMPLATES = Path(__file__).parent / "templates" / "nbgrader_feedback"


def drop_widget_state(notebook: NotebookNode) -> int:
    """Remove the widgets' saved state from ``notebook`` (in place); return the characters removed.

    The outputs that show a widget stay (each is a model id of a few bytes, with its text
    fallback); without the state a page draws the fallback in their place.
    """
    state = notebook.metadata.pop(WIDGETS_KEY, None)
    return 0 if state is None else len(json.dumps(state))


class DropWidgetState(NbGraderPreprocessor):
    """An nbgrader preprocessor: the notebook leaves it without ``metadata.widgets``."""

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        removed = drop_widget_state(nb)
        if removed:
            self.log.info("removed the widgets' saved state (%.1f MB)", removed / 1e6)
        return nb, resources


def autograde_preprocessors() -> list[type]:
    """nbgrader's ``Autograde.autograde_preprocessors`` with :class:`DropWidgetState` right after ``Execute``."""
    default = Autograde.class_traits()["autograde_preprocessors"].default()
    at = default.index(Execute) + 1
    return [*default[:at], DropWidgetState, *default[at:]]


class WidgetFreeSubmit(ExchangeSubmit):
    """nbgrader's ``ExchangeSubmit`` whose copies (the inbound submission and the student's cache
    of it) hold no widget state; the notebook in the student's folder is not touched."""

    def do_copy(self, src: str, dest: str, log=None) -> None:
        super().do_copy(src, dest, log=log)
        for folder, _, names in os.walk(dest):
            for name in names:
                if not name.endswith(".ipynb"):
                    continue
                path = Path(folder) / name
                try:
                    notebook = nbformat.read(path, as_version=nbformat.NO_CONVERT)
                except Exception as err:  # not a notebook nbformat reads: submitted as it is
                    self.log.warning("%s left as it is (not a readable notebook: %s)", path, err)
                    continue
                if drop_widget_state(notebook):
                    nbformat.write(notebook, path)


def feedback_template_dirs() -> list[str]:
    """``HTMLExporter.extra_template_basedirs`` for nbgrader's ``generate_feedback``: the kit's
    ``feedback/mathjax.html.j2`` first (its ``mathjax`` macro takes the place of nbconvert's, which
    nbgrader's ``feedback`` template calls), then nbgrader's own templates, which GenerateFeedback
    uses only when this option is not set."""
    import nbgrader

    nbgrader_templates = Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" / "templates"
    if not (nbgrader_templates / "feedback" / "index.html.j2").is_file():
        raise FileNotFoundError(f"nbgrader's feedback template is not in {nbgrader_templates}; "
                                "the kit's feedback page is nbgrader's (nbgrader>=0.9)")
    return [str(FEEDBACK_TEMPLATES), str(nbgrader_templates)]
