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

from sklearn_slaf.__main__ import main

ROOT = Path(__file__).resolve().parents[1]
PROG = "python -m sklearn_slaf"
MODELS = [
    "SLNNRegressor (grid-searched degree)",
    "LinearRegression",
    "MLPRegressor (scaled, converged)",
    "PolynomialFeatures(3) + LassoCV",
]
ROW = re.compile(r"^(?P<name>.{40})(?P<rmse>[ \d.]{11})(?P<r2>[ \d.-]{9})(?P<fit>[ \d.]{8})$")
TERM = re.compile(r"^(?P<name>.{14})(?P<slnn>[ \d.-]{10})(?P<true>[ \d.-]{10})$")


# single-threaded BLAS: the demo's time then depends less on how busy the two cores are with other test workers
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _cli(*args, timeout=180, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "sklearn_slaf", *args], cwd=cwd, env=ENV, capture_output=True,
                          text=True, timeout=timeout)


def test_demo_finds_the_polynomial_beats_the_baselines_and_reads_it_back(tmp_path):
    # the one demo run of the suite (one test, so xdist runs it once); it writes its picture into tmp_path
    res = _cli("demo", "--plot", str(tmp_path / "act.png"))
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    out = res.stdout.splitlines()
    assert out[0].startswith("sparse polynomial: 900 train / 300 test rows, 5 Gaussian features")
    header = out.index(next(line for line in out if line.startswith("model")))
    rows = {}
    for line in out[header + 1: header + 1 + len(MODELS)]:
        m = ROW.match(line)
        assert m, f"row not in the 40/11/9/8 column layout: {line!r}"
        rows[m["name"].rstrip()] = (float(m["rmse"]), float(m["r2"]), float(m["fit"]))
    assert list(rows) == MODELS
    # the target is a degree-3 polynomial: linear models and a ReLU MLP explain little of it, the SLNN nearly all
    # (the noise is 10% of the signal's standard deviation, so R^2 cannot pass about 0.99)
    assert rows[MODELS[0]][1] > 0.95
    assert rows[MODELS[0]][1] > rows["LinearRegression"][1] + 0.5
    assert rows[MODELS[0]][1] > rows["MLPRegressor (scaled, converged)"][1]
    assert rows["LinearRegression"][1] < 0.2
    # the search picked the degree that can represent the target
    assert any(line.startswith("grid search chose degree 3") for line in out)
    # the leading terms are the true ones, with coefficients close to the truth
    start = out.index(next(line for line in out if line.startswith("term")))
    terms = [TERM.match(line) for line in out[start + 1: start + 9]]
    assert all(terms), out[start + 1: start + 9]
    top = [(float(t["slnn"]), float(t["true"])) for t in terms[:3]]
    for slnn, true in top:
        assert abs(true) > 0.1 and slnn == pytest.approx(true, abs=0.1)
    # least squares on the same monomials is printed, and the picture was written
    assert any("free parameters" in line for line in out)
    assert (tmp_path / "act.png").stat().st_size > 10_000


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
    assert re.search(r"^\s+demo\s+learn a hidden polynomial", out, re.MULTILINE)
    code, out, _ = _main_exit(capsys, "demo", "--help")
    assert code == 0 and "--seed SEED" in out and "--plot PLOT" in out
