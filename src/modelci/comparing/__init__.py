"""The `compare` gate: a candidate model against the one in production, on the same rows.

``comparison`` runs one comparison: both models (loaded by :mod:`modelci.models`) predict
the evaluation rows, ``judging`` applies ``rules`` and ``slices`` with the paired bootstrap
and McNemar's test of ``stats``, ``budgets`` adds size and latency limits, and ``gate``
concludes. The result is a typed ``decision``, which ``report``, ``html`` (with ``plots`` and
``context``), ``result`` and ``comment`` present to people and CI, and which promote reads
back strictly.
"""

from __future__ import annotations
