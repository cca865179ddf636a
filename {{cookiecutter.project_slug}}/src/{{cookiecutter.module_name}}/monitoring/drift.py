"""Has a feature's live distribution moved away from its training distribution?

Two measures, because each misleads alone: the two-sample Kolmogorov-Smirnov test says
how surprising the difference is (with thousands of predictions it flags shifts too
small to matter), the population stability index says how large it is (with a few
dozen predictions it is mostly noise). A feature drifts when both agree.
"""

from dataclasses import dataclass

import numpy as np
from scipy.stats import ks_2samp

from ..params import MonitorParams

# The index compares the shares of values in the training set's deciles.
BINS = 10
# An empty bin would make the index infinite: it counts as this share instead.
FLOOR = 1e-4


@dataclass(frozen=True)
class FeatureDrift:
    ks_statistic: float
    p_value: float
    psi: float
    drifted: bool
    training_mean: float
    live_mean: float


def shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Return the share of `values` in each bin that the inner `edges` delimit."""
    bins = np.searchsorted(edges, values, side="right")
    counts = np.bincount(bins, minlength=len(edges) + 1)
    return np.maximum(counts / len(values), FLOOR)


def stability_index(training: np.ndarray, live: np.ndarray) -> float:
    """Return the population stability index of `live` against `training`.

    By convention, under 0.1 is stable, 0.1 to 0.25 a moderate shift, above a major one.
    """
    # Measured values repeat (rounded to the millimetre, say): equal deciles merge.
    edges = np.unique(np.quantile(training, np.linspace(0, 1, BINS + 1)[1:-1]))
    expected, actual = shares(training, edges), shares(live, edges)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def compare(
    training: np.ndarray, live: np.ndarray, params: MonitorParams
) -> FeatureDrift:
    test = ks_2samp(training, live)
    p_value = float(test.pvalue)
    psi = stability_index(training, live)
    return FeatureDrift(
        ks_statistic=float(test.statistic),
        p_value=p_value,
        psi=psi,
        drifted=p_value < params.p_value and psi >= params.min_psi,
        training_mean=float(training.mean()),
        live_mean=float(live.mean()),
    )
