"""Translating your own images: targets by name, source labels, crops, files, the CLI."""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from runs import photo, untrained_joint_run, untrained_run

from stargan_keras import Translator
from stargan_keras.data.preprocess import center_crop_resize, crop_window
from stargan_keras.image_grid import to_uint8
from stargan_keras.inference.translator import (
    crop_sizes_for,
    given_labels,
    labels_from_logits,
    paste_back,
    target_labels,
)
from stargan_keras.labels import LabelLayout, LabelSet
from stargan_keras.translate import output_stems, translate_files

CELEBA = LabelSet("celeba", ("Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"),
                  multi_label=True, exclusive=(("Black_Hair", "Blond_Hair", "Brown_Hair"),))
RAFD = LabelSet("rafd", ("angry", "happy", "neutral"), multi_label=False)




def test_targets_by_name_relative_and_absolute():
    layout = LabelLayout((CELEBA,))
    source = tf.constant([[1.0, 0, 0, 1, 0], [0, 0, 1, 0, 1]])
    # A hair colour switches on and clears the others; a bare attribute flips.
    np.testing.assert_array_equal(target_labels(layout, source, "Blond_Hair,Male"),
                                  [[0, 1, 0, 0, 0], [0, 1, 0, 1, 1]])
    np.testing.assert_array_equal(target_labels(layout, source, "Male=1, Young=0"),
                                  [[1, 0, 0, 1, 0], [0, 0, 1, 1, 0]])
    np.testing.assert_array_equal(target_labels(layout, source, "Black_Hair=0"),
                                  [[0, 0, 0, 1, 0], [0, 0, 1, 0, 1]])


def test_single_label_and_joint_targets_carry_the_right_mask():
    layout = LabelLayout((CELEBA, RAFD))
    source = tf.constant([[1.0, 0, 0, 1, 1, 0, 0, 1, 0, 0]])
    np.testing.assert_array_equal(target_labels(layout, source, "happy"),
                                  [[0, 0, 0, 0, 0, 0, 1, 0, 0, 1]])
    np.testing.assert_array_equal(target_labels(layout, source, "Brown_Hair"),
                                  [[0, 0, 1, 1, 1, 0, 0, 0, 1, 0]])
    with pytest.raises(ValueError, match="several label sets"):
        target_labels(layout, source, "happy,Male")
    with pytest.raises(ValueError, match="one class per image"):
        target_labels(layout, source, "happy=0")


def test_unknown_attribute_lists_the_valid_ones():
    layout = LabelLayout((CELEBA, RAFD))
    with pytest.raises(ValueError, match="unknown attribute 'Blonde_Hair'.*celeba: Black_Hair, "
                                         "Blond_Hair.*rafd: angry, happy, neutral"):
        target_labels(layout, tf.zeros((1, 10)), "Blonde_Hair")
    with pytest.raises(ValueError, match="must be 0 or 1"):
        target_labels(layout, tf.zeros((1, 10)), "Male=yes")


def test_source_labels_from_logits_keep_one_exclusive_label():
    layout = LabelLayout((CELEBA, RAFD))
    logits = tf.constant([[2.0, 3.0, -1.0, 0.5, -0.5, 0.1, 0.3, 0.2],
                          [-2.0, -3.0, -1.0, -0.5, 4.0, 2.0, 0.3, 0.2]])
    np.testing.assert_array_equal(labels_from_logits(layout, logits),
                                  [[0, 1, 0, 1, 0, 0, 1, 0, 0, 0],
                                   [0, 0, 0, 0, 1, 1, 0, 0, 0, 0]])


def test_given_source_labels_replace_only_the_sets_named():
    layout = LabelLayout((CELEBA, RAFD))
    predicted = tf.constant([[0.0, 1, 0, 1, 0, 0, 0, 1, 0, 0]])
    np.testing.assert_array_equal(given_labels(layout, "Brown_Hair,Young", 1, predicted),
                                  [[0, 0, 1, 0, 1, 0, 0, 1, 0, 0]])
    np.testing.assert_array_equal(given_labels(layout, "angry", 1, None),
                                  [[0, 0, 0, 0, 0, 1, 0, 0, 0, 0]])


@pytest.mark.parametrize("height, width, crop", [(218, 178, 178), (60, 40, None),
                                                 (41, 60, None), (30, 31, 17), (30, 50, 40)])
