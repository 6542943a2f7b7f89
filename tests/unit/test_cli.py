"""The command line: -v works before and after the stage."""

from __future__ import annotations

import pytest

from monerosim_actors.cli import build_parser


@pytest.mark.parametrize("argv, verbose", [
    (["validate", "x.yaml"], False),
    (["-v", "validate", "x.yaml"], True),
    (["validate", "-v", "x.yaml"], True),
    (["run", "x.yaml", "--verbose"], True),
    (["-v", "gen", "x.yaml", "-o", "out", "-v"], True),
])
def test_verbose_before_or_after_the_stage(argv: list[str], verbose: bool) -> None:
    assert build_parser().parse_args(argv).verbose is verbose
