import numpy as np
import pytest
import tensorflow as tf

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


def _counting_render(monkeypatch):
    """Counts the images synthetic sources render (their one expensive step)."""
    import stargan_keras.data.synthetic as synthetic

    rendered, real = [], synthetic.render

    def render(scenes, size):
        def count(n):
            rendered.append(int(n))
            return n
        n = tf.py_function(count, [tf.shape(scenes["mark"])[0]], tf.int32)
        with tf.control_dependencies([n]):
            return real(scenes, size)

    monkeypatch.setattr(synthetic, "render", render)
    return rendered


def test_a_worker_builds_exactly_its_slice_and_renders_nothing_else(monkeypatch):
    sources, layout = _setup("synthetic_both")
    # 4 replicas of 8 on 2 workers: a global batch of 32 per label set, 16 per worker.
    whole = _first(training_batches(sources, layout, 8, 2, num_replicas=4, seed=5,
                                    start_iteration=2), 2)
    rendered = _counting_render(monkeypatch)
    shares = [_first(training_batches(sources, layout, 8, 2, num_replicas=4, seed=5,
                                      start_iteration=2, num_workers=2, worker=w), 2)
              for w in range(2)]
    # Every render call drew one worker's 16 images of one set and iteration; none drew
    # a whole block (64) or a global batch (32).
    assert rendered and set(rendered) == {16}
    for cycle in range(2):
        for w, share in enumerate(shares):
            # Worker w feeds global replicas 2w and 2w + 1: its half, replica-major.
            batch, mine = share[cycle], slice(w * 64, (w + 1) * 64)
            assert batch["images"].shape == (64, 16, 16, 3)
            for key in ("images", "labels", "alpha"):
                np.testing.assert_array_equal(batch[key], whole[cycle][key][mine])
            # Targets: a permutation of the worker's own 16 labels of each iteration and
            # set (rows are [replica, iteration, set, example]).
            labels = batch["labels"].reshape(2, 2, 2, 8, -1)
            targets = batch["target_labels"].reshape(2, 2, 2, 8, -1)
            for i in range(2):
                for s in range(2):
                    assert (sorted(map(tuple, labels[:, i, s].reshape(16, -1))) ==
                            sorted(map(tuple, targets[:, i, s].reshape(16, -1))))
            assert not np.array_equal(batch["target_labels"], batch["labels"])


def test_replicas_must_split_evenly_over_the_workers():
    sources, layout = _setup("synthetic_both")
    with pytest.raises(ValueError, match="split evenly"):
        training_batches(sources, layout, 2, 2, num_replicas=3, num_workers=2, worker=0)
    with pytest.raises(ValueError, match="worker 2 of 2"):
        training_batches(sources, layout, 2, 2, num_replicas=4, num_workers=2, worker=2)
