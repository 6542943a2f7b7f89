"""`monerosim-actors gen` (not built yet)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("args", nargs="*")


def run(opts: argparse.Namespace) -> int:
    raise SystemExit("monerosim-actors gen: not built yet")
