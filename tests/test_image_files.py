import os
import random

import numpy as np
import pytest
import tensorflow as tf
from image_data import solid, write_image

from stargan_keras.data.image_files import (
    ImageFileSource,
    LabelledImages,
    held_out_count,
    image_file_source,
    permuted_index,
    split_held_out,
)
from stargan_keras.data.preprocess import center_crop_resize
from stargan_keras.labels import LabelSet

LABELS = LabelSet("files", ("index",), multi_label=True)


def _files(tmp_path, count, size=(8, 8)):
    """count PNGs, file i solid with value 10 * i, its label i (to tell them apart)."""
    paths = [write_image(str(tmp_path / f"{i:03d}.png"), solid(10 * i, *size))
             for i in range(count)]
    return LabelledImages(np.array(paths), np.arange(count, dtype=np.float32)[:, None])


def _source(tmp_path, count, seed=0, size=(8, 8), image_size=8):
    files = _files(tmp_path, count, size)
    return ImageFileSource(LABELS, files, files, None, image_size, seed), files


def _stream(source, start, count):
    return [(image.numpy(), int(label[0])) for image, label in
            source.train_examples(start).take(count)]


def test_held_out_count_and_split_as_the_official_code():
    assert [held_out_count(n) for n in (2, 19, 20, 25_000, 202_599)] == [1, 1, 2, 2000, 2000]
    lines = [f"{i:06d}.jpg" for i in range(30)]
    official = list(lines)
    random.seed(1234)
    random.shuffle(official)
    held, train = split_held_out(lines, "test")
    assert held == official[:3] and train == official[3:]
    assert split_held_out(lines, "test") == (held, train)
    with pytest.raises(ValueError, match="at least 2 are needed"):
        split_held_out(lines[:1], "test")


def test_each_epoch_is_a_seeded_permutation_of_the_files(tmp_path):
    source, _ = _source(tmp_path, 5, seed=3)
    stream = _stream(source, 0, 15)
    labels = [label for _, label in stream]
    expected = [int(permuted_index(k, 5, 3)) for k in range(15)]
    assert labels == expected
    for epoch in range(3):
        assert sorted(labels[5 * epoch:5 * epoch + 5]) == [0, 1, 2, 3, 4]
    assert labels[:5] != labels[5:10] or labels[5:10] != labels[10:]
    # The image is the labelled file's, possibly mirrored (these are solid: identical).
    for image, label in stream:
        np.testing.assert_allclose(image, 10 * label / 127.5 - 1.0, atol=1e-6)
    other, _ = _source(tmp_path / "other", 5, seed=4)
    assert [label for _, label in _stream(other, 0, 15)] != labels


def test_same_start_same_examples_including_flips(tmp_path):
    image = np.zeros((8, 8, 3), np.uint8)
    image[:, :4] = 255  # left half white: a flip shows
    path = write_image(str(tmp_path / "a.png"), image)
    files = LabelledImages(np.array([path, path]), np.zeros((2, 1), np.float32))
    source = ImageFileSource(LABELS, files, files, None, 8, seed=1)
    full = _stream(source, 0, 30)
    resumed = _stream(source, 17, 13)
    for (a, _), (b, _) in zip(full[17:], resumed):
        np.testing.assert_array_equal(a, b)
    left = [image[0, 0, 0] > 0 for image, _ in full]
    assert 5 < sum(left) < 25  # both ways, roughly a fair coin
    again = ImageFileSource(LABELS, files, files, None, 8, seed=1)
    assert [image[0, 0, 0] > 0 for image, _ in _stream(again, 0, 30)] == left


