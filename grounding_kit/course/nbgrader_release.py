"""nbgrader's release copies with the student copy's placeholders, so that *Run All* goes through them.

nbgrader's ``ClearSolutions`` replaces every solution block by one stub for all cells,
``raise NotImplementedError()``, which stops *Run All* at the first exercise. :class:`PlaceholderSolutions`
replaces it as the kit's student copies do (:func:`grounding_kit.course.sources.strip_solutions`):
``# YOUR CODE HERE`` and ``G = ...`` for each answer the check reads (the names
:func:`~grounding_kit.course.nbgrader.nbgrader_notebook` stores in the cell's metadata), ``return ...``
in a function body. The checks call the placeholder "not done yet"; under nbgrader's autograder
they raise, so the test cell still scores 0 (:func:`grounding_kit.exercises.checks.failures_raise`).

The ``nbgrader_config.py`` that ``grounding-kit course init`` writes installs it with
``c.GenerateAssignment.preprocessors = release_preprocessors()``. This module imports nbgrader;
nothing else in the kit imports it.
"""

from __future__ import annotations

from nbformat import NotebookNode
from nbgrader.converters import GenerateAssignment
from nbgrader.preprocessors import ClearSolutions

from grounding_kit.course.nbgrader import ANSWERS_KEY
from grounding_kit.course.sources import BEGIN, strip_solutions


class PlaceholderSolutions(ClearSolutions):
    """``ClearSolutions`` that writes the student copy's placeholders instead of nbgrader's stub."""

    def _replace_solution_region(self, cell: NotebookNode, language: str) -> bool:
        if cell.cell_type != "code" or language != "python" or BEGIN not in cell.source:
            return super()._replace_solution_region(cell, language)
        answers = cell.metadata.get(ANSWERS_KEY)
        cell.source = strip_solutions(cell.source, where=f"cell {cell.get('id', '?')}",
                                      answers=None if answers is None else set(answers))
        return True


def release_preprocessors() -> list[type]:
    """nbgrader's ``generate_assignment`` preprocessors with :class:`PlaceholderSolutions` in place of
    ``ClearSolutions``."""
    default = GenerateAssignment.class_traits()["preprocessors"].default()
    return [PlaceholderSolutions if step is ClearSolutions else step for step in default]