def test_crop_window_is_the_one_preprocessing_keeps(height, width, crop):
    image = photo(height, width)
    top, left, side = (int(v) for v in crop_window(height, width, crop))
    expected = image[top:top + side, left:left + side] / 127.5 - 1.0
    np.testing.assert_allclose(center_crop_resize(tf.constant(image), crop, side), expected,
                               atol=1e-5)


def test_paste_back_replaces_exactly_the_crop_window():
    original = photo(50, 30)
    pasted = paste_back(original, tf.fill((16, 16, 3), 0.2), None)
    top, left, side = (int(v) for v in crop_window(50, 30, None))
    assert (top, left, side) == (10, 0, 30)
    assert pasted.shape == original.shape
    np.testing.assert_array_equal(pasted[top:top + side], to_uint8(tf.fill((30, 30, 3), 0.2)))
    np.testing.assert_array_equal(pasted[:top], original[:top])
    np.testing.assert_array_equal(pasted[top + side:], original[top + side:])


def test_translator_output_is_g_of_the_prepared_photo(translator, tmp_path):
    image = photo()
    path = tmp_path / "photo.png"
    path.write_bytes(tf.io.encode_png(image).numpy())
    prepared = center_crop_resize(tf.constant(image), None, 16)[None]
    _, logits = translator.classifier(prepared)
    source = labels_from_logits(translator.layout, logits)
    expected = to_uint8(translator.generator(
        [prepared, target_labels(translator.layout, source, "green,large=1")]))[0].numpy()
    for given in (image, str(path), path.read_bytes()):
        # Compiled and eager G may round differently in the last float bits.
        np.testing.assert_allclose(translator(given, "green,large=1"), expected, atol=1)
    full = translator(image, "green,large=1", size="original")
    assert full.shape == (40, 60, 3)
    np.testing.assert_array_equal(full[:, :10], image[:, :10])


def test_all_targets_in_one_compiled_batch_equal_separate_calls(translator):
    prepared, fakes = translator.translations(photo(), ["red", "square=0", "large"])
    assert [name for name, _ in fakes] == ["red", "square=0", "large"]
    source = translator.source_labels(prepared[None])
    for name, fake in fakes:
        alone = translator.generator([prepared[None], target_labels(translator.layout, source,
                                                                    name)])[0]
        np.testing.assert_allclose(fake, alone, atol=1e-5)
    translator.translate(tf.repeat(prepared[None], 7, axis=0),
                         tf.zeros((7, translator.layout.width)))
    assert translator._generate.experimental_get_tracing_count() == 1  # any batch, one trace


def test_translate_files_writes_outputs_and_grid_and_skips_unreadable(translator, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "a.png").write_bytes(tf.io.encode_png(photo(20, 30)).numpy())
    (inputs / "a.jpg").write_bytes(tf.io.encode_jpeg(photo(16, 16, seed=1)).numpy())
    (inputs / "notes.txt").write_text("not an image")
    paths = sorted(str(p) for p in inputs.iterdir())
    assert output_stems(paths) == ["a_jpg", "a_png", "notes"]
    result = translate_files(translator, paths, str(tmp_path / "out"), ["red", "square=0"],
                             size="original")
    assert result["skipped"] == [str(inputs / "notes.txt")]
    names = sorted(os.path.basename(p) for p in result["written"])
    assert names == ["a_jpg_red.png", "a_jpg_square=0.png", "a_png_red.png",
                     "a_png_square=0.png", "grid.png"]
    decode = lambda name: tf.io.decode_png(  # noqa: E731
        tf.io.read_file(str(tmp_path / "out" / name))).numpy()
    assert decode("a_png_red.png").shape == (20, 30, 3)
    assert decode("grid.png").shape == (2 * 16, 3 * 16, 3)


def test_grid_without_attrs_and_joint_run(tmp_path):
    run = untrained_run(str(tmp_path / "both"), "synthetic_both")
    translator = Translator.from_run_dir(run)
    results = translator.translate_all(photo(), source_attrs="red,square,hbar")
    assert [name for name, _ in results] == ["red", "green", "blue", "square", "large",
                                             "plain", "hbar", "vbar", "cross"]
    assert all(image.shape == (16, 16, 3) for _, image in results)


def test_unknown_attribute_stops_before_writing(translator, tmp_path):
    image = tmp_path / "face.png"
    image.write_bytes(tf.io.encode_png(photo()).numpy())
    with pytest.raises(ValueError, match="unknown attribute 'Blond_Hair'; valid attributes are "
                                         "synthetic: red, green, blue, square, large"):
        translate_files(translator, [str(image)], str(tmp_path / "out"), ["red", "Blond_Hair"])
    assert os.listdir(tmp_path / "out") == []


