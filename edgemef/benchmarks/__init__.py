"""Benchmarks that print measured numbers (accuracy and speed); run them as ``python -m``.

- :mod:`edgemef.benchmarks.alignment`: bracket alignment corner error and time per pair.
- ``edgemef bench`` (:mod:`edgemef.benchmarks.bench`, with ``bench_rows``, ``bench_methods``,
  ``bench_report`` and ``compute_bound``): every export target and precision, PyTorch, Mertens
  and enfuse on the same brackets: latency, compute bound, MEF-SSIM, PSNR against PyTorch.
"""
