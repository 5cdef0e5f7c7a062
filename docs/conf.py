"""Sphinx configuration of the sklearn-slaf documentation (``make docs`` builds it with warnings as errors)."""

import os
import urllib.request

import sklearn_slaf

project = "sklearn-slaf"
author = "sklearn-slaf developers"
release = version = sklearn_slaf.__version__
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
autosummary_generate = True
templates_path = ["_templates"]  # classes: their own members (scikit-learn's inherited docstrings cite its own labels)
numpydoc_show_class_members = False
numpydoc_validation_checks = set()
exclude_patterns = ["_build", "generated/*.examples", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip", "auto_examples/*.json", "auto_examples/*.md5"]

# intersphinx links where the sites answer; offline (CI, air-gapped machines) the build goes on without them
_INVENTORIES = {
    "python": "https://docs.python.org/3",
    "numpy": "https://numpy.org/doc/stable",
    "sklearn": "https://scikit-learn.org/stable",
    "torch": "https://docs.pytorch.org/docs/stable",
}


def _reachable(url: str) -> bool:
    if os.environ.get("SKLEARN_SLAF_DOCS_OFFLINE"):
        return False
    try:
        with urllib.request.urlopen(f"{url}/objects.inv", timeout=3):
            return True
    except Exception:  # no network, DNS, proxy, TLS: all mean "build without that site's links"
        return False


intersphinx_mapping = {name: (url, None) for name, url in _INVENTORIES.items() if _reachable(url)}

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/(plot_|read_)",
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
}

html_theme = "pydata_sphinx_theme"
html_theme_options = {"navigation_depth": 2}
html_title = f"sklearn-slaf {version}"
