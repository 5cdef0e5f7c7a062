"""The command line, ``python -m sklearn_slaf``.

The demo and the bare command run as a user runs them, in a fresh interpreter; the other argument
errors call the same ``main`` in this process, which spares an interpreter start-up (~3 s) each.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression
from sklearn.metrics import root_mean_squared_error
from sklearn.model_selection import train_test_split

from sklearn_slaf import SLNNRegressor
from sklearn_slaf.__main__ import main

ROOT = Path(__file__).resolve().parents[1]
PROG = "python -m sklearn_slaf"
MODELS = [
    "SLNNRegressor (64 units, degree 3)",
    "LinearRegression",
    "MLPRegressor (64 ReLU units)",
    "PolynomialFeatures(3) + LassoCV",
]
ROW = re.compile(r"^(?P<name>.{40})(?P<train>[ \d.]{12})(?P<test>[ \d.]{12})(?P<fit>[ \d.]{9})$")


# single-threaded BLAS: the demo then takes ~7 s however busy the two cores are with other test workers
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _cli(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "sklearn_slaf", *args], cwd=ROOT, env=ENV, capture_output=True,
                          text=True, timeout=timeout)


def _rmse(model, seed):
    X, y = load_diabetes(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=seed)
    model.fit(Xtr, ytr)
    return root_mean_squared_error(ytr, model.predict(Xtr)), root_mean_squared_error(yte, model.predict(Xte))


def test_demo_prints_the_comparison_table():
    # the one default-seed demo of the suite (~8 s, mostly LassoCV); one test, so xdist runs it once
    res = _cli("demo")
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    lines = res.stdout.splitlines()
    assert len(lines) == 2 + len(MODELS)
    # 442 diabetes samples, test_size=0.25: 331 / 111, 10 features, default seed 0
    assert lines[0] == "diabetes: 331 train / 111 test samples, 10 features, seed 0"
    assert lines[1].split() == ["model", "train", "RMSE", "test", "RMSE", "fit", "s"]
    assert len(lines[1]) == 40 + 12 + 12 + 9
    rows = {}
    for line in lines[2:]:
        m = ROW.match(line)
        assert m, f"row not in the 40/12/12/9 column layout: {line!r}"
        rows[m["name"].rstrip()] = (float(m["train"]), float(m["test"]), float(m["fit"]))
    assert list(rows) == MODELS
    for name, (train, test, fit_s) in rows.items():
        # the diabetes target has std ~77: every model explains part of it, none is perfect
        assert 30.0 < train < 80.0 and 30.0 < test < 80.0, name
        assert 0.0 <= fit_s < 120.0, name
    # LinearRegression is deterministic: the printed numbers are its RMSE on the seed-0 split, to 2 decimals
    lin_tr, lin_te = _rmse(LinearRegression(), seed=0)
    assert rows["LinearRegression"][0] == pytest.approx(lin_tr, abs=0.005 + 1e-9)
    assert rows["LinearRegression"][1] == pytest.approx(lin_te, abs=0.005 + 1e-9)
    # the SLNN row is SLNNRegressor(degree=3, random_state=0), refitted here (CPU fits are reproducible;
    # allow float32 reduction-order noise between the two processes)
    slnn_tr, slnn_te = _rmse(SLNNRegressor(degree=3, random_state=0, device="cpu"), seed=0)
    assert rows[MODELS[0]][0] == pytest.approx(slnn_tr, abs=0.05)
    assert rows[MODELS[0]][1] == pytest.approx(slnn_te, abs=0.05)
    # the polynomial models fit the training data at least as well as the linear one
    assert rows[MODELS[0]][0] < lin_tr and rows[MODELS[3]][0] < lin_tr


def test_no_command_is_a_usage_error():
    res = _cli(timeout=60)
    assert res.returncode == 2
    assert res.stdout == ""
    assert res.stderr.startswith(f"usage: {PROG}")
    assert "the following arguments are required: command" in res.stderr


def _main_exit(capsys, *argv):
    """Run the command line's ``main`` in this process (no interpreter start-up) and catch argparse's exit."""
    with pytest.raises(SystemExit) as exc:
        main(list(argv))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def test_unknown_command_is_a_usage_error(capsys):
    code, out, err = _main_exit(capsys, "bogus")
    assert code == 2 and out == ""
    assert err.startswith(f"usage: {PROG}")
    assert "invalid choice" in err and "'bogus'" in err and "demo" in err


def test_demo_seed_must_be_an_integer(capsys):
    code, out, err = _main_exit(capsys, "demo", "--seed", "x")
    assert code == 2
    assert out == ""  # rejected before any model is fitted
    assert err.startswith(f"usage: {PROG} demo")
    assert "argument --seed: invalid int value: 'x'" in err


def test_help_lists_the_demo_command(capsys):
    code, out, err = _main_exit(capsys, "--help")
    assert code == 0 and err == ""
    assert out.startswith(f"usage: {PROG}")
    assert re.search(r"^\s+demo\s+fit an SLNN on the diabetes data", out, re.MULTILINE)
    code, out, _ = _main_exit(capsys, "demo", "--help")
    assert code == 0 and "--seed SEED" in out
