import numpy as np
import pytest
import tensorflow as tf

from stargan_keras.labels import (
    LabelLayout,
    LabelSet,
    change_one,
    grid_targets,
    permuted_targets,
    select_attributes,
)
from stargan_keras.training.losses import classification_loss

HAIR = LabelSet("celeba", ("Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"), True,
                exclusive=(("Black_Hair", "Blond_Hair", "Brown_Hair"),))
FACES = LabelSet("rafd", ("angry", "happy", "sad"), False)
JOINT = LabelLayout((HAIR, FACES))


def test_select_attributes_names_the_valid_ones():
    assert select_attributes(["a", "b", "c"], ["c", "a"], "x.txt") == [2, 0]
    with pytest.raises(ValueError, match="Blue_Hair in x.txt.*valid names: a, b"):
        select_attributes(["a", "b"], ["Blue_Hair"], "x.txt")


def test_layout_widths_spans_and_embedding():
    assert (JOINT.logits_dim, JOINT.width) == (8, 10)
    assert JOINT.span(1) == (5, 8)
    embedded = JOINT.embed(1, tf.constant([[0.0, 1.0, 0.0]]))
    np.testing.assert_array_equal(embedded, [[0, 0, 0, 0, 0, 0, 1, 0, 0, 1]])
    single = LabelLayout((HAIR,))
    assert single.width == 5 and single.mask(tf.zeros((1, 5)), 0) is None


def test_layout_json_round_trip():
    assert LabelLayout.from_json(JOINT.to_json()) == JOINT


def test_classification_loss_uses_only_the_active_slice():
    # A CelebA batch: RaFD logits are huge and wrong, and must not change the loss.
    labels = JOINT.embed(0, tf.constant([[1.0, 0, 0, 1, 0], [0, 1, 0, 0, 1]]))
    logits = tf.concat([tf.zeros((2, 5)), tf.fill((2, 3), 1e4)], axis=1)
    calm = tf.concat([tf.zeros((2, 5)), tf.zeros((2, 3))], axis=1)
    loss = classification_loss(JOINT, logits, labels)
    assert float(loss) == pytest.approx(float(classification_loss(JOINT, calm, labels)))
    assert float(loss) == pytest.approx(5 * np.log(2), rel=1e-5)
    # A RaFD batch: softmax over its own three logits only.
    labels = JOINT.embed(1, tf.constant([[0.0, 1, 0], [0, 1, 0]]))
    logits = tf.concat([tf.fill((2, 5), -1e4), tf.zeros((2, 3))], axis=1)
    assert float(classification_loss(JOINT, logits, labels)) == pytest.approx(np.log(3), rel=1e-5)


def test_permuted_targets_is_a_seeded_permutation():
    labels = tf.reshape(tf.range(32, dtype=tf.float32), (16, 2))
    a = permuted_targets(labels, tf.constant([1, 2], tf.int64))
    b = permuted_targets(labels, tf.constant([1, 2], tf.int64))
    c = permuted_targets(labels, tf.constant([1, 3], tf.int64))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert sorted(map(tuple, a.numpy())) == sorted(map(tuple, labels.numpy()))


def test_change_one_as_the_official_test_grid():
    labels = tf.constant([[1.0, 0, 0, 1, 0]])
    np.testing.assert_array_equal(change_one(HAIR, labels, "Blond_Hair"), [[0, 1, 0, 1, 0]])
    np.testing.assert_array_equal(change_one(HAIR, labels, "Black_Hair"), [[1, 0, 0, 1, 0]])
    np.testing.assert_array_equal(change_one(HAIR, labels, "Male"), [[1, 0, 0, 0, 0]])
    np.testing.assert_array_equal(change_one(HAIR, labels, "Young"), [[1, 0, 0, 1, 1]])
    np.testing.assert_array_equal(change_one(FACES, tf.zeros((2, 3)), "sad"), [[0, 0, 1]] * 2)
    with pytest.raises(ValueError, match="valid labels: angry, happy, sad"):
        change_one(FACES, tf.zeros((1, 3)), "surprised")


def test_grid_targets_cover_both_label_sets():
    labels = JOINT.embed(0, tf.constant([[1.0, 0, 0, 1, 0]]))
    columns = grid_targets(JOINT, labels)
    assert [name for name, _ in columns] == list(HAIR.names + FACES.names)
    np.testing.assert_array_equal(columns[1][1], [[0, 1, 0, 1, 0, 0, 0, 0, 1, 0]])
    # A CelebA image made happy: RaFD one-hot, CelebA part zero, RaFD mask.
    np.testing.assert_array_equal(columns[6][1], [[0, 0, 0, 0, 0, 0, 1, 0, 0, 1]])
