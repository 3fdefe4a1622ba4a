import pytest

from stargan_keras.training.schedule import LinearDecay


def test_constant_then_linear_to_zero():
    lr = LinearDecay(1e-4, num_iters=1000, num_iters_decay=400)
    assert float(lr(0)) == pytest.approx(1e-4)
    assert float(lr(600)) == pytest.approx(1e-4)
    assert float(lr(800)) == pytest.approx(5e-5)
    assert float(lr(999)) == pytest.approx(1e-4 / 400)
    assert float(lr(1000)) == 0.0


def test_generator_updates_map_to_cycle_ends():
    # G's update k happens on iteration 5k + 4; two label sets give two updates each.
    lr = LinearDecay(1e-4, num_iters=1000, num_iters_decay=500, updates_per_iter=2, stride=5,
                     offset=4)
    assert int(lr.iteration(0)) == 4 and int(lr.iteration(1)) == 4
    assert int(lr.iteration(2)) == 9
    assert float(lr(2 * 149)) == pytest.approx(1e-4 * (1000 - 749) / 500)


def test_no_decay():
    assert float(LinearDecay(2e-4, 100, 0)(99)) == pytest.approx(2e-4)


def test_config_round_trip():
    lr = LinearDecay(1e-4, 10, 5, 2, 5, 4)
    assert LinearDecay(**lr.get_config()).get_config() == lr.get_config()
