"""The benchmark suite: every figure side by side with its baseline, measured in the same run.

``python -m bench`` runs every figure (see :mod:`bench.__main__`) and renders ``BENCHMARKS.md``;
each figure is also a module that can be run alone. Results go to ``bench/results/*.json``.
"""
