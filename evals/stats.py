"""Paired comparisons of per-user metric values: a variant against the baseline."""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import stats

ALPHA = 0.05
POWER = 0.80


def paired_comparison(variant: np.ndarray, baseline: np.ndarray, resamples: int = 2000,
                      seed: int = 0) -> dict:
    """Mean difference (variant - baseline) with a percentile bootstrap 95% CI, a two-sided
    sign-flip permutation p-value, a Wilcoxon signed-rank p-value, and the minimum detectable
    effect for this n at alpha 0.05 and 80% power."""
    v, b = np.asarray(variant, dtype=float), np.asarray(baseline, dtype=float)
    keep = ~(np.isnan(v) | np.isnan(b))
    d = v[keep] - b[keep]
    n = len(d)
    out = {"n": n, "mean_variant": _mean(v[keep]), "mean_baseline": _mean(b[keep]), "diff": _mean(d),
           "ci_low": None, "ci_high": None, "p_value": None, "p_wilcoxon": None,
           "mde": minimum_detectable_effect(d)}
    if n < 2:
        return out
    if np.all(d == d[0]):  # no spread: every resample is the same; only the all-same sign
        # patterns reach |mean| (exact sign-flip p = 2 / 2^n)
        out.update(ci_low=float(d[0]), ci_high=float(d[0]),
                   p_value=1.0 if d[0] == 0 else min(1.0, 2.0 / 2.0 ** n), p_wilcoxon=1.0 if d[0] == 0 else None)
        return _rounded(out)
    rng = np.random.default_rng(seed)
    boot = stats.bootstrap((d,), np.mean, n_resamples=resamples, confidence_level=0.95,
                           method="percentile", random_state=rng, vectorized=True)
    perm = stats.permutation_test((d,), lambda x, axis: np.mean(x, axis=axis), permutation_type="samples",
                                  n_resamples=max(resamples, 2000), alternative="two-sided",
                                  random_state=np.random.default_rng(seed + 1), vectorized=True)
    out.update(ci_low=float(boot.confidence_interval.low), ci_high=float(boot.confidence_interval.high),
               p_value=float(perm.pvalue))
    if np.any(d != 0):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # with ties or zeros, scipy's "auto" runs an unvectorised exact permutation for n <= 13
            # (seconds per metric); the normal approximation is what it uses above that
            tied = np.any(d == 0) or len(np.unique(np.abs(d))) < n
            out["p_wilcoxon"] = float(stats.wilcoxon(d, zero_method="zsplit", method="approx" if tied else "auto").pvalue)
    return _rounded(out)


def mean_ci(values: np.ndarray, resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap 95% CI of a mean (the mean itself when there is no spread)."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2 or np.all(values == values[0]):
        m = float(np.mean(values)) if len(values) else 0.0
        return m, m
    ci = stats.bootstrap((values,), np.mean, n_resamples=resamples, confidence_level=0.95, method="percentile",
                         random_state=np.random.default_rng(seed), vectorized=True).confidence_interval
    return float(ci.low), float(ci.high)


def minimum_detectable_effect(d: np.ndarray, alpha: float = ALPHA, power: float = POWER) -> float | None:
    """(z_{1-alpha/2} + z_{power}) * sd(d) / sqrt(n): the smallest true mean difference this
    paired sample would detect with the given power (normal approximation)."""
    n = len(d)
    if n < 2:
        return None
    sd = float(np.std(d, ddof=1))
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return round(float(z * sd / math.sqrt(n)), 6)


def _mean(x: np.ndarray) -> float | None:
    return round(float(np.mean(x)), 6) if len(x) else None


def _rounded(out: dict) -> dict:
    return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in out.items()}
