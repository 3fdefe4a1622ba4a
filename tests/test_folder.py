import json
import os

import numpy as np
import pytest
from image_data import solid, write_class_folders, write_image

from stargan_keras.config import TrainConfig
from stargan_keras.data import make_sources
from stargan_keras.data.folder import folder_source
from stargan_keras.labels import LabelLayout
from stargan_keras.run_dir import RunDirectory, make_spec


def _photos(root, count):
    names = [f"p{i}.jpg" if i % 2 else f"sub/p{i}.png" for i in range(count)]
    for i, name in enumerate(names):
        write_image(os.path.join(root, name), solid(10 * i, 30, 40))
    return names


def _write_table(path, names, delimiter=","):
    rows = [delimiter.join(["image", "Smiling", "Glasses", "Hat"])]
    rows += [delimiter.join([n, str(i % 2), "-1" if i % 3 else "1", "1"])
             for i, n in enumerate(names)]
    with open(path, "w") as f:
        f.write("\n".join(rows) + "\n")
    return str(path)


@pytest.mark.parametrize("delimiter, selected, columns", [
    (",", None, ("Smiling", "Glasses", "Hat")),
    ("\t", ("Hat", "Smiling"), ("Hat", "Smiling")),
])
def test_labels_file_layout_is_multi_label(tmp_path, delimiter, selected, columns):
    root = str(tmp_path / "photos")
    names = _photos(root, 12)
    attr_path = _write_table(tmp_path / "labels.txt", names, delimiter)
    source = folder_source(root, attr_path, selected, 8, seed=0)
    assert source.label_set.names == columns and source.label_set.multi_label
    all_values = {n: {"Smiling": i % 2, "Glasses": 0 if i % 3 else 1, "Hat": 1}
                  for i, n in enumerate(names)}
    for images in (source.train, source.held_out_images):
        for path, labels in zip(images.paths, images.labels):
            expected = [all_values[os.path.relpath(path, root)][c] for c in columns]
            np.testing.assert_array_equal(labels, expected)
    # Photos are cropped to their largest centred square: solid ones stay solid.
    images, labels, _ = source.held_out(1)
    index = names.index(os.path.relpath(source.held_out_images.paths[0], root))
    np.testing.assert_allclose(images[0], 10 * index / 127.5 - 1, atol=0.02)


def test_class_folders_without_labels_file_are_single_label(tmp_path):
    root = write_class_folders(str(tmp_path / "pets"), {"cat": 3, "dog": 4, "owl": 3})
    source = folder_source(root, None, None, 8, seed=0)
    assert source.label_set.names == ("cat", "dog", "owl")
    assert not source.label_set.multi_label and source.label_set.name == "folder"
    assert source.train.labels.sum() + source.held_out_images.labels.sum() == 10


def test_default_selected_attrs_mean_every_column(tmp_path):
    root = str(tmp_path / "photos")
    attr_path = _write_table(tmp_path / "labels.csv", _photos(root, 4))
    config = TrainConfig(dataset="folder", image_dir=root, attr_path=attr_path, image_size=8)
    (source,) = make_sources(config)
    assert source.label_set.names == ("Smiling", "Glasses", "Hat")
    config.selected_attrs = ("Glasses",)
    assert make_sources(config)[0].label_set.names == ("Glasses",)
    config.selected_attrs = ("Male",)
    with pytest.raises(ValueError, match="valid names: Smiling, Glasses, Hat"):
        make_sources(config)


def test_run_json_names_the_labels(tmp_path):
    # What train() writes before training (the CLI run in test_data_sources trains).
    root = str(tmp_path / "photos")
    attr_path = _write_table(tmp_path / "labels.csv", _photos(root, 12))
    config = TrainConfig(dataset="folder", image_dir=root, attr_path=attr_path,
                         run_dir=str(tmp_path / "run"), image_size=8)
    layout = LabelLayout(tuple(s.label_set for s in make_sources(config)))
    RunDirectory(config.run_dir).claim(make_spec(config, layout))
    with open(os.path.join(config.run_dir, "run.json")) as f:
        spec = json.load(f)
    assert spec["dataset"] == "folder"
    assert spec["labels"] == [{"name": "folder", "names": ["Smiling", "Glasses", "Hat"],
                               "multi_label": True, "exclusive": []}]