@pytest.mark.slow
def test_cli_writes_images(run_dir, tmp_path):
    image = tmp_path / "face.png"
    image.write_bytes(tf.io.encode_png(photo()).numpy())
    done = subprocess.run([sys.executable, "-m", "stargan_keras.translate", f"--run_dir={run_dir}",
                           f"--input={image}", f"--output={tmp_path / 'out'}", "--attrs=blue",
                           "--attrs=large,square", "--size=original"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert sorted(os.listdir(tmp_path / "out")) == ["face_blue.png", "face_large+square.png",
                                                    "grid.png"]
    written = tf.io.decode_png(tf.io.read_file(str(tmp_path / "out" / "face_blue.png")))
    assert written.shape == (40, 60, 3)


def test_run_of_g_alone_has_no_classifier_and_needs_source_labels(tmp_path):
    run = untrained_run(str(tmp_path / "g_only"), "synthetic", with_discriminator=False)
    translator = Translator.from_run_dir(run)
    assert translator.classifier is None
    with pytest.raises(ValueError, match="checkpoint holds G alone.*--source_attrs"):
        translator(photo(), "red")
    assert translator(photo(), "red", source_attrs="blue").shape == (16, 16, 3)


def test_crop_follows_the_dataset():
    config = {"celeba_crop_size": 170, "rafd_crop_size": 250}
    assert crop_sizes_for({"dataset": "celeba", "config": config}) == (170,)
    assert crop_sizes_for({"dataset": "both", "config": config}) == (170, 250)
    assert crop_sizes_for({"dataset": "rafd", "config": config}) == (250,)
    assert crop_sizes_for({"dataset": "synthetic", "config": config}) == (None,)
    assert crop_sizes_for({"dataset": "folder", "config": config}) == (None,)
    assert crop_sizes_for({"dataset": "synthetic_both", "config": config,
                           "labels": [{}, {}]}) == (None, None)


def test_a_joint_run_crops_each_photo_as_its_label_set_was(tmp_path):
    # Label sets: "synthetic" (trained as CelebA, crop 20) and "synthetic_single" (as
    # RaFD, crop 36) on a 40 x 60 photo.
    translator = Translator.from_run_dir(untrained_joint_run(str(tmp_path / "both"), 20, 36))
    assert translator.crop_size == 20 and translator.crop_sizes == (20, 36)
    assert translator.photo_set(["hbar"]) == 1  # a target naming the RaFD set
    assert translator.photo_set(["red", "large,square"]) == 0
    assert translator.photo_set(["red", "hbar"]) == 0  # both named: the first
    assert translator.photo_set(["red"], source_attrs="vbar") == 1  # the photo's own labels
    assert translator.photo_set(["red"], photo_set="synthetic_single") == 1
    assert translator.photo_set() == 0
    with pytest.raises(ValueError, match="photo_set='rafd': expected one of synthetic, "
                                         "synthetic_single"):
        translator.photo_set(photo_set="rafd")
    pixels = photo()
    for attrs, crop in ((["hbar"], 36), (["red"], 20), (None, 20)):
        rows, outputs = translator.photo_outputs(pixels, [], attrs, "red,plain", "original")
        np.testing.assert_array_equal(rows[0][0], center_crop_resize(pixels, crop, 16))
        # Pasted back into the same window it was cut from: outside it, the photo.
        top, left, side = (int(v) for v in crop_window(40, 60, crop))
        outside = np.ones((40, 60), bool)
        outside[top:top + side, left:left + side] = False
        np.testing.assert_array_equal(outputs[0][1][outside], pixels[outside])
        assert not np.array_equal(outputs[0][1][~outside], pixels[~outside])
    written = translate_files(translator, [_png(tmp_path, pixels)], str(tmp_path / "out"),
                              ["red"], "red,plain", "original", photo_set="synthetic_single")
    image = tf.io.decode_png(tf.io.read_file(written["written"][0])).numpy()
    top, left, side = (int(v) for v in crop_window(40, 60, 36))
    np.testing.assert_array_equal(image[:, :left], pixels[:, :left])
    assert not np.array_equal(image[:, left:left + side], pixels[:, left:left + side])


def _png(tmp_path, pixels):
    path = tmp_path / "photo.png"
    path.write_bytes(tf.io.encode_png(pixels).numpy())
    return str(path)
