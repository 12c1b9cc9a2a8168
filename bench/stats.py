"""Pure arithmetic over measurements: percentiles and sizes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile: the smallest value with at least p% of values at or below it.

    With fewer than 100 values p99 is the largest one.

    >>> percentile([3, 1, 2, 4], 50), percentile([3, 1, 2, 4], 99), percentile([], 50)
    (2, 4, nan)
    """
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(values: Sequence[float], *, missing: int = 0) -> dict[str, Any]:
    """n, p50, p99, max and mean of `values`; `missing` samples count as infinitely late.

    >>> summary([1.0, 2.0, 3.0])["p50"], summary([1.0], missing=1)["p99"]
    (2.0, inf)
    """
    every = list(values) + [math.inf] * missing
    finite = [v for v in every if math.isfinite(v)]
    return {
        "n": len(every),
        "missing": missing,
        "p50": percentile(every, 50),
        "p99": percentile(every, 99),
        "max": max(every) if every else math.nan,
        "mean": sum(finite) / len(finite) if finite else math.nan,
    }


def mb(num_bytes: float) -> float:
    """Bytes in MiB, rounded to 0.1.

    >>> mb(3 * 1024 * 1024)
    3.0
    """
    return round(num_bytes / (1024 * 1024), 1)
