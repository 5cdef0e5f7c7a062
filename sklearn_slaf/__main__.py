"""Command line: ``python -m sklearn_slaf demo``."""

from __future__ import annotations

import argparse
import sys

from . import demo as _demo


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sklearn_slaf", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="learn a hidden polynomial, compare with baselines and read it back")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--plot", default="slnn_activations.png",
                   help="PNG file for the learned activations (needs matplotlib); '' skips it")
    args = parser.parse_args(argv)
    if args.command == "demo":
        _demo.run(seed=args.seed, plot=args.plot or None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
