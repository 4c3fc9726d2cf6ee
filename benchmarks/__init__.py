"""Benchmarks of losstune against what users do today (see ``benchmarks/quality.py``)."""
