"""Voila with the kit's ``gk-offline`` template on its search path.

``python -m grounding_kit.dashboard.voila_app ARGS`` is ``voila ARGS`` with ``share/`` beside
this file prepended to ``JUPYTER_PATH``, where Voila looks for templates; ``gk-offline`` is
Voila's lab template less its CDN font-awesome links. With ``--template=gk-slides`` (Voila's
reveal template, offline) reveal.js is first vendored from sphinx-revealjs (:mod:`grounding_kit.course.assets`)
into the kit's cache, as that template's ``static/vendor/reveal.js``, and the cache folder joins the path.
With either kit template, plotly's ``widgetbundle.js`` is vendored there too, and the kernels get its
URL path in ``assets.WIDGET_BUNDLE_ENV``: their figures then load it from the server once per page
(:func:`grounding_kit.widgets.components.figure`) instead of each carrying its 5 MB.
The server is :class:`grounding_kit.dashboard.room.RoomVoila`: Voila, plus ``--RoomVoila.seats=N``
(a cap on visitors, for ``grounding-kit dashboard --room``; 0, the default, is no cap).
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

SHARE = Path(__file__).resolve().with_name("share")
SLIDES_TEMPLATE = "gk-slides"
OFFLINE_TEMPLATE = "gk-offline"  # Voila's lab template without CDN links


def vendor_path(template: str) -> str:
    """The folder of a kit template's vendored copies, as a path below a Jupyter data folder and
    as the URL path (below Voila's base URL) where Voila serves them."""
    return f"voila/templates/{template}/static/vendor"


VENDOR = vendor_path(SLIDES_TEMPLATE)


def slides_share() -> Path:
    """A Jupyter data folder (in the kit's cache) whose ``voila/templates/gk-slides/static/vendor/``
    holds reveal.js (from sphinx-revealjs) and MathJax 2 (from jupyter-server-mathjax; Voila's
    reveal script calls ``MathJax.Hub`` on every slide change); Voila serves it at ``VENDOR``
    (not at ``static/``, where ``reveal.js`` is Voila's own script that starts the deck)."""
    from grounding_kit.course import assets
    from grounding_kit.core.paths import cache_dir

    share = cache_dir("voila-share")
    assets.vendor(share / VENDOR, ("reveal.js", "MathJax"))
    return share


def widget_bundle_share(template: str) -> tuple[Path, str]:
    """A Jupyter data folder (in the kit's cache) whose ``voila/templates/<template>/static/vendor/``
    holds plotly's ``widgetbundle.js``, and the URL path (below Voila's base URL) where Voila serves it."""
    from grounding_kit.course import assets
    from grounding_kit.core.paths import cache_dir

    if template not in (OFFLINE_TEMPLATE, SLIDES_TEMPLATE):
        raise ValueError(f"template must be {OFFLINE_TEMPLATE!r} or {SLIDES_TEMPLATE!r}, got {template!r}")
    vendor = vendor_path(template)
    share = cache_dir("voila-share")
    assets.vendor(share / vendor, (assets.WIDGET_BUNDLE,))
    return share, f"{vendor}/{assets.WIDGET_BUNDLE}"


def main() -> None:
    folders = [SHARE]
    template = next((arg.partition("=")[2] for arg in sys.argv if arg.startswith("--template=")), None)
    if template in (OFFLINE_TEMPLATE, SLIDES_TEMPLATE):
        from grounding_kit.course import assets

        share, bundle = widget_bundle_share(template)
        folders.append(share)
        os.environ[assets.WIDGET_BUNDLE_ENV] = bundle  # the kernels inherit it
    if template == SLIDES_TEMPLATE:
        slides_share()  # the same cache folder, already on the path
        # one nested dict in one option: traitlets 5 warns that it prefers key=value (flat) items
        warnings.filterwarnings("ignore", message="--resources=", category=DeprecationWarning)
        sys.argv.append("--VoilaConfiguration.resources=" + repr(
            {"gk_vendor": VENDOR, "gk_mathjax_url": assets.mathjax_url(VENDOR), "gk_mathjax_config": assets.MATHJAX_OPTIONS}))
    os.environ["JUPYTER_PATH"] = os.pathsep.join([*map(str, folders), *filter(None, [os.environ.get("JUPYTER_PATH")])])
    from grounding_kit.dashboard.room import main as room_main

    sys.exit(room_main())


if __name__ == "__main__":
    main()
