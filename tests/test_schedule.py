import numpy as np
import pytest
import tensorflow as tf
from conftest import TINY

from stargan_keras.config import TrainConfig
from stargan_keras.training import loop
from stargan_keras.training.monitor import TrainingMonitor
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


# The learning rates a training run really uses: every update of both optimizers in a
# short run through train(), against the official solver's decay.

def official_rates(lr: float, num_iters: int, num_iters_decay: int,
                   lr_update_step: int) -> list[float]:
    """The rate of each iteration i in the official solver (solver.py), which after
    iteration i subtracts ``lr / num_iters_decay`` when ``(i + 1) % lr_update_step == 0``
    and ``(i + 1) > num_iters - num_iters_decay``; one decay per iteration in joint
    training too (train_multi decays after both datasets' updates)."""
    rates, current = [], lr
    for i in range(num_iters):
        rates.append(current)
        if (i + 1) % lr_update_step == 0 and (i + 1) > num_iters - num_iters_decay:
            current -= lr / float(num_iters_decay)
    return rates


def _record_learning_rates(monkeypatch) -> tuple[list, list]:
    """Make train() build schedules that keep each rate they give the optimizer, at the
    optimizer's update count, and note the update counts at each cycle boundary."""
    schedules, boundaries = [], []
    capacity = 1024

    class RecordedDecay(LinearDecay):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.rates = tf.Variable(tf.fill([capacity], -1.0), trainable=False)
            schedules.append(self)

        def __call__(self, step):
            rate = super().__call__(step)
            index = tf.minimum(tf.cast(step, tf.int32), capacity - 1)
            self.rates.scatter_nd_update([[index]], [tf.cast(rate, tf.float32)])
            return rate

    start = TrainingMonitor.start

    def start_and_count(self, iteration):  # called before the first cycle and after each
        boundaries.append((iteration, int(self.model.d_optimizer.iterations),
                           int(self.model.g_optimizer.iterations)))
        start(self, iteration)

    monkeypatch.setattr(loop, "LinearDecay", RecordedDecay)
    monkeypatch.setattr(TrainingMonitor, "start", start_and_count)
    return schedules, boundaries


@pytest.mark.slow
@pytest.mark.parametrize("dataset, sets", [("synthetic", 1), ("synthetic_both", 2)])
def test_each_update_in_training_uses_the_official_decayed_rate(tmp_path, monkeypatch,
                                                                dataset, sets):
    # The official code decays every lr_update_step (default 1000) iterations; the package
    # every iteration, the paper's "linearly decay to 0" (docs/official_differences.md):
    # exactly the official loop's rates with lr_update_step=1. Decay starts at iteration
    # 5 of 12, inside the run; G (updated on iterations 2, 5, 8, 11) and D get different
    # rates so that schedules swapped between them show.
    n_critic, num_iters, num_iters_decay, g_lr, d_lr = 3, 12, 8, 1e-4, 3e-4
    schedules, boundaries = _record_learning_rates(monkeypatch)
    config = TrainConfig(run_dir=str(tmp_path / "run"), dataset=dataset, **{
        **TINY, "n_critic": n_critic, "num_iters": num_iters, "num_iters_decay": num_iters_decay,
        "g_lr": g_lr, "d_lr": d_lr, "log_step": n_critic, "sample_step": num_iters,
        "model_save_step": num_iters})
    model = loop.train(config)
    d_official = official_rates(d_lr, num_iters, num_iters_decay, lr_update_step=1)
    g_official = official_rates(g_lr, num_iters, num_iters_decay, lr_update_step=1)
    assert g_official[2:12:3] == pytest.approx([1e-4, 1e-4 * 7 / 8, 1e-4 * 4 / 8, 1e-4 / 8])

    by_optimizer = {id(s): s for s in schedules}
    d_rates = by_optimizer[id(model.d_optimizer._learning_rate)].rates.numpy()
    g_rates = by_optimizer[id(model.g_optimizer._learning_rate)].rates.numpy()
    assert [b[0] for b in boundaries] == list(range(0, num_iters + 1, n_critic))
    d_expected, g_expected = [], []
    for (begin, d_begin, g_begin), (end, d_end, g_end) in zip(boundaries, boundaries[1:]):
        # In a cycle D is updated once per label set on each iteration in turn, G once
        # per label set on the cycle's last iteration (the official order).
        assert (d_end - d_begin, g_end - g_begin) == (n_critic * sets, sets)
        d_expected += [d_official[i] for i in range(begin, end) for _ in range(sets)]
        g_expected += [g_official[end - 1]] * sets
    np.testing.assert_allclose(d_rates[:len(d_expected)], d_expected, rtol=1e-6)
    np.testing.assert_allclose(g_rates[:len(g_expected)], g_expected, rtol=1e-6)
