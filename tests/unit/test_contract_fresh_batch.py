"""An inferred contract holds on a fresh batch from the same source (issue 10, section 1).

The documented bounds (docs/contract.md, bench/README.md): at most 1% of random halves are
rejected by the contract inferred from the other half, and at most 5% are flagged as
drifted. bench/bench_contract.py measures them on 200 resamples; here 40 resamples per
dataset with a fixed seed keep the run short: 0 rejections (1% of 40 rounds down to 0) and
at most 2 drift flags.
"""

from __future__ import annotations

import pytest

from bench.bench_contract import SKLEARN, evaluate, sources

RESAMPLES = 40


@pytest.mark.slow
@pytest.mark.parametrize("name", [*SKLEARN, "mixed"])
def test_inferred_contract_accepts_the_other_half(name: str) -> None:
    (source,) = sources({name})
    rates = evaluate(source, RESAMPLES, seed=1, shifts=False)
    assert rates.resamples == RESAMPLES
    assert rates.rejections <= int(0.01 * RESAMPLES), rates.examples
    assert rates.drift_flags <= int(0.05 * RESAMPLES)
