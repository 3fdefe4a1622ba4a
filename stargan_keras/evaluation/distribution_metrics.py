"""Distances between two sets of image features: FID and KID.

FID (Heusel et al. 2017) compares Gaussians fitted to the two sets; KID (Bińkowski et
al. 2018) is an unbiased MMD with a cubic polynomial kernel, averaged over random
subsets, and is unbiased for small sets where FID is not. Both are computed in float64
with NumPy alone (no SciPy): the matrix square root comes from symmetric
eigendecompositions.
"""

from __future__ import annotations

import numpy as np


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """FID between features a [N, F] and b [M, F] (each set needs at least 2 rows).

    ||mu_a - mu_b||^2 + tr(S_a) + tr(S_b) - 2 tr((S_a S_b)^(1/2)). With centred features
    X_a, X_b, S_a S_b has the non-zero eigenvalues of (X_a X_b^T)(X_a X_b^T)^T / c, so
    the last trace is the sum of the singular values of X_a X_b^T over sqrt(c),
    c = (N - 1)(M - 1): an [N, M] problem, much smaller than [F, F] when the sets have
    fewer images than features (2048 for InceptionV3). Otherwise it is the trace of
    (S_a^(1/2) S_b S_a^(1/2))^(1/2), whose matrix is symmetric.
    """
    a, b = _check(a, b, minimum=2)
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    centred_a, centred_b = a - mu_a, b - mu_b
    scale_a, scale_b = len(a) - 1, len(b) - 1
    if min(len(a), len(b)) < a.shape[1]:
        cross = (np.linalg.svd(centred_a @ centred_b.T, compute_uv=False).sum()
                 / np.sqrt(scale_a * scale_b))
    else:
        cov_a, cov_b = centred_a.T @ centred_a / scale_a, centred_b.T @ centred_b / scale_b
        root_a = _psd_sqrt(cov_a)
        cross = np.sqrt(np.clip(np.linalg.eigvalsh(root_a @ cov_b @ root_a), 0.0, None)).sum()
    traces = np.sum(centred_a**2) / scale_a + np.sum(centred_b**2) / scale_b
    distance = np.sum((mu_a - mu_b) ** 2) + traces - 2.0 * cross
    return float(max(distance, 0.0))


def polynomial_mmd(a: np.ndarray, b: np.ndarray) -> float:
    """Unbiased MMD^2 of a [m, F] and b [n, F] with k(x, y) = (x.y / F + 1)^3."""
    a, b = _check(a, b, minimum=2)
    dim = a.shape[1]

    def kernel(x, y):
        return (x @ y.T / dim + 1.0) ** 3

    k_aa, k_bb, k_ab = kernel(a, a), kernel(b, b), kernel(a, b)
    m, n = len(a), len(b)
    within_a = (k_aa.sum() - np.trace(k_aa)) / (m * (m - 1))
    within_b = (k_bb.sum() - np.trace(k_bb)) / (n * (n - 1))
    return float(within_a + within_b - 2.0 * k_ab.mean())


def kernel_inception_distance(a: np.ndarray, b: np.ndarray, subset_size: int = 1000,
                              num_subsets: int = 100, seed: int = 0) -> tuple[float, float]:
    """KID: mean and standard deviation of ``polynomial_mmd`` over random subsets.

    Each subset draws min(subset_size, N, M) rows of each set without replacement;
    ``seed`` fixes the draws. When both sets fit in one subset, every subset is the
    whole of both, so one is computed and the deviation is 0.
    """
    a, b = _check(a, b, minimum=2)
    size = min(subset_size, len(a), len(b))
    if size == len(a) == len(b):
        return polynomial_mmd(a, b), 0.0
    rng = np.random.default_rng(seed)
    values = [polynomial_mmd(a[rng.choice(len(a), size, replace=False)],
                             b[rng.choice(len(b), size, replace=False)])
              for _ in range(num_subsets)]
    return float(np.mean(values)), float(np.std(values))


def _check(a, b, minimum: int) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sets must be [N, F] with equal F; got {a.shape} and {b.shape}")
    if len(a) < minimum or len(b) < minimum:
        raise ValueError(f"need at least {minimum} feature rows per set; got {len(a)} "
                         f"and {len(b)}")
    return a, b
