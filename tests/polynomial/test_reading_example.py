"""examples/read_the_polynomial.py runs as a user runs it and finds what its page reports."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "read_the_polynomial.py"


def test_reading_example_runs_and_its_exports_match_the_network(tmp_path):
    script = tmp_path / EXAMPLE.name
    shutil.copy(EXAMPLE, script)
    res = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert res.returncode == 0, res.stderr[-3000:]
    out = res.stdout
    assert "pipeline: StandardScaler -> PolynomialFeatures -> LinearRegression" in out
    diff = float(out.split("largest difference from the network's predictions:")[1].split()[0])
    assert diff < 1e-9
    first = out.split("input   first-order  total")[1].split()[0]
    assert first in ("s5", "bmi")  # the two inputs every analysis of these data puts first
    # the figure is the gallery's (drawn with plt.show, collected by sphinx-gallery): no file is written
    assert not list(tmp_path.glob("*.png"))
