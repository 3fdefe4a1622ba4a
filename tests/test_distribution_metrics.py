import numpy as np
import pytest

from stargan_keras.evaluation.distribution_metrics import (
    frechet_distance,
    kernel_inception_distance,
    polynomial_mmd,
)


def _gaussian(n=400, dim=6, seed=0):
    return np.random.default_rng(seed).normal(size=(n, dim))


# 400 rows of 6 features take the [F, F] route; 20 rows of 50 the [N, M] one.
SHAPES = pytest.mark.parametrize("n,dim", [(400, 6), (20, 50)])


@SHAPES
def test_fid_of_identical_sets_is_zero(n, dim):
    a = _gaussian(n, dim)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)


@SHAPES
def test_fid_of_a_shifted_set_is_the_squared_shift(n, dim):
    # Same covariance, means apart by delta: FID = |delta|^2 exactly.
    a = _gaussian(n, dim)
    delta = np.linspace(-2.0, 3.0, dim)
    assert frechet_distance(a + delta, a) == pytest.approx(float(delta @ delta), rel=1e-9)


@SHAPES
def test_fid_of_scaled_sets_follows_the_closed_form(n, dim):
    # Covariances S and 4S: tr(S) + tr(4S) - 2 tr(2S) = tr(S).
    a = _gaussian(n, dim)
    covariance = np.cov(a, rowvar=False)
    assert frechet_distance(2 * a, a) == pytest.approx(
        np.trace(covariance) + float(np.sum(a.mean(0) ** 2)), rel=1e-9)


def test_both_fid_routes_agree():
    a, b = _gaussian(30, 20, 1), 1.5 * _gaussian(40, 20, 2) + 0.2
    wide = np.concatenate([a, np.zeros((30, 30))], axis=1)  # same FID, more features
    wide_b = np.concatenate([b, np.zeros((40, 30))], axis=1)
    assert frechet_distance(wide, wide_b) == pytest.approx(frechet_distance(a, b), rel=1e-9)


def test_polynomial_mmd_matches_the_definition():
    a, b = _gaussian(5, 3, 1), _gaussian(4, 3, 2) + 1.0

    def k(x, y):
        return (x @ y / 3 + 1) ** 3

    within_a = np.mean([k(a[i], a[j]) for i in range(5) for j in range(5) if i != j])
    within_b = np.mean([k(b[i], b[j]) for i in range(4) for j in range(4) if i != j])
    cross = np.mean([k(x, y) for x in a for y in b])
    assert polynomial_mmd(a, b) == pytest.approx(within_a + within_b - 2 * cross, rel=1e-12)


def test_kid_is_near_zero_for_one_distribution_and_grows_with_a_shift():
    a, b = _gaussian(300, 6, 1), _gaussian(300, 6, 2)
    same, _ = kernel_inception_distance(a, b, subset_size=100, num_subsets=20)
    shifted, _ = kernel_inception_distance(a + 1.0, b, subset_size=100, num_subsets=20)
    assert abs(same) < 0.05 and shifted > 1.0


def test_kid_is_deterministic_given_the_seed():
    a, b = _gaussian(300, 6, 1), _gaussian(200, 6, 2) + 0.3
    first = kernel_inception_distance(a, b, subset_size=50, num_subsets=10, seed=3)
    assert first == kernel_inception_distance(a, b, subset_size=50, num_subsets=10, seed=3)
    assert first != kernel_inception_distance(a, b, subset_size=50, num_subsets=10, seed=4)
    assert first[1] > 0


def test_kid_of_small_sets_uses_both_whole_sets_once():
    a, b = _gaussian(10, 6, 1), _gaussian(10, 6, 2)
    assert kernel_inception_distance(a, b) == (polynomial_mmd(a, b), 0.0)


def test_bad_feature_sets_are_rejected():
    with pytest.raises(ValueError, match="at least 2"):
        frechet_distance(_gaussian(1), _gaussian(5))
    with pytest.raises(ValueError, match="equal F"):
        kernel_inception_distance(_gaussian(5, 3), _gaussian(5, 4))
