"""The `compare` gate: a candidate model against the one in production, on the same rows.

``metrics`` computes metrics for many bootstrap resamples at once, ``stats`` holds the paired
bootstrap and McNemar's test, ``rules`` turns intervals into verdicts, ``evaluate`` loads both
models and predicts, ``slices`` and ``budgets`` add the optional guards, ``html`` and
``comment`` present the decision to people.
"""

from __future__ import annotations
