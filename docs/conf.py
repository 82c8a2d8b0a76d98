"""Sphinx configuration of the course website (``make book``; see grounding_kit/book.py).

Everything a page loads is local: MathJax and plotly.js are copied from installed packages into
``_vendor/`` (grounding_kit.course.assets), the theme's fonts and icons ship with the theme, and the
notebooks arrive executed, with static figures (grounding_kit.course.static_widgets), so myst-nb never
runs a kernel nor links a widget manager.
"""

from pathlib import Path

from grounding_kit.course import assets

project = "grounding_kit"
author = "the grounding_kit authors"
copyright = "the grounding_kit authors, MIT licence"

extensions = ["myst_nb", "sphinx.ext.autodoc", "sphinx.ext.autosummary", "numpydoc", "sphinx.ext.mathjax"]
exclude_patterns = ["_build", "_vendor", "**.ipynb_checkpoints"]

# notebooks: executed by grounding_kit.course.slides beforehand, rendered as they are
nb_execution_mode = "off"
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

# API reference from the numpydoc docstrings
autosummary_generate = True
numpydoc_show_class_members = False
numpydoc_validation_checks = set()
autodoc_mock_imports = []

# local MathJax 2 (the package ships STIX-Web fonts) and plotly.js, no CDN
_VENDOR = Path(__file__).resolve().parent / "_vendor"
assets.vendor(_VENDOR, ("MathJax", "plotly.min.js"))
html_static_path = ["_vendor"]
mathjax_path = assets.mathjax_url(".").removeprefix("./")
mathjax2_config = {**assets.MATHJAX_OPTIONS,
                   "tex2jax": {"inlineMath": [["\\(", "\\)"]], "displayMath": [["\\[", "\\]"]],
                               "processEscapes": True, "processClass": "math|output_html",
                               "ignoreClass": "document"}}
html_js_files = ["plotly.min.js"]

html_theme = "sphinx_book_theme"
html_title = "grounding_kit: a course on multimodal grounding"
html_theme_options = {"repository_provider": "github", "use_download_button": False,
                      "use_fullscreen_button": False, "show_toc_level": 2}
html_last_updated_fmt = None
