"""Voila with the kit's ``gk-offline`` template on its search path.

``python -m grounding_kit.dashboard.voila_app ARGS`` is ``voila ARGS`` with ``share/`` beside
this file prepended to ``JUPYTER_PATH``, where Voila looks for templates; ``gk-offline`` is
Voila's lab template less its CDN font-awesome links.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

SHARE = Path(__file__).resolve().with_name("share")


def main() -> None:
    os.environ["JUPYTER_PATH"] = os.pathsep.join([str(SHARE), *filter(None, [os.environ.get("JUPYTER_PATH")])])
    from voila.app import main as voila_main

    sys.exit(voila_main())


if __name__ == "__main__":
    main()
