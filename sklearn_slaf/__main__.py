"""Command line: ``python -m sklearn_slaf demo``."""

from __future__ import annotations

import argparse
import sys

from . import demo as _demo


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sklearn_slaf", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="fit an SLNN on the diabetes data and compare with baselines")
    d.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command == "demo":
        _demo.run(seed=args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