def test_preprocessing_is_the_shared_crop_and_held_out_is_unflipped(tmp_path):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (30, 22, 3), dtype=np.uint8)
    path = write_image(str(tmp_path / "a.png"), pixels)
    files = LabelledImages(np.array([path]), np.ones((1, 1), np.float32))
    source = ImageFileSource(LABELS, files, files, 20, 10, seed=0)
    expected = center_crop_resize(tf.constant(pixels), 20, 10).numpy()
    # Crop window: rows 5..24, columns 1..20 of the 30 x 22 image.
    np.testing.assert_allclose(expected, center_crop_resize(
        tf.constant(pixels[5:25, 1:21]), None, 10).numpy(), atol=1e-6)
    images, labels, extra = source.held_out(3)
    assert images.shape == (1, 10, 10, 3) and extra is None
    np.testing.assert_array_equal(images[0], expected)
    np.testing.assert_array_equal(labels, [[1.0]])
    seen = [image for image, _ in _stream(source, 0, 12)]
    assert -1.0 <= min(i.min() for i in seen) and max(i.max() for i in seen) <= 1.0
    for image in seen:
        assert (np.array_equal(image, expected)
                or np.array_equal(image, expected[:, ::-1]))
    assert any(np.array_equal(i, expected[:, ::-1]) for i in seen)


def test_a_file_broken_after_the_check_is_replaced_deterministically(tmp_path, capfd):
    source, files = _source(tmp_path, 6, seed=2)
    with open(files.paths[4], "wb") as f:
        f.write(b"\xff\xd8\xff\xe0 no longer a jpeg")
    stream = _stream(source, 0, 12)
    labels = [label for _, label in stream]
    order = [int(permuted_index(k, 6, 2)) for k in range(12)]
    for k, label in enumerate(labels):
        if order[k] == 4:  # the next file of the same epoch's order stands in
            epoch_order = order[6 * (k // 6):6 * (k // 6) + 6]
            assert label == epoch_order[(k % 6 + 1) % 6]
        else:
            assert label == order[k]
    assert 4 not in labels
    assert f'unreadable image "{files.paths[4]}" replaced by' in capfd.readouterr().err
    assert [label for _, label in _stream(source, 0, 12)] == labels


def test_gives_up_loudly_when_the_files_are_gone(tmp_path):
    source, files = _source(tmp_path, 3)
    for path in files.paths:
        os.remove(path)
    with pytest.raises(tf.errors.InvalidArgumentError, match="could be decoded"):
        _stream(source, 0, 1)


def test_image_file_source_splits_then_drops_unreadable(tmp_path):
    files = _files(tmp_path, 20)
    os.remove(files.paths[7])
    items = list(zip(files.paths, files.labels))
    source = image_file_source(LABELS, items, None, 8, seed=0)
    held, train = split_held_out(list(range(20)), "test")
    assert list(source.held_out_images.labels[:, 0]) == [i for i in held if i != 7]
    assert list(source.train.labels[:, 0]) == [i for i in train if i != 7]


def test_a_share_is_its_slice_of_the_stream_and_decodes_nothing_else(tmp_path, monkeypatch):
    import stargan_keras.data.image_files as image_files

    source, _ = _source(tmp_path, 10, seed=2)
    full = _stream(source, 3, 12)
    decoded, flip = [], image_files.random_flip

    def noting_flip(image, k, seed):  # runs on every decoded image, with its example k
        def note(k):
            decoded.append(int(k))
            return k
        return flip(image, tf.numpy_function(note, [k], tf.int64, stateful=True), seed)

    monkeypatch.setattr(image_files, "random_flip", noting_flip)
    # The first 2 of every 5 examples from example 3 on: examples 3, 4, 8, 9, 13, 14.
    share = [(image.numpy(), int(label[0])) for image, label in
             source.train_examples(3, share=(2, 5)).take(6)]
    for got, want in zip(share, [full[i] for i in (0, 1, 5, 6, 10, 11)]):
        np.testing.assert_array_equal(got[0], want[0])
        assert got[1] == want[1]
    # Decoded: those six, plus whatever the parallel interleave started ahead, all of
    # them inside the share.
    assert {3, 4, 8, 9, 13, 14} <= set(decoded)
    assert all((k - 3) % 5 < 2 for k in decoded), decoded
