"""Shared by the scenario fuzz and name tests: hypothesis settings, the CLI called in-process, and the
check that a stage wrote nothing but OUT.

Hypothesis runs derandomized when ``CI`` is set (the same examples on every CI run, no example
database); locally it draws new examples each run, which is how it finds new bugs.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, settings

from monerosim_actors.cli import main

FUZZ = settings(deadline=None, derandomize=bool(os.environ.get("CI")),
                database=None if os.environ.get("CI") else settings.default.database,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
"""Base settings of every fuzz test (each one sets its own ``max_examples`` to keep the suite fast)."""


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str


def run_cli(*argv: str) -> CliResult:
    """``monerosim-actors ARGV`` in this process; an exception escaping ``main`` fails the test."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return CliResult(code, out.getvalue(), err.getvalue())


def files_under(root: Path) -> set[str]:
    """Every path below ``root`` (folders included), relative to it."""
    found = set()
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            found.add(os.path.relpath(os.path.join(folder, name), root))
    return found


def check_validate_and_gen(root: Path, scenario: Path,
                           inspect: Callable[[Path], None] | None = None) -> CliResult:
    """Run ``validate`` and ``gen -o root/out/OUT`` on ``scenario`` and check what may happen.

    Both exit 0 or 2 (never an exception), agree with each other, and say why on stderr when they
    refuse; a refused scenario leaves no OUT and nothing next to it; an accepted one writes only
    inside OUT, and ``inspect(OUT)`` may look at it. Returns gen's result (OUT is removed again).
    """
    out = root / "out" / "OUT"
    before = files_under(root)
    validated = run_cli("validate", str(scenario))
    generated = run_cli("gen", str(scenario), "-o", str(out))
    for result in (validated, generated):
        assert result.code in (0, 2), result
        assert "Traceback" not in result.stderr, result.stderr
    assert validated.code == generated.code, (validated, generated)
    written = files_under(root) - before
    if generated.code == 2:
        assert generated.stderr.startswith("monerosim-actors gen: "), generated.stderr
        assert str(scenario) in generated.stderr, generated.stderr
        assert validated.stderr.startswith("monerosim-actors validate: "), validated.stderr
        assert not written, f"a refused scenario left files behind: {sorted(written)[:10]}"
    else:
        assert validated.stdout.startswith(f"OK {scenario}: "), validated.stdout
        outside = {p for p in written if not (p == "out" or p == os.path.join("out", "OUT")
                                              or p.startswith(os.path.join("out", "OUT") + os.sep))}
        assert not outside, f"gen wrote outside OUT: {sorted(outside)[:10]}"
        assert (out / "plan.json").is_file() and (out / "shadow.yaml").is_file()
        if inspect is not None:
            inspect(out)
        shutil.rmtree(root / "out")
    return generated
