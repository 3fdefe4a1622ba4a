import numpy as np
import pytest
import tensorflow as tf

from stargan_keras.data.rendered import ground_truth
from stargan_keras.data.synthetic import (
    MARKS,
    MULTI_LABEL_NAMES,
    SyntheticShapes,
    synthetic_sources,
)
from stargan_keras.labels import LabelLayout


def _take(dataset, n):
    return [tuple(t.numpy() for t in example) for example in dataset.take(n)]


def test_stream_is_a_pure_function_of_seed_and_index():
    source = SyntheticShapes("synthetic", 16, seed=3)
    first = _take(source.train_examples(0), 70)
    again = _take(SyntheticShapes("synthetic", 16, seed=3).train_examples(0), 70)
    later = _take(source.train_examples(65), 5)
    other = _take(SyntheticShapes("synthetic", 16, seed=4).train_examples(0), 1)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a[0], b[0])
    for a, b in zip(first[65:], later):
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(first[0][0], other[0][0])


def test_images_and_labels():
    images, labels, scenes = SyntheticShapes("synthetic", 32, seed=0).held_out(200)
    assert images.shape == (200, 32, 32, 3) and labels.shape == (200, 5)
    assert float(tf.reduce_min(images)) >= -1.0 and float(tf.reduce_max(images)) <= 1.0
    np.testing.assert_array_equal(tf.reduce_sum(labels[:, :3], axis=1), np.ones(200))
    # Every attribute occurs both ways, roughly balanced.
    assert np.all((labels.numpy().mean(axis=0) > 0.2) & (labels.numpy().mean(axis=0) < 0.8))
    # The colour label is the shape's colour: the centre pixel's strongest channel.
    centre = images[:, 16, 16, :].numpy()
    plain = scenes["mark"].numpy() == 0
    np.testing.assert_array_equal(np.argmax(centre[plain], 1), np.argmax(labels[:, :3][plain], 1))


def test_held_out_is_disjoint_from_training():
    source = SyntheticShapes("synthetic", 16, seed=0)
    train = np.stack([e[0] for e in _take(source.train_examples(0), 128)])
    held = source.held_out(128)[0].numpy()
    distances = np.abs(train[:, None] - held[None]).mean(axis=(2, 3, 4))
    assert distances.min() > 1e-3


def test_single_label_view():
    source = SyntheticShapes("synthetic_single", 16, seed=0)
    _, labels, scenes = source.held_out(64)
    assert source.label_set.names == MARKS and not source.label_set.multi_label
    np.testing.assert_array_equal(tf.argmax(labels, 1), scenes["mark"])


def test_subset_of_attributes():
    source = SyntheticShapes("synthetic", 16, 0, ("square", "large"))
    _, labels, scenes = source.held_out(16)
    np.testing.assert_array_equal(labels[:, 0], scenes["square"])
    with pytest.raises(ValueError, match="all of red, green, blue or none"):
        SyntheticShapes("synthetic", 16, 0, ("red", "large"))
    with pytest.raises(ValueError, match="valid names: red, green, blue, square, large"):
        SyntheticShapes("synthetic", 16, 0, ("Male",))


def test_ground_truth_keeps_identity_and_sets_targets():
    sources = synthetic_sources("synthetic_both", 32, 0, MULTI_LABEL_NAMES)
    layout = LabelLayout(tuple(s.label_set for s in sources))
    images, labels, scenes = sources[0].held_out(8)
    labels = layout.embed(0, labels)
    # The identity translation's truth is the image itself.
    np.testing.assert_allclose(ground_truth(sources, layout, scenes, labels), images, atol=1e-6)
    # Making everything blue changes the shape's colour and nothing else.
    blue = tf.tile(tf.constant([[0.0, 0.0, 1.0]]), (8, 1))
    targets = tf.concat([blue, labels[:, 3:]], axis=1)
    truth = ground_truth(sources, layout, scenes, targets)
    changed = np.abs(truth.numpy() - images.numpy()).max(axis=-1) > 1e-3
    was_blue = scenes["colour"].numpy() == 2
    assert not changed[was_blue].any() and changed[~was_blue].any(axis=(1, 2)).all()
    # A cross-dataset target (the RaFD-like set) changes the mark only.
    cross = layout.embed(1, tf.one_hot(tf.fill((8,), 3), 4))
    truth = ground_truth(sources, layout, scenes, cross)
    rendered = sources[0].apply(scenes, labels[:, :5])
    rendered["mark"] = tf.fill((8,), 3)
    from stargan_keras.data.synthetic import render
    np.testing.assert_allclose(truth, render(rendered, 32), atol=1e-6)
