"""Bootstrap intervals that say what they rest on.

Replicates are drawn once per set of items and shared by every figure over those items
(:func:`~corpus.iaa.stats.bootstrap_weights`, vectorised: one statistic call per figure for
all replicates). This module turns a figure's replicates into its interval:

* every replicate keeps its value, 0.0 included; a replicate where the statistic is undefined
  (e.g. a resample in which every annotation has one stance) is counted and the reason given;
* with fewer than :data:`MIN_DEFINED` defined replicates there is no interval, and the
  :class:`~corpus.iaa.stats.Metric` says so;
* the interval is BCa (bias-corrected and accelerated, Efron and Tibshirani 1993, 14.3) from
  ``scipy.stats.bootstrap`` given these replicates (``bootstrap_result``) and the statistic
  over item indices, whose jackknife scipy computes. BCa is used where it is defined: the
  estimate inside the replicates' range, every leave-one-out estimate defined, at least two
  items, and at most :data:`BCA_MAX_ITEMS` items (scipy's jackknife evaluates the statistic
  on n samples of n - 1 items: about 0.5 s per figure at 10,000 items, and a report has some
  forty figures; intervals over that many items are narrow, and the percentile interval's
  coverage error shrinks with n too). Elsewhere, and with ``method="percentile"``, it is the
  percentile interval, also from scipy; the Metric names the method and why;
* an interval whose bound equals the estimate (a statistic at its maximum in most resamples,
  such as perfect agreement) is noted: it is one-sided.
"""

from __future__ import annotations

import types
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from corpus.iaa.stats import Float, Metric

CONFIDENCE = 0.95
MIN_DEFINED = 100  # fewer defined replicates put under three in each 2.5% tail
BCA_MAX_ITEMS = 2000
METHODS = ("bca", "percentile")


@dataclass(frozen=True)
class Items:
    """What a figure's statistic is computed over, for the jackknife: each item's pattern id
    (items with the same data share one) and the statistic of weights over patterns."""

    ids: NDArray[np.int64]  # per item, its pattern
    patterns: int
    statistic: Callable[[Float], Float]  # weights (b, patterns) -> statistic (b,)

    def over_indices(self, ids: NDArray[Any], axis: int = -1) -> Float:
        """The statistic of resamples given as pattern ids (what scipy hands over)."""
        ids = np.moveaxis(np.asarray(ids), axis, -1)
        flat = ids.reshape(-1, ids.shape[-1])
        b = len(flat)
        offsets = (flat + self.patterns * np.arange(b)[:, None]).ravel()
        weights = np.bincount(offsets, minlength=b * self.patterns).reshape(b, self.patterns)
        values: Float = self.statistic(weights.astype(float)).reshape(ids.shape[:-1])
        return values


def bootstrap_metric(
    value: float | None,
    replicates: Sequence[float] | Float,
    n: int,
    *,
    items: Items | None = None,
    method: str = "bca",
    undefined: str = "the statistic is undefined for it",
    note: str | None = None,
) -> Metric:
    """A figure with its interval (see the module docstring). ``undefined`` says when a
    resample has no value (``"a resample in which ..."``)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    if value is None or not np.isfinite(value):
        return Metric(None, n=n, note=note or "undefined for these data")
    reps = np.asarray(replicates, dtype=float)
    defined = reps[np.isfinite(reps)]
    b, missing = len(reps), int(len(reps) - len(defined))
    out = Metric(round(float(value), 4), n=n, note=note, replicates=b, undefined=missing)
    if b == 0:
        out.interval_note = "no interval: 0 resamples"
        return out
    why = f"{missing} of {b} resamples undefined ({undefined})" if missing else None
    if len(defined) < MIN_DEFINED:
        out.interval_note = (
            f"no interval: only {len(defined)} of {b} resamples give a value, and an interval "
            f"needs {MIN_DEFINED}" + (f" ({why})" if why else "")
        )
        return out
    bca, reason = _bca(float(value), defined, n, items) if method == "bca" else (None, None)
    if bca is not None:
        out.method, (low, high) = "BCa", bca
    else:
        found = _scipy_interval(defined, "percentile", None)
        assert found is not None, "percentiles of finite replicates are finite"
        out.method, (low, high) = "percentile", found
    out.low, out.high = round(low, 4), round(high, 4)
    notes = [why + "; the interval is over the others" if why else None, reason]
    if out.low == out.value == out.high:
        notes.append("both bounds equal the estimate: (nearly) every resample gives it")
    elif out.low == out.value or out.high == out.value:
        side = "lower" if out.low == out.value else "upper"
        notes.append(f"its {side} bound equals the estimate (one-sided: most resamples reach it)")
    out.interval_note = "; ".join(x for x in notes if x) or None
    return out


def _scipy_interval(
    replicates: Float, method: str, items: Items | None
) -> tuple[float, float] | None:
    from scipy.stats import bootstrap

    data = items.ids if items is not None else np.arange(2)
    statistic = items.over_indices if items is not None else _never
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # scipy warns on degenerate data: NaN says it here
        result = bootstrap(
            (data,), statistic, n_resamples=0, method=method, vectorized=True,
            confidence_level=CONFIDENCE, batch=256,
            bootstrap_result=types.SimpleNamespace(bootstrap_distribution=replicates),
        )  # fmt: skip
    low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
    return (low, high) if np.isfinite(low) and np.isfinite(high) else None


def _never(*args: Any, **kwargs: Any) -> Float:
    raise AssertionError("the percentile interval never evaluates the statistic")


def _bca(
    value: float, replicates: Float, n: int, items: Items | None
) -> tuple[tuple[float, float] | None, str | None]:
    """The BCa bounds, or why there are none (then the percentile interval is used)."""
    if items is None:
        why = "no jackknife for this figure"
    elif n < 2:
        why = "BCa needs two or more items"
    elif n > BCA_MAX_ITEMS:
        why = f"BCa's jackknife is skipped above {BCA_MAX_ITEMS:,} items"
    elif np.all(replicates == replicates[0]):
        why = "BCa undefined: every resample gives the same value"
    elif np.all(replicates > value) or np.all(replicates < value):
        why = "BCa undefined: every resample is on one side of the estimate"
    else:
        bounds = _scipy_interval(replicates, "BCa", items)
        if bounds is not None:
            return bounds, None
        why = "BCa undefined: an estimate leaving one item out is undefined"
    return None, f"percentile interval ({why})"
