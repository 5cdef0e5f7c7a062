"""Every Python snippet of the README runs as written, and prints what its comments say."""

from __future__ import annotations

import contextlib
import io
import re
import warnings
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_the_readme_has_a_quick_start():
    assert BLOCKS and len(BLOCKS[0].splitlines()) <= 25


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_snippet_runs_and_prints_what_it_says(code):
    out = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(out):
        warnings.simplefilter("ignore")
        exec(compile(code, str(README), "exec"), {"__name__": "__readme__"})
    printed = out.getvalue().splitlines()
    # a print(...) whose comment begins with a value: that value begins the printed line
    expected = [m.group(1).split(":")[0].strip() for line in code.splitlines() if line.startswith("print(")
                and (m := re.search(r"#\s*(\{[^}]*\}[^#]*|[-\d.]+[^#]*)$", line))]
    for want in expected:
        head = want.split()[0] if not want.startswith("{") else want
        assert any(p.startswith(head) for p in printed), (want, printed)
