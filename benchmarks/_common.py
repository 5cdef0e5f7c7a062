"""Shared helpers of the benchmark scripts: machine description and table output."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import numpy as np
import sklearn
import torch
from joblib import Parallel, delayed

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    """Where and with what a benchmark ran."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "numpy": np.__version__,
        "sklearn": sklearn.__version__,
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def markdown_table(header: list[str], rows: list[list]) -> str:
    fmt = lambda v: f"{v:.4g}" if isinstance(v, float) else str(v)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def save(name: str, title: str, header: list[str], rows: list[list], extra: dict | None = None) -> str:
    """Print the table and write ``results/<name>.md`` and ``results/<name>.json``."""
    RESULTS.mkdir(exist_ok=True)
    info = machine() | (extra or {})
    table = markdown_table(header, rows)
    text = f"# {title}\n\n{table}\n\n" + "\n".join(f"- {k}: {v}" for k, v in info.items()) + "\n"
    (RESULTS / f"{name}.md").write_text(text)
    (RESULTS / f"{name}.json").write_text(json.dumps({"header": header, "rows": rows, "info": info}, indent=1))
    print(text)
    return text


def grouped_scores(score, work: list[tuple], jobs: int) -> dict[tuple, list]:
    """``score(*item)`` for every item of ``work`` on ``jobs`` processes, grouped by all but the item's last
    element (its seed): ``{item[:-1]: [score for each seed, in work's order]}``."""
    values = Parallel(n_jobs=jobs)(delayed(score)(*item) for item in work)
    out: dict[tuple, list] = {}
    for item, v in zip(work, values):
        out.setdefault(item[:-1], []).append(v)
    return out
