"""The broken files real folders contain, written for real: what happens to each."""

import logging
import os

import numpy as np
import pytest
import tensorflow as tf
from image_data import solid, write_class_folders, write_image, write_list_attr

from stargan_keras.data.celeba import celeba_folder_source
from stargan_keras.data.folder import folder_source
from stargan_keras.data.image_files import check_images, unreadable_reason
from stargan_keras.data.preprocess import center_crop_resize


def _broken_files(root):
    """{name: (path, expected reason or None)} for every kind of bad or odd file."""
    good = write_image(os.path.join(root, "good.jpg"), solid(100, 40, 30))
    with open(good, "rb") as f:
        data = f.read()
    files = {"good": (good, None)}
    truncated = os.path.join(root, "truncated.jpg")
    with open(truncated, "wb") as f:
        f.write(data[:len(data) // 2])
    files["truncated"] = (truncated, "truncated JPEG")
    empty = os.path.join(root, "empty.jpg")
    open(empty, "wb").close()
    files["empty"] = (empty, "empty (0 bytes)")
    text = os.path.join(root, "notes.jpg")
    with open(text, "w") as f:
        f.write("this is not a picture\n")
    files["text"] = (text, "not a JPEG, PNG, BMP or GIF image")
    files["missing"] = (os.path.join(root, "missing.jpg"), "listed but missing")
    png = write_image(os.path.join(root, "cut.png"), solid(7, 40, 30))
    with open(png, "rb") as f:
        cut = f.read()[:-20]
    with open(png, "wb") as f:
        f.write(cut)
    files["truncated_png"] = (png, "truncated PNG")
    gray = write_image(os.path.join(root, "gray.png"), np.full((40, 30), 200, np.uint8))
    files["gray"] = (gray, None)
    rgba = np.concatenate([solid(50, 40, 30), np.zeros((40, 30, 1), np.uint8)], axis=-1)
    files["rgba"] = (write_image(os.path.join(root, "rgba.png"), rgba), None)
    files["small"] = (write_image(os.path.join(root, "small.png"), solid(150, 12, 16)), None)
    return files


def test_each_bad_file_is_named_with_its_reason(tmp_path):
    for name, (path, reason) in _broken_files(str(tmp_path)).items():
        found, dims = unreadable_reason(path)
        if reason is None:
            assert found is None and dims is not None, name
        else:
            assert found.startswith(reason), (name, found)
    assert unreadable_reason(str(tmp_path / "good.jpg"))[1] == (30, 40)
    assert unreadable_reason(str(tmp_path / "small.png"))[1] == (16, 12)


def test_check_warns_once_per_file_and_reports_the_count(tmp_path, caplog):
    files = _broken_files(str(tmp_path))
    paths = [path for path, _ in files.values()]
    with caplog.at_level(logging.INFO):
        usable = check_images(paths, 20, "mine")
    expected = [reason is None for _, reason in files.values()]
    assert list(usable) == expected
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    bad = [path for path, reason in files.values() if reason is not None]
    assert len(warnings) == len(bad)
    for path, message in zip(bad, warnings):
        assert path in message
    infos = " ".join(r.getMessage() for r in caplog.records)
    assert "checked 9 images" in infos and "5 unreadable and skipped" in infos
    assert "1 image(s) smaller than the 20 px crop" in infos


def test_odd_but_decodable_images_are_converted_and_trained_on(tmp_path):
    root = str(tmp_path / "images")
    files = _broken_files(root)
    names = [os.path.basename(path) for path, _ in files.values()]
    values = np.ones((len(names), 9), int)
    attr_path = write_list_attr(str(tmp_path / "attrs.txt"), names, values)
    source = celeba_folder_source(root, attr_path, ("Male",), 32, 8, seed=0)
    usable = {os.path.basename(p) for p in
              list(source.train.paths) + list(source.held_out_images.paths)}
    assert usable == {"good.jpg", "gray.png", "rgba.png", "small.png"}
    loaded = {os.path.basename(p): source.load(tf.constant(p)).numpy()
              for p in list(source.train.paths) + list(source.held_out_images.paths)}
    np.testing.assert_allclose(loaded["gray.png"], 200 / 127.5 - 1, atol=1e-5)
    np.testing.assert_allclose(loaded["rgba.png"], 50 / 127.5 - 1, atol=1e-5)
    # Smaller than the 32 px crop: its largest centred square (12 x 12) is used.
    np.testing.assert_allclose(loaded["small.png"], 150 / 127.5 - 1, atol=1e-5)
    # A whole epoch and more runs through without an error.
    count = sum(1 for _ in source.train_examples(0).take(3 * len(source.train)))
    assert count == 3 * len(source.train)


def test_smaller_than_crop_uses_the_largest_centred_square():
    image = np.zeros((12, 16, 3), np.uint8)
    image[:, 2:14] = 255  # the centred 12 x 12 square
    out = center_crop_resize(tf.constant(image), 178, 6).numpy()
    np.testing.assert_allclose(out, 1.0)


@pytest.mark.parametrize("line, message", [
    ("000002.jpg  1", "line 4 has 1 values for 2 attributes"),
    ("000002.jpg  1  2", "line 4: Male is '2'; expected 1, 0 or -1"),
    ("000002.jpg  1  yes", "line 4: Male is 'yes'"),
])
def test_labels_problems_stop_with_file_and_line(tmp_path, line, message):
    attr_path = tmp_path / "list_attr.txt"
    attr_path.write_text(f"2\nSmiling Male\n000001.jpg  1 -1\n{line}\n")
    with pytest.raises(ValueError, match=f"{attr_path}: {message}"):
        folder_source(str(tmp_path), str(attr_path), None, 8, 0)


def test_empty_class_folder_stops_naming_it(tmp_path):
    root = write_class_folders(str(tmp_path / "faces"), {"happy": 2, "sad": 2})
    os.makedirs(os.path.join(root, "angry"))
    with open(os.path.join(root, "angry", "readme.txt"), "w") as f:
        f.write("todo")
    with pytest.raises(ValueError, match=f"class folder {root}/angry holds no images"):
        folder_source(root, None, None, 8, 0)


def test_jpeg_size_is_found_past_exif_and_in_progressive_files(tmp_path):
    pixels = solid(90, 33, 47)
    exif = write_image(str(tmp_path / "exif.jpg"), pixels, exif=b"Exif\x00\x00" + b"\x00" * 5000)
    progressive = write_image(str(tmp_path / "progressive.jpg"), pixels, progressive=True)
    gray = write_image(str(tmp_path / "gray.jpg"), np.full((33, 47), 9, np.uint8))
    for path in (exif, progressive, gray):
        assert unreadable_reason(path) == (None, (47, 33)), path
