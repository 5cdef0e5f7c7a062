"""The benchmark scripts of the paper's reproduction run in --quick mode, so that they cannot rot."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _run(script: str) -> str:
    res = subprocess.run([sys.executable, str(BENCH / script), "--quick"], capture_output=True, text=True,
                         timeout=300, cwd=BENCH)
    assert res.returncode == 0, res.stderr[-3000:]
    return res.stdout


def test_approximation_quick_fits_the_activations_and_agrees_across_bases():
    out = _run("approximation.py")
    rows = re.findall(r"^\| (\w+) \| (\d+) \| ([0-9.e+-]+) \| ([0-9.e+-]+) \| ([0-9.e+-]+) \|$", out, re.M)
    assert {r[0] for r in rows} == {"relu", "tanh", "sigmoid", "swish", "gelu"}
    for name in ("tanh", "sigmoid", "gelu"):
        l2 = [float(r[2]) for r in rows if r[0] == name]
        assert l2[0] >= l2[-1] and l2[-1] < 0.1  # more degree, no worse: nested least squares
    assert all(float(r[4]) < 1e-10 for r in rows)  # every basis spans the same polynomials


def test_paper_boston_quick_runs_every_row():
    pytest.importorskip("sklearn.ensemble")
    out = _run("paper_boston.py")
    for row in ("NN RELU BN", "SLNN k=8", "SLNNRegressor()", "MLPRegressor", "RandomForestRegressor",
                "HistGradientBoostingRegressor", "least squares on the default SLNN", "Lasso(0.01) on the same"):
        assert row in out, row
    rmses = [float(v) for v in re.findall(r"\| ([0-9.]+) ± ", out)]
    assert rmses and all(v >= 0 for v in rmses)


def test_classification_quick_runs_every_model():
    out = _run("classification.py")
    for row in ("SLNN 2-20-20-1", "ReLU+BN 2-40-40-1", "SLNNClassifier(basis='chebyshev')", "SLAF + ReLU",
                "LogisticRegression", "HistGradientBoostingClassifier"):
        assert row in out, row
    accs = [float(v) for v in re.findall(r"\| (0\.\d{3}) ", out)]
    assert accs and all(0.0 <= a <= 1.0 for a in accs)


def test_peers_quick_matches_the_parameter_counts():
    out = _run("peers.py")
    counts = {}
    for task, _name, params in re.findall(r"^\| (spirals|digits) \| ([^|]+?) \| (\d+) \|", out, re.M):
        counts.setdefault(task, []).append(int(params))
    for task, c in counts.items():
        assert len(c) == 5 and max(c) <= 1.1 * min(c), (task, c)  # equal budgets, within 10%
