"""The public API documents itself: runnable Examples everywhere, every estimator parameter described.

The Examples sections run as doctests (``--doctest-modules``); these tests check that they
exist, that none is skipped, and that the estimators' rendered ``Parameters`` sections (one
text for both, :mod:`sklearn_slaf._docstrings`) describe every parameter ``get_params`` has.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pathlib
import re

import pytest

import sklearn_slaf
from sklearn_slaf import SLNNClassifier, SLNNRegressor

FACADES = ["sklearn_slaf", "sklearn_slaf.polynomial", "sklearn_slaf.training", "sklearn_slaf.eoc",
           "sklearn_slaf.plotting", "sklearn_slaf.datasets"]
ESTIMATORS = [SLNNRegressor, SLNNClassifier]
SECTION = re.compile(r"^(\w[\w ]*)\n-{3,}$", re.MULTILINE)


def _public_objects():
    """(qualified name, object) of every class and function the facades export, and basis's functions."""
    out = {}
    for name in FACADES:
        module = importlib.import_module(name)
        for attr in module.__all__:
            obj = getattr(module, attr)
            if inspect.isclass(obj) or inspect.isfunction(obj):  # not constants, aliases or __version__
                out[f"{name}.{attr}"] = obj
    basis = importlib.import_module("sklearn_slaf.basis")
    for attr in basis.__all__:
        obj = getattr(basis, attr)
        if inspect.isfunction(obj):
            out[f"sklearn_slaf.basis.{attr}"] = obj
    return sorted(out.items())


PUBLIC = _public_objects()


def _sections(doc: str) -> dict[str, str]:
    """numpydoc sections of a cleaned docstring: {title: body}."""
    heads = list(SECTION.finditer(doc))
    return {m.group(1): doc[m.end(): heads[i + 1].start() if i + 1 < len(heads) else len(doc)]
            for i, m in enumerate(heads)}


def test_the_public_list_is_not_empty():
    names = {n for n, _ in PUBLIC}
    assert len(PUBLIC) > 80
    assert {"sklearn_slaf.SLNNRegressor", "sklearn_slaf.training.Communicator", "sklearn_slaf.basis.polyval",
            "sklearn_slaf.polynomial.n_monomials", "sklearn_slaf.datasets.make_sparse_polynomial"} <= names


@pytest.mark.parametrize("name, obj", PUBLIC, ids=[n for n, _ in PUBLIC])
def test_every_public_object_has_a_running_example(name, obj):
    doc = inspect.getdoc(obj)
    assert doc, f"{name} has no docstring"
    examples = _sections(doc).get("Examples")
    assert examples is not None, f"{name} has no numpydoc Examples section"
    assert ">>> " in examples, f"{name}'s Examples section has no doctest"
    assert "+SKIP" not in doc, f"{name} skips (part of) its example: make it run, fast"


def test_no_doctest_is_skipped_anywhere_in_the_package():
    # methods and private helpers too: an example either runs or is not there
    root = pathlib.Path(sklearn_slaf.__file__).parent
    offenders = [str(p.relative_to(root)) for p in sorted(root.rglob("*.py")) if "doctest: +SKIP" in p.read_text()]
    assert not offenders, f"doctests skipped in {offenders}"


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_every_parameter_is_described(cls):
    docscrape = pytest.importorskip("numpydoc.docscrape")
    doc = docscrape.ClassDoc(cls, config={"show_class_members": False})
    described = {}
    for p in doc["Parameters"]:
        for n in p.name.split(","):  # "beta_1, beta_2 : ..." documents both
            described[n.strip()] = " ".join(p.desc).strip()
    params = cls().get_params()
    missing = sorted(set(params) - set(described))
    assert not missing, f"{cls.__name__} does not document {missing}"
    bare = sorted(n for n in params if len(described[n]) < 20)
    assert not bare, f"{cls.__name__} names but does not describe {bare}"
    extra = sorted(set(described) - set(params))
    assert not extra, f"{cls.__name__} documents parameters it does not have: {extra}"


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_parameter_defaults_in_the_docstring_match_the_constructor(cls):
    docscrape = pytest.importorskip("numpydoc.docscrape")
    doc = docscrape.ClassDoc(cls, config={"show_class_members": False})
    params = cls().get_params()
    for p in doc["Parameters"]:
        names = [n.strip() for n in p.name.split(",")]
        m = re.search(r"default=(.+)$", p.type)
        assert m, f"{cls.__name__}: {p.name} gives no default"
        written = [d.strip() for d in m.group(1).split(", ")] if len(names) > 1 else [m.group(1).strip()]
        for n, d in zip(names, written):
            assert ast.literal_eval(d) == params[n], f"{cls.__name__}.{n}: docstring default={d}, got {params[n]!r}"


def test_the_estimators_differ_where_they_should():
    reg, clf = (_sections(inspect.getdoc(c))["Parameters"] for c in ESTIMATORS)
    es = {c: re.search(r"^early_stopping :.*?(?=^\w)", s, re.MULTILINE | re.DOTALL).group(0)
          for c, s in zip(ESTIMATORS, (reg, clf))}
    assert "R^2" in es[SLNNRegressor] and "on from 100 samples" in es[SLNNRegressor]
    assert "accuracy" in es[SLNNClassifier] and "off" in es[SLNNClassifier]
    assert "MLPClassifier" in clf and "MLPRegressor" not in clf
    assert "%(parameters)s" not in reg + clf


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_the_estimators_cite_the_papers(cls):
    refs = _sections(inspect.getdoc(cls)).get("References", "")
    assert "Goyal" in refs and "Lall" in refs and "1906.09529" in refs
    assert "Hayou" in refs and "Doucet" in refs and "Rousseau" in refs and "1805.08266" in refs
