import numpy as np
import pytest

from stargan_keras.data.pipeline import training_batches
from stargan_keras.data.synthetic import MULTI_LABEL_NAMES, synthetic_sources
from stargan_keras.labels import LabelLayout


def _setup(name="synthetic"):
    sources = synthetic_sources(name, 16, 0, MULTI_LABEL_NAMES)
    return sources, LabelLayout(tuple(s.label_set for s in sources))


def _first(dataset, n=1):
    return [{k: v.numpy() for k, v in b.items()} for b in dataset.take(n)]


def test_batch_shapes_and_targets():
    sources, layout = _setup()
    (batch,) = _first(training_batches(sources, layout, batch_size=4, n_critic=3))
    assert batch["images"].shape == (12, 16, 16, 3)
    assert batch["labels"].shape == batch["target_labels"].shape == (12, 5)
    assert batch["alpha"].shape == (12,) and 0 <= batch["alpha"].min() < batch["alpha"].max() <= 1
    for t in range(3):
        part = slice(4 * t, 4 * t + 4)
        assert sorted(map(tuple, batch["labels"][part])) == \
            sorted(map(tuple, batch["target_labels"][part]))


def test_iterations_take_consecutive_examples():
    sources, layout = _setup()
    (batch,) = _first(training_batches(sources, layout, batch_size=4, n_critic=2))
    examples = [e[0].numpy() for e in sources[0].train_examples(0).take(8)]
    np.testing.assert_array_equal(batch["images"], np.stack(examples))


def test_resume_sees_the_same_batches():
    sources, layout = _setup("synthetic_both")
    full = _first(training_batches(sources, layout, 4, 2, seed=7), 3)
    resumed = _first(training_batches(sources, layout, 4, 2, start_iteration=4, seed=7), 1)
    for key in full[2]:
        np.testing.assert_array_equal(full[2][key], resumed[0][key])
    with pytest.raises(ValueError, match="multiple of n_critic"):
        training_batches(sources, layout, 4, 2, start_iteration=3)


def test_joint_batches_carry_the_mask():
    sources, layout = _setup("synthetic_both")
    (batch,) = _first(training_batches(sources, layout, batch_size=2, n_critic=1))
    # One iteration: 2 CelebA-like examples, then 2 RaFD-like ones.
    np.testing.assert_array_equal(batch["labels"][:2, -2:], [[1, 0], [1, 0]])
    np.testing.assert_array_equal(batch["labels"][2:, -2:], [[0, 1], [0, 1]])
    assert not batch["labels"][:2, 5:9].any() and not batch["labels"][2:, :5].any()


def test_replica_major_order():
    sources, layout = _setup()
    (one,) = _first(training_batches(sources, layout, batch_size=4, n_critic=2, num_replicas=1))
    (two,) = _first(training_batches(sources, layout, batch_size=2, n_critic=2, num_replicas=2))
    # Replica r's half holds its share of iteration 0, then of iteration 1.
    order = [0, 1, 4, 5, 2, 3, 6, 7]
    for key in one:
        np.testing.assert_array_equal(two[key], one[key][order])
