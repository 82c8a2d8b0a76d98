"""What the course notebooks import at run time: exercise checks and fallbacks.

- :mod:`grounding_kit.exercises.checks`: ``check_*`` functions that print one verdict line.
- :mod:`grounding_kit.exercises.fallbacks`: :func:`own_or_kit`, the kit's value for an unanswered
  exercise so that later cells run.
"""
