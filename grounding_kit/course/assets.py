"""The JavaScript a static page needs, taken from installed packages (never from a CDN).

Decks and the book ship these files in a folder beside their pages (``vendor``), so that a page
opened from a USB stick requests nothing outside it:

========== ====================================================== ==========================
asset      from the installed package                             what for
========== ====================================================== ==========================
reveal.js  ``sphinx-revealjs`` (reveal.js 5 ``dist/`` and notes)  slide decks
require.js ``voila`` (its template's ``require.min.js``)          nbconvert's reveal template
MathJax    ``jupyter-server-mathjax`` (MathJax 2.7)               formulas in decks and book
plotly.js  ``plotly`` (``package_data/plotly.min.js``)            static figures
========== ====================================================== ==========================

Voila pages also get ``widgetbundle.js`` (``WIDGET_BUNDLE``: plotly's ``package_data/widgetbundle.js``,
the front end of every ``FigureWidget``), served once by the Voila server (see
:func:`widget_bundle_loader`); it is not in ``ASSETS``, so decks and the book do not copy it.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

ASSETS = ("reveal.js", "require.min.js", "MathJax", "plotly.min.js")
WIDGET_BUNDLE = "widgetbundle.js"
# set (by Voila's launcher, for its kernels) to the URL path, below the server's base URL, where the
# server serves WIDGET_BUNDLE; grounding_kit.widgets.components then gives figures a small loader
WIDGET_BUNDLE_ENV = "GROUNDING_KIT_PLOTLY_WIDGET_BUNDLE"
MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"  # the full configuration that package ships
# the package ships the STIX-Web fonts only: MathJax must not look for its default TeX fonts;
# its fallback font MathJax_Blank is local(), not url('about:blank') (which a page served over http
# requests, and Chromium refuses with a console error)
MATHJAX_OPTIONS = {"HTML-CSS": {"availableFonts": ["STIX-Web"], "preferredFont": "STIX-Web",
                                "webFont": "STIX-Web", "imageFont": None,
                                "styles": {"@font-face": {"font-family": "MathJax_Blank",
                                                          "src": "local('MathJax_Blank')"}}}}
_MATHJAX_SKIP = ("SVG", "a11y")  # output and accessibility files the HTML-CSS configuration never loads


def _package_dir(package: str, pip_name: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the package {pip_name!r} is not installed; static decks and the book take "
                                f"their JavaScript from it: pip install 'grounding_kit[course]'")
    return Path(next(iter(spec.submodule_search_locations)))


def _existing(path: Path, pip_name: str) -> Path:
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing from the installed {pip_name!r}; reinstall it")
    return path


def source(asset: str) -> Path:
    """Where the installed package keeps ``asset`` (one of ``ASSETS``).

    Raises ``ValueError`` for an unknown asset, ``FileNotFoundError`` naming the package to
    install when it is missing.
    """
    if asset == "reveal.js":
        return _existing(_package_dir("sphinx_revealjs", "sphinx-revealjs") / "_static" / "revealjs", "sphinx-revealjs")
    if asset == "require.min.js":
        from jupyter_core.paths import jupyter_path

        for folder in jupyter_path("voila", "templates", "base", "static"):
            if (Path(folder) / "require.min.js").exists():
                return Path(folder) / "require.min.js"
        raise FileNotFoundError("require.min.js not found in Voila's templates (pip install voila)")
    if asset == "MathJax":
        return _existing(_package_dir("jupyter_server_mathjax", "jupyter-server-mathjax") / "static",
                         "jupyter-server-mathjax")
    if asset in ("plotly.min.js", WIDGET_BUNDLE):
        return _existing(_package_dir("plotly", "plotly") / "package_data" / asset, "plotly")
    raise ValueError(f"unknown asset {asset!r}; expected one of {[*ASSETS, WIDGET_BUNDLE]}")


def _ignore_for(asset: str):
    if asset == "reveal.js":  # the deck needs dist/ and the notes plugin, not the sources
        return lambda folder, names: [n for n in names if n in ("css", "markdown", "search", "highlight", "zoom",
                                                                 "math") or n.endswith(".map")]
    if asset == "MathJax":
        return lambda folder, names: [n for n in names if n in _MATHJAX_SKIP
                                      or (Path(folder).name == "localization" and n != "en")]
    return None


def vendor(target: Path, assets: tuple[str, ...] = ASSETS) -> dict[str, Path]:
    """Copy ``assets`` into the folder ``target`` (created); returns each asset's copy.

    An asset already there with the same files is left as it is, so rebuilding a deck does not
    copy MathJax again.
    """
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    copies = {}
    for asset in assets:
        origin, copy = source(asset), target / asset
        if origin.is_dir():
            shutil.copytree(origin, copy, ignore=_ignore_for(asset), dirs_exist_ok=True,
                            copy_function=_copy_if_changed)
        else:
            _copy_if_changed(origin, copy)
        copies[asset] = copy
    return copies


def _copy_if_changed(origin: str | Path, copy: str | Path) -> None:
    """Copy one file unless a file of the same size is already there."""
    if not os.path.exists(copy) or os.path.getsize(copy) != os.path.getsize(origin):
        shutil.copy2(origin, copy)


def widget_bundle_loader(path: str) -> str:
    """A small ES module (an anywidget ``_esm``) that re-exports plotly's ``FigureWidget`` front end
    from ``path``, a URL path below the Jupyter server's base URL (e.g. where Voila serves
    ``WIDGET_BUNDLE``).

    anywidget evaluates a string ``_esm`` as a blob module, so each figure would otherwise carry and
    evaluate the 5 MB bundle itself; this module imports it by URL, which the browser fetches and
    evaluates once per page. The base URL is the page's Jupyter config (``baseUrl``), else its own URL.

    The import is not awaited while anywidget initializes the model: anywidget 0.11 rejects a
    model's ``ready`` when loading its ``_esm`` and ``initialize`` take over 2 s, and then drops
    every later message from the kernel to that model, so its figure draws but never updates
    (seen on 2 loaded cores, where evaluating the bundle takes seconds). Here ``initialize``
    returns at once and hands the model to plotly's once the bundle is there; ``render`` waits
    for that. Updates sent in between reach plotly's model through the state the kit's widgets
    publish after each callback (:func:`grounding_kit.widgets.components.publish`).
    """
    if not isinstance(path, str) or not path or path.startswith(("/", "http:", "https:")) or '"' in path:
        raise ValueError(f"path must be a URL path relative to the server's base URL, such as "
                         f"'voila/templates/gk-offline/static/vendor/{WIDGET_BUNDLE}', got {path!r}")
    return ('const config = document.getElementById("jupyter-config-data");\n'
            'const base = new URL(config ? JSON.parse(config.textContent).baseUrl || "/" : "./", document.baseURI);\n'
            f'const bundle = import(new URL("{path}", base).href);\n'
            'export default () => {\n'
            '  let widget, initialized;\n'
            '  return {\n'
            '    initialize(context) {\n'
            '      initialized = bundle.then((module) => { widget = module.default(); return widget.initialize?.(context); });\n'
            '    },\n'
            '    async render(view) { await initialized; return widget.render(view); },\n'
            '  };\n'
            '};\n')


def mathjax_url(prefix: str) -> str:
    """The MathJax URL for a page whose vendored assets are at ``prefix`` (a relative path)."""
    return f"{prefix}/MathJax/MathJax.js?config={MATHJAX_CONFIG}"
