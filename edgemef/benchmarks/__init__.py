"""Benchmarks that print measured numbers (accuracy and speed); run them as ``python -m``.

- :mod:`edgemef.benchmarks.alignment`: bracket alignment corner error and time per pair.
"""
