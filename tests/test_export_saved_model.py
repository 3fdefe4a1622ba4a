"""The SavedModel for TF Serving: versions, signatures, equality with Keras, size, errors."""

import json
import os
import subprocess
import sys

import grpc
import numpy as np
import pytest
import tensorflow as tf
from runs import photo

from export.saved_model import METADATA_FILE, export_saved_model, label_names, next_version
from stargan_keras import Translator
from stargan_keras.data.preprocess import center_crop_resize, decode_rgb
from stargan_keras.image_grid import to_uint8
from stargan_keras.labels import LabelLayout
from tools.serving_stand_in import ServingError, SessionModel

WIDTH = 5  # red, green, blue, square, large



@pytest.fixture(scope="module")
def export_dir(translator, tmp_path_factory):
    return export_saved_model(translator, str(tmp_path_factory.mktemp("models") / "stargan"))


@pytest.fixture(scope="module")
def server_model(export_dir):
    return SessionModel("stargan", os.path.dirname(export_dir))


def inputs(count=3, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.uniform(-1, 1, (count, 16, 16, 3)).astype(np.float32)
    labels = rng.integers(0, 2, (count, WIDTH)).astype(np.float32)
    return images, labels


def test_versions_count_up(translator, export_dir, tmp_path):
    assert os.path.basename(export_dir) == "1"
    assert next_version(str(tmp_path / "absent")) == 1
    for name in ("1", "7", ".tmp-9", "notes"):
        (tmp_path / "stargan" / name).mkdir(parents=True)
    assert next_version(str(tmp_path / "stargan")) == 8
    assert export_saved_model(translator, str(tmp_path / "stargan")).endswith(
        os.path.join("stargan", "8"))
    assert sorted(os.listdir(tmp_path / "stargan")) == [".tmp-9", "1", "7", "8", "notes"]


@pytest.mark.slow
def test_export_creates_missing_folders(tmp_path):
    from runs import untrained_run

    translator = Translator.from_run_dir(untrained_run(str(tmp_path / "run"), "synthetic"))
    base = tmp_path / "not" / "yet" / "stargan"
    assert export_saved_model(translator, str(base)) == str(base / "1")
    assert tf.saved_model.load(str(base / "1")).signatures["metadata"](
        unused=tf.constant(0))["image_size"] == 16


@pytest.mark.slow
def test_saved_model_cli_lists_the_signatures(export_dir):
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    shown = subprocess.run([cli, "show", "--dir", export_dir, "--all"], capture_output=True,
                           text=True, check=True).stdout
    for signature in ("serving_default", "translate_bytes", "metadata"):
        assert f"signature_def['{signature}']" in shown
    indent = "\n        "
    assert f"inputs['images'] tensor_info:{indent}dtype: DT_FLOAT{indent}shape: (-1, 16, 16, 3)" \
        in shown
    assert f"inputs['image_bytes'] tensor_info:{indent}dtype: DT_STRING{indent}shape: (-1)" \
        in shown
    assert "outputs['png_bytes']" in shown


def test_reloaded_model_equals_keras(translator, export_dir):
    loaded = tf.saved_model.load(export_dir)
    images, labels = inputs()
    served = loaded.signatures["serving_default"](images=images, labels=labels)["images"]
    expected = translator.generator([images, labels])
    np.testing.assert_allclose(served, expected, atol=1e-5, rtol=0)


def test_png_path_preprocesses_as_training_and_rounds_to_8_bits(translator, export_dir):
    loaded = tf.saved_model.load(export_dir)
    photos = [tf.io.encode_png(photo(40, 60)), tf.io.encode_jpeg(photo(23, 17, seed=2))]
    _, labels = inputs(2)
    png = loaded.signatures["translate_bytes"](image_bytes=tf.stack(photos),
                                               labels=labels)["png_bytes"]
    prepared = tf.stack([center_crop_resize(decode_rgb(p), None, 16) for p in photos])
    expected = to_uint8(translator.generator([prepared, labels])).numpy().astype(int)
    served = np.stack([tf.io.decode_png(p).numpy() for p in png.numpy()]).astype(int)
    assert np.abs(served - expected).max() <= 1


def test_label_names_and_size_travel_with_the_export(translator, export_dir):
    with open(os.path.join(export_dir, METADATA_FILE)) as f:
        metadata = json.load(f)
    assert metadata["label_names"] == ["red", "green", "blue", "square", "large"]
    assert metadata["image_size"] == 16 and metadata["crop_size"] is None
    loaded = tf.saved_model.load(export_dir)
    served = loaded.signatures["metadata"](unused=tf.constant(0))
    assert [n.decode() for n in served["label_names"].numpy()] == metadata["label_names"]
    assert int(served["image_size"]) == 16 and int(served["crop_size"]) == 0
    assert LabelLayout.from_json(json.loads(served["layout_json"].numpy())) == translator.layout


def test_joint_label_names_include_the_mask(tmp_path):
    from runs import untrained_run

    layout = Translator.from_run_dir(untrained_run(str(tmp_path / "both"),
                                                   "synthetic_both")).layout
    assert label_names(layout)[-3:] == ["cross", "mask:synthetic", "mask:synthetic_single"]


def test_variables_are_stored_once(translator, export_dir):
    prefix = os.path.join(export_dir, "variables", "variables")
    reader = tf.train.load_checkpoint(prefix)
    shapes = reader.get_variable_to_shape_map()
    stored = sum(int(np.prod(shape)) for name, shape in shapes.items()
                 if name != "_CHECKPOINTABLE_OBJECT_GRAPH")
    assert stored == translator.generator.count_params()
    data = os.path.getsize(prefix + ".data-00000-of-00001")
    assert data < 4 * stored * 1.5  # one copy plus the object graph, not two copies


@pytest.mark.parametrize("images_shape, labels_shape, message", [
    ((2, 16, 16, 3), (2, 7), r"labels must be float32 \[N, 5\] \(red, green, blue, square, "
                             r"large\); received shape\] \[2,7\]"),
    ((16, 16, 3), (1, 5), r"images must be float32 \[N, 16, 16, 3\] in \[-1, 1\]; received "
                          r"shape\] \[16,16,3\]"),
    ((2, 16, 16, 3), (2, 5, 1), r"labels must be float32 \[N, 5\].*received shape\] \[2,5,1\]"),
    ((2, 8, 8, 3), (2, 5), r"received shape\] \[2,8,8,3\]"),
    ((2, 16, 16, 3), (3, 5), "labels must have one row per image"),
])
def test_wrong_shapes_fail_clearly_in_the_server(server_model, images_shape, labels_shape,
                                                 message):
    with pytest.raises(ServingError, match=message) as error:
        server_model.run("serving_default", {"images": np.zeros(images_shape, np.float32),
                                             "labels": np.zeros(labels_shape, np.float32)})
    assert error.value.code == grpc.StatusCode.INVALID_ARGUMENT


def test_bytes_that_are_not_an_image_fail_clearly(server_model):
    with pytest.raises(ServingError, match="Unknown image file format") as error:
        server_model.run("translate_bytes", {"image_bytes": np.array([b"hello"], object),
                                             "labels": np.zeros((1, WIDTH), np.float32)})
    assert error.value.code == grpc.StatusCode.INVALID_ARGUMENT


def test_a_joint_run_crops_each_image_as_its_target_set_was(tmp_path):
    from runs import untrained_joint_run

    # "synthetic" trained as CelebA (crop 20), "synthetic_single" as RaFD (crop 36).
    translator = Translator.from_run_dir(untrained_joint_run(str(tmp_path / "both"), 20, 36))
    export = export_saved_model(translator, str(tmp_path / "models"))
    with open(os.path.join(export, METADATA_FILE)) as f:
        metadata = json.load(f)
    assert metadata["crop_size"] == 20
    assert metadata["crop_sizes"] == {"synthetic": 20, "synthetic_single": 36}
    loaded = tf.saved_model.load(export)
    served = loaded.signatures["metadata"](unused=tf.constant(0))
    assert int(served["crop_size"]) == 20 and served["crop_sizes"].numpy().tolist() == [20, 36]
    # Row 0 names the first set (its mask), row 1 the second: each gets its set's crop.
    layout, pixels = translator.layout, photo()
    labels = tf.concat([layout.embed(0, tf.constant([[1.0, 0, 0, 1, 0]])),
                        layout.embed(1, tf.constant([[0.0, 1, 0, 0]]))], axis=0)
    data = tf.io.encode_png(pixels)
    png = loaded.signatures["translate_bytes"](image_bytes=tf.stack([data, data]),
                                               labels=labels)["png_bytes"]
    prepared = tf.stack([center_crop_resize(pixels, 20, 16), center_crop_resize(pixels, 36, 16)])
    expected = to_uint8(translator.generator([prepared, labels])).numpy().astype(int)
    got = np.stack([tf.io.decode_png(p).numpy() for p in png.numpy()]).astype(int)
    assert np.abs(got - expected).max() <= 1
    swapped = to_uint8(translator.generator([prepared[::-1], labels])).numpy().astype(int)
    assert np.abs(got - swapped).max() > 1  # the crops tell apart
    # The same through TF Serving's TF1 session loader (the stand-in), where the
    # per-row crop is a Case op.
    served = SessionModel("stargan", str(tmp_path / "models")).run(
        "translate_bytes", {"image_bytes": np.array([data.numpy()] * 2, object),
                            "labels": labels.numpy()})["png_bytes"]
    assert [bytes(p) for p in served] == [bytes(p) for p in png.numpy()]
