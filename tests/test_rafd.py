import logging
import os

import numpy as np
import pytest
from image_data import solid, write_class_folders, write_image

from stargan_keras.data import rafd
from stargan_keras.data.image_files import split_held_out
from stargan_keras.data.rafd import RAFD_EXPRESSIONS, class_folder_images, rafd_source


def test_classes_from_sorted_folders_and_one_hot_labels(tmp_path):
    root = write_class_folders(str(tmp_path / "rafd"), {e: 3 for e in RAFD_EXPRESSIONS})
    source = rafd_source(root, 256, 8, seed=0)
    assert source.label_set.names == RAFD_EXPRESSIONS and not source.label_set.multi_label
    for images in (source.train, source.held_out_images):
        for path, labels in zip(images.paths, images.labels):
            expression = os.path.basename(os.path.dirname(path))
            np.testing.assert_array_equal(labels, np.eye(8)[RAFD_EXPRESSIONS.index(expression)])
    # 24 images: 2 held out by the shared rule, applied to the paths in sorted order.
    _, images = class_folder_images(root)
    held, train = split_held_out([p for p, _ in images], "rafd")
    assert list(source.held_out_images.paths) == held and list(source.train.paths) == train


def test_rafd_crop_window(tmp_path):
    image = np.zeros((300, 280, 3), np.uint8)
    image[22:278, 12:268] = 255  # the centred 256 x 256 window
    root = str(tmp_path / "rafd")
    for expression in ("happy", "sad"):
        for j in range(2):
            write_image(os.path.join(root, expression, f"{j}.png"), image)
    source = rafd_source(root, 256, 16, seed=0)
    np.testing.assert_allclose(source.held_out(1)[0].numpy(), 1.0, atol=1e-5)


def test_images_at_any_depth_and_other_files_ignored(tmp_path, monkeypatch):
    root = str(tmp_path / "faces")
    write_image(os.path.join(root, "b", "deep", "x.JPG"), solid(1))
    write_image(os.path.join(root, "a", "y.png"), solid(2))
    with open(os.path.join(root, "a", "notes.txt"), "w") as f:
        f.write("x")
    # Recorded directly: caplog misses absl messages once a test has installed absl's handler.
    messages = []
    monkeypatch.setattr(rafd.logging, "info", lambda msg, *args: messages.append(msg % args))
    classes, images = class_folder_images(root)
    assert classes == ("a", "b")
    assert images == [(os.path.join(root, "a", "y.png"), 0),
                      (os.path.join(root, "b", "deep", "x.JPG"), 1)]
    assert any("ignored 1 files" in m for m in messages)


def test_other_class_names_are_used_with_a_warning(tmp_path, caplog):
    root = write_class_folders(str(tmp_path / "rafd"), {"calm": 2, "wild": 2})
    with caplog.at_level(logging.WARNING):
        source = rafd_source(root, 256, 8, seed=0)
    assert source.label_set.names == ("calm", "wild")
    assert "differ from RaFD's 8 expressions" in caplog.text


@pytest.mark.parametrize("folders, message", [
    ({}, "at least two\\); found 0: none"),
    ({"happy": 2}, "found 1: happy"),
])
def test_too_few_classes(tmp_path, folders, message):
    root = write_class_folders(str(tmp_path / "rafd"), folders)
    os.makedirs(root, exist_ok=True)
    with pytest.raises(ValueError, match=message):
        class_folder_images(root)
    with pytest.raises(FileNotFoundError, match="image folder .*nowhere does not exist"):
        class_folder_images(str(tmp_path / "nowhere"))
