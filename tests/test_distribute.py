import numpy as np
import pytest
import tensorflow as tf

from stargan_keras.data.pipeline import training_batches
from stargan_keras.data.synthetic import MULTI_LABEL_NAMES, synthetic_sources
from stargan_keras.labels import LabelLayout
from stargan_keras.training.distribute import distribute, is_chief, make_strategy


@pytest.mark.slow
def test_each_replica_gets_its_own_share_in_order():
    sources = synthetic_sources("synthetic", 8, 0, MULTI_LABEL_NAMES)
    layout = LabelLayout((sources[0].label_set,))
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])

    def batches(num_workers=1, worker=0):
        return training_batches(sources, layout, 2, 2, num_replicas=2,
                                num_workers=num_workers, worker=worker)

    iterator = iter(distribute(strategy, batches))
    for cycle in range(2):
        shares = strategy.experimental_local_results(next(iterator))
        whole = next(iter(batches().skip(cycle)))
        assert len(shares) == 2
        for r, share in enumerate(shares):
            np.testing.assert_array_equal(share["images"], whole["images"][4 * r:4 * r + 4])
            np.testing.assert_array_equal(share["target_labels"],
                                          whole["target_labels"][4 * r:4 * r + 4])


def test_strategy_errors_are_clear(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="needs TF_CONFIG"):
        make_strategy("multi_worker")
    with pytest.raises(ValueError, match="--strategy='gpu'"):
        make_strategy("gpu")


def test_default_strategy_is_chief():
    assert is_chief(make_strategy("default"))
