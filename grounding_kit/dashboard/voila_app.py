"""Voila with the kit's ``gk-offline`` template on its search path.

``python -m grounding_kit.dashboard.voila_app ARGS`` is ``voila ARGS`` with ``share/`` beside
this file prepended to ``JUPYTER_PATH``, where Voila looks for templates; ``gk-offline`` is
Voila's lab template less its CDN font-awesome links. With ``--template=gk-slides`` (Voila's
reveal template, offline) reveal.js is first vendored from sphinx-revealjs (:mod:`grounding_kit.assets`)
into the kit's cache, as that template's ``static/vendor/reveal.js``, and the cache folder joins the path.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

SHARE = Path(__file__).resolve().with_name("share")
SLIDES_TEMPLATE = "gk-slides"
VENDOR = f"voila/templates/{SLIDES_TEMPLATE}/static/vendor"  # URL path (below Voila's base URL) of the copies


def slides_share() -> Path:
    """A Jupyter data folder (in the kit's cache) whose ``voila/templates/gk-slides/static/vendor/``
    holds reveal.js (from sphinx-revealjs) and MathJax 2 (from jupyter-server-mathjax; Voila's
    reveal script calls ``MathJax.Hub`` on every slide change); Voila serves it at ``VENDOR``
    (not at ``static/``, where ``reveal.js`` is Voila's own script that starts the deck)."""
    from grounding_kit import assets
    from grounding_kit.paths import cache_dir

    share = cache_dir("voila-share")
    assets.vendor(share / "voila" / "templates" / SLIDES_TEMPLATE / "static" / "vendor", ("reveal.js", "MathJax"))
    return share


def main() -> None:
    folders = [SHARE]
    if f"--template={SLIDES_TEMPLATE}" in sys.argv:
        from grounding_kit import assets

        folders.append(slides_share())
        # one nested dict in one option: traitlets 5 warns that it prefers key=value (flat) items
        warnings.filterwarnings("ignore", message="--resources=", category=DeprecationWarning)
        sys.argv.append("--VoilaConfiguration.resources=" + repr(
            {"gk_vendor": VENDOR, "gk_mathjax_url": assets.mathjax_url(VENDOR), "gk_mathjax_config": assets.MATHJAX_OPTIONS}))
    os.environ["JUPYTER_PATH"] = os.pathsep.join([*map(str, folders), *filter(None, [os.environ.get("JUPYTER_PATH")])])
    from voila.app import main as voila_main

    sys.exit(voila_main())


if __name__ == "__main__":
    main()
