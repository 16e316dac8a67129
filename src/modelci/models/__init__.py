"""MLflow models on this machine: fetch a folder, read its ``MLmodel``, load it, predict.

Loading a model runs its code, so the steps are kept apart: :func:`loading.fetch` only puts
the files on disk, the caller checks them (digest, scan), and only then
:func:`loading.load` imports the model. :mod:`prediction` turns a model's outputs on a
table into the encoded :class:`modelci.metrics.Predictions` every metric reads. Train (its
command-mode holdout) and compare (both models on the same rows) share all of it.
"""

from __future__ import annotations
