"""Pieces of ``benchmarks/quality.py``: one module per evaluated task, plus pure metrics."""
