"""modelci: ship machine-learning models through the CI pipelines a team already runs."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
