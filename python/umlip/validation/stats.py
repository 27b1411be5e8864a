"""Error statistics and bootstrap confidence intervals."""
from __future__ import annotations

from typing import Callable, Dict, List, Optional, Sequence

import numpy as np


def error_stats(pred: Sequence[float], ref: Sequence[float],
                weights: Optional[Sequence[float]] = None) -> Dict[str, float]:
    """MAE, RMSE, max |error| and mean signed error (pred - ref), in the inputs' unit.

    ``weights`` (e.g. q-point weights of a symmetry-reduced mesh) weight MAE/RMSE/ME."""
    p, r = np.asarray(pred, float).ravel(), np.asarray(ref, float).ravel()
    if p.shape != r.shape:
        raise ValueError(f"shape mismatch {p.shape} vs {r.shape}")
    if p.size == 0:
        return {"n": 0, "mae": float("nan"), "rmse": float("nan"), "max_abs": float("nan"),
                "mean_error": float("nan")}
    e = p - r
    w = np.ones_like(e) if weights is None else np.asarray(weights, float).ravel()
    w = w / w.sum()
    return {"n": int(e.size), "mae": float(np.sum(w * np.abs(e))),
            "rmse": float(np.sqrt(np.sum(w * e * e))), "max_abs": float(np.abs(e).max()),
            "mean_error": float(np.sum(w * e))}


def bootstrap_ci(data: Sequence[float], statistic: Callable[..., np.ndarray] = np.mean,
                 n_boot: int = 4000, level: float = 0.95, seed: int = 0) -> Dict[str, float]:
    """Percentile bootstrap confidence interval of ``statistic`` over ``data``.

    ``statistic(samples, axis=1)`` must reduce along axis 1 (np.mean does). Resamples are
    drawn with numpy's default_rng(seed), so the interval is reproducible.

    Returns ``{"estimate", "low", "high", "level", "n", "n_boot"}``; for empty data all
    values are NaN.
    """
    x = np.asarray(data, float).ravel()
    if x.size == 0:
        nan = float("nan")
        return {"estimate": nan, "low": nan, "high": nan, "level": level, "n": 0,
                "n_boot": n_boot}
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(n_boot, x.size))
    boot = statistic(x[idx], axis=1)
    alpha = (1.0 - level) / 2
    lo, hi = np.quantile(boot, [alpha, 1 - alpha])
    return {"estimate": float(statistic(x[None, :], axis=1)[0]), "low": float(lo),
            "high": float(hi), "level": level, "n": int(x.size), "n_boot": n_boot}


def binomial_ci(k: int, n: int, level: float = 0.95) -> Dict[str, float]:
    """Exact (Clopper-Pearson) confidence interval of a probability from ``k`` successes in
    ``n`` trials. Unlike the percentile bootstrap it does not collapse to a point when every
    trial has the same outcome (0/20 gives [0, 0.168] at 95%, the bootstrap [0, 0]).

    Returns ``{"estimate", "low", "high", "level", "n"}``; NaN for n = 0."""
    from scipy.stats import beta

    if n == 0:
        nan = float("nan")
        return {"estimate": nan, "low": nan, "high": nan, "level": level, "n": 0}
    a = (1.0 - level) / 2
    lo = 0.0 if k == 0 else float(beta.ppf(a, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(1 - a, k + 1, n - k))
    return {"estimate": k / n, "low": lo, "high": hi, "level": level, "n": int(n)}


def fisher_exact(k1: int, n1: int, k2: int, n2: int) -> float:
    """Two-sided Fisher exact test of ``k1`` successes in ``n1`` trials vs ``k2`` in ``n2``.

    The p-value is the sum of the hypergeometric probabilities (margins fixed) of every
    table no more probable than the observed one (relative tolerance 1e-7, as scipy's
    ``fisher_exact``). 12/20 vs 6/20 gives p = 0.111. Returns 1.0 when a margin is empty."""
    from math import comb

    if not (0 <= k1 <= n1 and 0 <= k2 <= n2):
        raise ValueError(f"counts {k1}/{n1}, {k2}/{n2}: need 0 <= k <= n")
    k, n = k1 + k2, n1 + n2
    if k == 0 or k == n:
        return 1.0
    total = comb(n, k)
    prob = {x: comb(n1, x) * comb(n2, k - x) / total
            for x in range(max(0, k - n2), min(k, n1) + 1)}
    p_obs = prob[k1]
    return float(min(1.0, sum(p for p in prob.values() if p <= p_obs * (1 + 1e-7))))


def holm(pvalues: Sequence[float]) -> List[float]:
    """Holm-Bonferroni adjusted p-values (same order as ``pvalues``): reject hypothesis i
    at family-wise level alpha when its adjusted p < alpha."""
    p = np.asarray(pvalues, float)
    order = np.argsort(p, kind="stable")
    adj = np.empty_like(p)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p) - rank) * p[i]))
        adj[i] = running
    return [float(x) for x in adj]


def smallest_resolvable_difference(n: int, alpha: float = 0.05) -> int:
    """The smallest count difference d such that every k/n vs (k + d)/n (0 <= k <= n - d)
    differs at two-sided Fisher level ``alpha``: what ``n`` trials per arm can resolve."""
    for d in range(1, n + 1):
        if all(fisher_exact(k, n, k + d, n) < alpha for k in range(0, n - d + 1)):
            return d
    return n + 1
