"""Everything that builds a deliverable from ``notebooks/source/``.

- :mod:`~grounding_kit.course.sources`: percent-format sources -> notebooks; the cell roles of an
  exercise (``exercise``, ``check``, ``fallback``, ``answer``) and the markers they use.
- :mod:`~grounding_kit.course.student`: student copies (solutions, hidden tests and rubrics removed).
- :mod:`~grounding_kit.course.nbgrader`: an nbgrader course folder made from the notebooks.
- :mod:`~grounding_kit.course.slides`, :mod:`~grounding_kit.course.static_widgets`,
  :mod:`~grounding_kit.course.assets`: offline reveal.js decks; :mod:`~grounding_kit.course.book`: the
  course website.

The commands: ``python -m grounding_kit.course --help``.
"""
