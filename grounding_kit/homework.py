"""Deprecated: use :mod:`grounding_kit.exercises.fallbacks` (``own_or_kit``) and
:mod:`grounding_kit.course.nbgrader`. Kept so that notebooks already handed out keep working."""

import warnings

from grounding_kit.exercises.fallbacks import FALLBACKS, own_or_kit  # noqa: F401

warnings.warn("grounding_kit.homework moved: own_or_kit is in grounding_kit.exercises.fallbacks, the nbgrader "
              "course in grounding_kit.course.nbgrader", DeprecationWarning, stacklevel=2)
