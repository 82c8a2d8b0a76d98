"""Deprecated: use :mod:`grounding_kit.exercises.checks`. Kept so that notebooks already handed out keep working."""

import warnings

from grounding_kit.exercises.checks import *  # noqa: F401,F403
from grounding_kit.exercises.checks import __all__  # noqa: F401

warnings.warn("grounding_kit.checks moved to grounding_kit.exercises.checks; import from there", DeprecationWarning, stacklevel=2)
